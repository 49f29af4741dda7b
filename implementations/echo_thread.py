"""Thread-per-connection TCP echo server (socketserver.ThreadingTCPServer).

Model 2 (accept + thread): clients do not block each other; each connection
gets its own thread doing a blocking recv/sendall loop.
RFC 862: any data received is sent back until the calling user terminates the connection.
"""

import logging
import socketserver
import sys

from . import _common as common

log = logging.getLogger("echo_thread")


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        log.debug("connection from %s", self.client_address)
        try:
            # Blocking sendall gives backpressure for free: a client that never
            # reads only stalls its own thread, not the others.
            while data := self.request.recv(65536):
                self.request.sendall(data)
        except OSError as exc:  # reset, broken pipe
            log.debug("%s: %s", self.client_address, exc)
        log.debug("closed %s", self.client_address)


class EchoServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True   # restart at once despite TIME_WAIT
    request_queue_size = common.BACKLOG
    daemon_threads = True        # connected clients must not keep the process alive on exit
    block_on_close = False       # ...nor make server_close() join their threads

    def __init__(self, host, port):
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
