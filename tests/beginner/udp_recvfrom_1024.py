"""Mistake: a UDP echo server that receives with ``recvfrom(1024)``: a datagram larger than
1024 bytes is truncated to its first 1024 (the rest is discarded by the kernel), and that is
what goes back.

    data, addr = sock.recvfrom(1024)
    sock.sendto(data, addr)

Why people make it: 1024 is the buffer size every TCP example uses, where a short read just
means "call recv() again"; for UDP one recvfrom() is one whole datagram, and whatever does
not fit is lost without an error.  Short test messages fit.
Where the pattern comes from: the Python wiki's UdpCommunication page (``recvfrom(1024)``,
"buffer size is 1024 bytes") and the UDP servers of most socket tutorials.
"""

import socket

import _beginner

args = _beginner.parse_args()
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((args.host, args.port))

while True:
    data, addr = sock.recvfrom(1024)  # MISTAKE: a datagram over 1024 bytes is cut short
    sock.sendto(data, addr)
