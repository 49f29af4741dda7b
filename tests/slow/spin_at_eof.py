"""Defect: a thread-per-client handler without the ``if not data: break``: once the client
closes, recv() returns b"" at once, forever, and the handler spins in a busy loop (no sleep)
without closing the connection.

Every client that leaves leaves a thread burning CPU (and holding the GIL half the time), so
the server gets slower with every connection, and its half-closed clients never see EOF.
"""

import _slow  # noqa: F401
import _faulty


def handle(conn):
    while True:
        data = conn.recv(_faulty.RECV_SIZE)
        if data:  # BUG: b"" (EOF) is not the end: spins on recv() forever, never closes
            conn.sendall(data)


if __name__ == "__main__":
    _faulty.run_threaded(__doc__, handle)
