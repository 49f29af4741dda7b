"""Mistake: collects everything the client sends until its EOF, then echoes it all at once.

    while chunk := conn.recv(1024):
        chunks.append(chunk)
    conn.sendall(b"".join(chunks))

Why people make it: "read the request, then send the response" is how HTTP-style examples
are shaped, and a client that sends one message and shuts down its write side (nc -N) gets
the right answer.  An interactive client gets nothing until it closes, and the server keeps
the whole stream in memory.
Where the pattern comes from: "receive all" helper functions from Stack Overflow answers
(loop on recv() until b"") and request/response tutorials.
"""

import _beginner


def handle(conn):
    with conn:
        chunks = []
        while True:
            chunk = conn.recv(1024)
            if not chunk:
                break
            chunks.append(chunk)  # MISTAKE: nothing is echoed until the client's EOF
        conn.sendall(b"".join(chunks))


args = _beginner.parse_args()
server = _beginner.listen(args.host, args.port)
_beginner.serve_in_threads(server, handle)
