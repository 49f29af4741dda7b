"""Mistake: the echo loop has no ``if not data: break``: after the client's EOF, recv()
returns b"" at once, forever, and the handler spins without ever closing the connection.

    while True:
        data = conn.recv(1024)
        conn.sendall(data)

Why people make it: the loop looks complete (receive, send back), and a client that is
killed (Ctrl-C on nc) seems to end it; that recv() returning b"" means "the client has
finished" is easy to miss, and sendall(b"") does not fail.  The client that half-closes
never sees EOF, and every finished client leaves a thread burning CPU.
Where the pattern comes from: tutorial echo loops with the EOF check left out.
"""

import _beginner


def handle(conn):
    while True:
        data = conn.recv(1024)
        conn.sendall(data)  # MISTAKE: b"" (EOF) is not checked: spins, never closes


args = _beginner.parse_args()
server = _beginner.listen(args.host, args.port)
_beginner.serve_in_threads(server, handle)
