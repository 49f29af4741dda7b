"""Defect: treats UDP as a byte stream: the datagrams that arrive within a few milliseconds are answered with one datagram holding their concatenation, sent to the first sender.

Models TCP echo code ported to UDP: "read everything that is available into one buffer,
write the buffer back".  Datagram boundaries are lost: datagrams sent back to back come back
merged into one answer.  A datagram on its own is answered correctly.
"""

import _faulty_udp

GATHER_WINDOW = 0.005  # seconds to keep reading after the first datagram


def serve(sock):
    while True:
        data, peer = sock.recvfrom(_faulty_udp.MAX_DATAGRAM)
        buffered = bytearray(data)
        for more, _ in _faulty_udp.datagrams_within(sock, GATHER_WINDOW):
            buffered += more  # BUG: the boundary between the datagrams is lost
        _faulty_udp.answer(sock, buffered, peer)


if __name__ == "__main__":
    _faulty_udp.run(__doc__, serve)
