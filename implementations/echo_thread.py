"""Thread-per-connection TCP echo server (socketserver.ThreadingTCPServer).

Model 2 (accept + thread): clients do not block each other; each connection
gets its own thread doing a blocking recv/sendall loop.
RFC 862: any data received is sent back until the calling user terminates the connection.
"""

import signal
import socketserver
import sys

if not __package__: from _as_file import PACKAGE as __package__  # run as a file too (see _as_file.py)

from . import _common as common
from ._socketserver import EchoServerMixin


class EchoServer(EchoServerMixin, socketserver.ThreadingTCPServer):
    """A new thread per connection runs the handler; the accept loop goes straight on."""

    daemon_threads = True        # connected clients must not keep the process alive on exit
    block_on_close = False       # ...nor make server_close() join their threads

    def process_request(self, request, client_address):
        # ThreadingMixIn starts the handler's thread here; with the stop signals blocked
        # it inherits that mask, so SIGTERM always reaches the main thread (see
        # _common.start_thread).
        old = signal.pthread_sigmask(signal.SIG_BLOCK, common.STOP_SIGNALS)
        try:
            super().process_request(request, client_address)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


def serve(args):
    with EchoServer(args.host, args.port) as server:
        server.serve_forever()


def main():
    args = common.parse_args(__doc__, default_port=2007)
    return common.run(serve, args)


if __name__ == "__main__":
    sys.exit(main())
