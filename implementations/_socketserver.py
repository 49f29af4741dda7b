"""What the three socketserver-based servers share: the echo handler and the fixes every
socketserver TCP server needs.  Each server module then shows only its model's difference:
which socketserver class it builds on."""

import logging
import os
import socketserver

from . import _common as common

log = logging.getLogger("echo")


class EchoHandler(socketserver.BaseRequestHandler):
    """RFC 862: any data received is sent back until the client terminates the connection."""

    def handle(self):
        log.debug("connection from %s (pid %d)", self.client_address, os.getpid())
        try:
            # sendall, not send: send() may write only part of the data.  Blocking
            # sendall also gives backpressure: a client that never reads stalls only
            # the code serving it.  On half-close recv() returns b"" only after all
            # earlier data has been echoed, so the client gets the whole tail.
            while data := self.request.recv(65536):
                self.request.sendall(data)
        except OSError as exc:  # a reset or broken pipe is the client's business
            log.debug("%s: %s", self.client_address, exc)
        log.debug("closed %s", self.client_address)


class EchoServerMixin:
    """Put before the socketserver class: ``class EchoServer(EchoServerMixin, TCPServer)``."""

    # socketserver defaults to allow_reuse_address = False: a restart right after a
    # stop then fails with EADDRINUSE while old connections linger in TIME_WAIT.
    allow_reuse_address = True
    request_queue_size = common.BACKLOG  # socketserver's default listen backlog is 5

    def __init__(self, host, port):
        # socketserver fixes AF_INET as a class attribute; pick it from the host.
        self.address_family, address = common.resolve(host, port)
        super().__init__(address, EchoHandler)
