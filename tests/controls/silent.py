"""Control: accepts every TCP connection and never reads from or writes to it (--udp: receives
every datagram and answers none).  A relay control also opens its upstream connection for
each client, and forwards nothing.
"""

import socket

import _control

_held = []  # every connection stays open, unread


def serve(sock, args):
    while True:
        if args.udp:
            sock.recvfrom(65535)
            continue
        conn, _ = sock.accept()
        _held.append(conn)
        if args.upstream_port:
            try:
                _held.append(socket.create_connection((args.upstream_host, args.upstream_port)))
            except OSError:
                pass


if __name__ == "__main__":
    _control.run(__doc__, serve)
