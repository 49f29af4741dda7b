"""Mistake: echoes line by line through a text-mode file (``for line in conn.makefile('r')``).

    for line in conn.makefile("r"):
        out.write(line)

Why people make it: socket.makefile() turns the socket into a file, and iterating over a
file by lines is the most natural loop in Python; tested with nc or telnet, which send whole
lines, it works.  But text mode waits for a newline before it hands anything over (a partial
line is echoed only at EOF), decodes the bytes as UTF-8 (invalid UTF-8 kills the handler),
and translates CR/LF to LF.
Where the pattern comes from: chat-server and line-protocol tutorials that wrap the socket in
makefile() and read it line by line, reused for an echo server.
"""

import _beginner


def handle(conn):
    with conn, conn.makefile("r") as lines, conn.makefile("w") as out:
        for line in lines:  # MISTAKE: text lines, not bytes: waits for "\n", decodes UTF-8
            out.write(line)
            out.flush()


args = _beginner.parse_args()
server = _beginner.listen(args.host, args.port)
_beginner.serve_in_threads(server, handle)
