"""Defect: echoes everything, but one byte every 1.9 s (just under the suite's 2 s progress
bound), like a server that sleeps per byte "to be gentle".

Bytes keep arriving, so a stall bound that restarts with every byte never fires.
"""

import time

import _slow  # noqa: F401
import _faulty

PER_BYTE = 1.9


def handle(conn):
    while data := conn.recv(_faulty.RECV_SIZE):
        for i in range(len(data)):
            conn.sendall(data[i : i + 1])
            time.sleep(PER_BYTE)  # BUG


if __name__ == "__main__":
    _faulty.run_threaded(__doc__, handle)
