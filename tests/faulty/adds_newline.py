"""Defect: echoes each received chunk followed by an extra b"\\n".

Models a ``println``/``print(data)``-style write (or ``sendall(data + b"\\n")``)
that appends a line terminator the client never sent.
Otherwise a correct thread-per-connection echo server.
"""

import _faulty


def handle(conn):
    while True:
        data = conn.recv(_faulty.RECV_SIZE)
        if not data:
            return
        conn.sendall(data + b"\n")  # BUG: extra newline per chunk


if __name__ == "__main__":
    _faulty.run_threaded(__doc__, handle)
