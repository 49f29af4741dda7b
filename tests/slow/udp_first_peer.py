"""Defect: answers only the first peer it ever hears from; every other peer's datagrams are
dropped (a "connected" UDP server: it remembers the first sender and ignores the rest).

The suite's readiness probe is that first peer, so every check's datagram is lost.
"""

import _slow  # noqa: F401
import _faulty_udp


def serve(sock):
    first = None
    while True:
        data, peer = sock.recvfrom(_faulty_udp.MAX_DATAGRAM)
        if first is None:
            first = peer
        if peer == first:  # BUG: other peers are never answered
            _faulty_udp.answer(sock, data, peer)


if __name__ == "__main__":
    _faulty_udp.run(__doc__, serve)
