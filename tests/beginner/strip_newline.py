"""Mistake: strips each chunk it receives and adds a newline to it:
``conn.sendall(data.strip() + b"\\n")``.

Why people make it: typed with nc or telnet, every line arrives with its newline (or CR/LF),
and the author strips it to print or log the message cleanly, then adds "\\n" back so the
echo still ends the line; it looks right on a terminal.  But a chunk is not a line: every
chunk without a newline gets one added, and whitespace at a chunk's ends is lost.
Where the pattern comes from: chat and command-server tutorials that ``.strip()`` what they
receive before handling it, and println-style replies.
"""

import _beginner


def handle(conn):
    with conn:
        while True:
            data = conn.recv(1024)
            if not data:
                break
            conn.sendall(data.strip() + b"\n")  # MISTAKE: a chunk is not a line


args = _beginner.parse_args()
server = _beginner.listen(args.host, args.port)
_beginner.serve_in_threads(server, handle)
