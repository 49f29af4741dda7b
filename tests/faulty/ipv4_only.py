"""Defect: declares IPv6 support but always creates an AF_INET socket, so with --host ::1 it cannot bind and exits with an error.

Models ``socket.socket()`` with its default family (AF_INET) followed by
``bind((host, port))``: fine for 127.0.0.1, but an IPv6 address cannot be
bound on an IPv4 socket (``socket.gaierror: Address family for hostname not
supported``), so the server never serves on ::1 although it is documented
(and declared) to.  The fix is ``socket.socket(AF_INET6)`` for IPv6 hosts
(or ``socket.create_server``/``getaddrinfo``).
Otherwise a correct thread-per-connection echo server (on 127.0.0.1).
"""

import socket

import _faulty


def listen(host, port):
    """_faulty.listen(), minus the family choice."""
    sock = socket.socket()  # BUG: always AF_INET, whatever the host's family
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return _faulty.bind(sock, host, port, _faulty.BACKLOG)


if __name__ == "__main__":
    _faulty.run_threaded(__doc__, _faulty.echo_until_eof, listen=listen)
