"""Defect: listens (backlog 5) but never calls accept() after the first connection (the
accept loop blocks in the first client's handler forever).

The kernel completes the first few handshakes on its own (the backlog); after that its SYNs
are dropped and a client's connect() waits out SYN retransmissions (1 s, 3 s, 7 s, ...).
"""

import socket
import threading

import _slow  # noqa: F401
import _faulty


def listen(host, port):
    sock = _faulty.new_socket(host)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return _faulty.bind(sock, host, port, 5)


def serve(listener):
    listener.accept()  # the readiness probe
    threading.Event().wait()  # BUG: never accepts again


if __name__ == "__main__":
    _faulty.run(__doc__, serve, listen=listen)
