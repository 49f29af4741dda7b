"""Defect: rewrites CR/LF to LF in what it echoes (text-mode I/O, a "newline normalisation").

Every chunk received is echoed with each b"\r\n" replaced by b"\n": the echo is shorter than
what was sent, so a check that waits for all the bytes it sent waits for bytes that never come.
"""

import _slow  # noqa: F401
import _faulty


def handle(conn):
    while data := conn.recv(_faulty.RECV_SIZE):
        conn.sendall(data.replace(b"\r\n", b"\n"))  # BUG: CR/LF rewritten


if __name__ == "__main__":
    _faulty.run_threaded(__doc__, handle)
