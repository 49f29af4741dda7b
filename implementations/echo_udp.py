"""UDP echo server: every datagram is answered with a datagram holding the same data.

Iterative (one socket, one loop): datagrams are independent, so a client only
waits for the datagrams queued before its own.
RFC 862: when a datagram is received, the data from it is sent back in an answering datagram.
"""

import logging
import socket
import sys

if not __package__: from _as_file import PACKAGE as __package__  # run as a file too (see _as_file.py)

from . import _common as common

log = logging.getLogger("echo_udp")

# The largest UDP payload: 65,535 minus the 8-byte UDP header (65,507 over
# IPv4 after the 20-byte IP header). A smaller buffer silently truncates.
MAX_DATAGRAM = 65535

# Never answer the echo (7) or chargen (19) ports: a spoofed datagram from one
# echo service to another would otherwise bounce between them forever. inetd
# and xinetd go further and ignore every source port below 1024.
LOOP_PORTS = {7, 19}


def serve(args):
    with common.bind(args.host, args.port, socket.SOCK_DGRAM) as sock:
        while True:
            data, addr = sock.recvfrom(MAX_DATAGRAM)
            if addr[1] in LOOP_PORTS:
                log.debug("ignored %d bytes from %s (loop protection)", len(data), addr)
                continue
            log.debug("%d bytes from %s", len(data), addr)
            try:
                sock.sendto(data, addr)  # a zero-length datagram gets a zero-length answer
            except OSError as exc:
                log.debug("sendto %s: %s", addr, exc)


def main():
    args = common.parse_args(__doc__, default_port=2007)
    return common.run(serve, args)


if __name__ == "__main__":
    sys.exit(main())
