"""Control: accepts one TCP connection (or receives one datagram, --udp) and exits 0.

The suite's ready probe is that connection (or datagram): every case meets a dead server.
"""

import _control


def serve(sock, args):
    if args.udp:
        sock.recvfrom(65535)
    else:
        sock.accept()  # the process exits, closing it


if __name__ == "__main__":
    _control.run(__doc__, serve)
