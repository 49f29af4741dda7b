"""Shared plumbing for the deliberately faulty UDP echo servers in this directory.

Like ``_faulty.py`` (whose argument parsing and signal handling it reuses), everything here
is correct on purpose: the bound UDP socket (address family from --host), a prompt exit 0
on SIGTERM/SIGINT, and the correct serve loop (each datagram answered on its own, whole, to
its sender).  Each faulty server adds exactly one defect in its ``serve(sock)``.

Run a server as ``python NAME.py --host HOST --port PORT`` from this directory.
"""

import select
import socket
import time

import _faulty

#: The largest UDP payload (65,535 - 8); 65,507 over IPv4.
MAX_DATAGRAM = 65535


def bind(host, port):
    return _faulty.bind(_faulty.new_socket(host, socket.SOCK_DGRAM), host, port)


def answer(sock, data, peer):
    """Send data to peer; a failed send (an unreachable peer) is not the server's problem."""
    try:
        sock.sendto(data, peer)
    except OSError:
        pass


def serve(sock, bufsize=MAX_DATAGRAM, answer=answer):
    """The correct serve loop: answer(sock, data, peer) each datagram, as received, in turn."""
    while True:
        data, peer = sock.recvfrom(bufsize)
        answer(sock, data, peer)


def datagrams_within(sock, window):
    """Yield (data, peer) for each datagram that arrives within `window` seconds from now."""
    deadline = time.monotonic() + window
    while (left := deadline - time.monotonic()) > 0 and select.select([sock], [], [], left)[0]:
        yield sock.recvfrom(MAX_DATAGRAM)


def run(description, serve=serve):
    """Parse --host/--port, bind, run serve(sock) in a daemon thread; exit 0 on a stop signal."""
    args = _faulty.parse_args(description)
    _faulty.serve_until_stopped(lambda: bind(args.host, args.port), serve)
