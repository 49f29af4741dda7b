"""Mistake: greets every client with a welcome line before echoing.

    conn.sendall(b"Welcome to the echo server!\\r\\n")

Why people make it: a greeting shows, when trying the server with telnet, that the connection
works; an echo server must send back only what it received (RFC 862), so a client that checks
its echo byte for byte sees bytes it never sent.
Where the pattern comes from: the first socket example of many tutorials, whose server sends
"Thank you for connecting" as soon as a client connects.
"""

import _beginner


def handle(conn):
    with conn:
        conn.sendall(b"Welcome to the echo server!\r\n")  # MISTAKE: bytes nobody sent
        while True:
            data = conn.recv(1024)
            if not data:
                break
            conn.sendall(data)


args = _beginner.parse_args()
server = _beginner.listen(args.host, args.port)
_beginner.serve_in_threads(server, handle)
