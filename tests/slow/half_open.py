"""Defect: on the client's half-close (EOF) it stops sending but keeps the connection open
and keeps what it had not echoed yet (it echoes only whole 4 KiB blocks: a tail shorter than
a block waits for more data that never comes).
"""

import threading

import _slow  # noqa: F401
import _faulty

BLOCK = 4096


def handle(conn):
    pending = b""
    while data := conn.recv(_faulty.RECV_SIZE):
        pending += data
        whole = len(pending) - len(pending) % BLOCK
        conn.sendall(pending[:whole])  # BUG: the tail waits for a full block
        pending = pending[whole:]
    threading.Event().wait()  # BUG: never closes (nor echoes the tail)


if __name__ == "__main__":
    _faulty.run_threaded(__doc__, handle)
