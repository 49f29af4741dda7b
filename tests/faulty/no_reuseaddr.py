"""Defect: the listening socket does not set SO_REUSEADDR, so a restart right after a stop fails with EADDRINUSE while the old connections linger in FIN_WAIT/TIME_WAIT.

Models a hand-written ``socket()/bind()/listen()`` without
``setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)`` -- the default of Python's
``socketserver.TCPServer`` (``allow_reuse_address = False``): the connections
the stopped server closed actively keep the port's local address in use, so
the new process cannot bind it for a minute or more.
Must be caught by: lifecycle.restart.
Otherwise a correct thread-per-connection echo server.
"""

import socket

import _faulty


def listen(host, port, backlog=_faulty.BACKLOG):
    family = _faulty.family_for(host)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # BUG: no sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


_faulty.listen = listen  # the shared plumbing's listen(), minus SO_REUSEADDR

if __name__ == "__main__":
    _faulty.run_threaded(__doc__, _faulty.echo_until_eof)
