"""Defect: the listening socket does not set SO_REUSEADDR, so a restart right after a stop fails with EADDRINUSE while the old connections linger in FIN_WAIT/TIME_WAIT.

Models a hand-written ``socket()/bind()/listen()`` without
``setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)`` -- the default of Python's
``socketserver.TCPServer`` (``allow_reuse_address = False``): the connections
the stopped server closed actively keep the port's local address in use, so
the new process cannot bind it for a minute or more.
Otherwise a correct thread-per-connection echo server.
"""

import _faulty


def listen(host, port):
    """_faulty.listen(), minus SO_REUSEADDR."""
    sock = _faulty.new_socket(host)
    # BUG: no sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return _faulty.bind(sock, host, port, _faulty.BACKLOG)


if __name__ == "__main__":
    _faulty.run_threaded(__doc__, _faulty.echo_until_eof, listen=listen)
