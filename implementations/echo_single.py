"""Serial TCP echo server built on socketserver.TCPServer.

Model 0 (iterative), like echo_iterative but with the standard library's
framework: clients block each other, one is served at a time.
RFC 862: any data received is sent back until the calling user terminates the connection.
"""

import logging
import socketserver
import sys

from . import _common as common

log = logging.getLogger("echo_single")


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        log.debug("connection from %s", self.client_address)
        try:
            # Half-close: recv() returns b"" only after all earlier data has
            # been echoed with sendall (which loops until every byte is sent).
            while data := self.request.recv(65536):
                self.request.sendall(data)
        except OSError as exc:  # a reset is the client's business, not a server error
            log.debug("%s: %s", self.client_address, exc)
        log.debug("closed %s", self.client_address)


class EchoServer(socketserver.TCPServer):
    # TCPServer defaults to allow_reuse_address = False: a restart right after
    # a stop then fails with EADDRINUSE while old connections sit in TIME_WAIT.
    allow_reuse_address = True
    request_queue_size = common.BACKLOG  # the default listen backlog is only 5

    def __init__(self, host, port):
        # socketserver fixes AF_INET as a class attribute; pick it from the host.
        self.address_family, address = common.resolve(host, port)
        super().__init__(address, EchoHandler)


def serve(args):
    with EchoServer(args.host, args.port) as server:
        server.serve_forever()


def main():
    args = common.parse_args(__doc__, default_port=2007)
    return common.run(serve, args)


if __name__ == "__main__":
    sys.exit(main())
