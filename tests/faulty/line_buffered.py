"""Defect: echoes only complete lines (waits for b"\\n"); a partial line comes back only at EOF.

Models reading with ``sock.makefile().readline()``, as if echo were a line
protocol; RFC 862 echoes any data as it arrives.  (A line longer than 64 KiB
is echoed in 64 KiB pieces, so memory stays bounded.)
Otherwise a correct thread-per-connection echo server.
"""

import _faulty


def handle(conn):
    with conn.makefile("rb") as reader:
        while True:
            # BUG: blocks until a newline, EOF or RECV_SIZE bytes have arrived
            # (the size limit keeps memory bounded, as careful line readers do).
            line = reader.readline(_faulty.RECV_SIZE)
            if not line:
                return
            conn.sendall(line)


if __name__ == "__main__":
    _faulty.run_threaded(__doc__, handle)
