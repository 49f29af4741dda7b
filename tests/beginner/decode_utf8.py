"""Mistake: decodes what it receives as UTF-8 text and encodes it back: bytes that are not
valid UTF-8 -- or a character split between two reads -- raise UnicodeDecodeError, which kills
the handler and drops the connection.

    data = conn.recv(4096).decode()
    conn.sendall(data.encode())

Why people make it: the examples print what they receive, so they decode it, and every
message typed by hand is ASCII; that a TCP stream is bytes and that recv() can cut a
multi-byte character in two only shows with binary data or non-ASCII text.
Where the pattern comes from: tutorials that ``.decode()`` right after ``recv()`` (and
``.encode()`` before ``send()``), as Python 3's bytes/str split made common.
"""

import _beginner


def handle(conn):
    with conn:
        while True:
            message = conn.recv(4096).decode()  # MISTAKE: the stream is bytes, not text
            if not message:
                break
            conn.sendall(message.encode())


args = _beginner.parse_args()
server = _beginner.listen(args.host, args.port)
_beginner.serve_in_threads(server, handle)
