"""Defect: answers every other datagram (a toggle shared by all peers, say a double-buffer
index that skips the send on one of its two halves).
"""

import _slow  # noqa: F401
import _faulty_udp


def serve(sock):
    n = 0
    while True:
        data, peer = sock.recvfrom(_faulty_udp.MAX_DATAGRAM)
        n += 1
        if n % 2:  # BUG: the even ones are dropped
            _faulty_udp.answer(sock, data, peer)


if __name__ == "__main__":
    _faulty_udp.run(__doc__, serve)
