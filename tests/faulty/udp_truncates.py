"""Defect: receives each datagram into a 4 KiB buffer, so every larger datagram is answered truncated.

Models FreeBSD inetd's built-in UDP echo, whose buffer is 4 KiB (and any server that
sizes its buffer for "typical" datagrams): recvfrom() silently discards whatever does not
fit, and the answer holds only the first 4,096 bytes.
Datagrams of up to 4,096 bytes are answered correctly, to their sender.
"""

import _faulty_udp


def serve(sock):
    # BUG: recvfrom(4096): the rest of a larger datagram is discarded
    _faulty_udp.serve(sock, bufsize=4096)


if __name__ == "__main__":
    _faulty_udp.run(__doc__, serve)
