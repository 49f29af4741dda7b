"""Serial TCP echo server built on socketserver.TCPServer.

Model 0 (iterative), like echo_iterative but with the standard library's
framework: clients block each other, one is served at a time.
RFC 862: any data received is sent back until the calling user terminates the connection.
"""

import socketserver
import sys

if not __package__: from _as_file import PACKAGE as __package__  # run as a file too (see _as_file.py)

from . import _common as common
from ._socketserver import EchoServerMixin


class EchoServer(EchoServerMixin, socketserver.TCPServer):
    """One request at a time: serve_forever() calls the handler inline, so the next
    client waits in the listen backlog until this one disconnects."""


def serve(args):
    with EchoServer(args.host, args.port) as server:
        server.serve_forever()


def main():
    args = common.parse_args(__doc__, default_port=2007)
    return common.run(serve, args)


if __name__ == "__main__":
    sys.exit(main())
