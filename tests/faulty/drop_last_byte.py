"""Defect: holds back the last byte received (sent only when more data arrives) and drops it at EOF.

Models an off-by-one in a buffering loop (``buf[:-1]`` where ``buf`` was meant,
e.g. a loop written to keep back a possibly-incomplete trailing unit) whose
leftover is never flushed when the client finishes.
Otherwise a correct thread-per-connection echo server.
"""

import _faulty


def handle(conn):
    held = b""
    while True:
        data = conn.recv(_faulty.RECV_SIZE)
        if not data:
            return  # BUG: `held` is never sent at EOF
        buf = held + data
        conn.sendall(buf[:-1])  # BUG: off by one, the last byte waits for more data
        held = buf[-1:]


if __name__ == "__main__":
    _faulty.run_threaded(__doc__, handle)
