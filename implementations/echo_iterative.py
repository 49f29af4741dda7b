"""Iterative TCP echo server: a bare accept loop serving one client at a time.

Model 0 (iterative): clients block each other -- the next client waits in the
listen backlog until the current one disconnects.
RFC 862: any data received is sent back until the calling user terminates the connection.
"""

import logging
import sys

if not __package__: from _as_file import PACKAGE as __package__  # run as a file too (see _as_file.py)

from . import _common as common

log = logging.getLogger("echo_iterative")


def serve(args):
    with common.bind(args.host, args.port) as listener:
        while True:
            conn, peer = listener.accept()
            log.debug("connection from %s", peer)
            with conn:
                try:
                    # recv() returns b"" once the client has shut down its write
                    # side (half-close) -- by then every earlier chunk has been
                    # echoed, so the client gets the whole tail before our FIN.
                    while data := conn.recv(65536):
                        # sendall, not send: send() may write only part of the
                        # data when the socket buffer is full.
                        conn.sendall(data)
                except OSError as exc:  # reset by the client, broken pipe
                    log.debug("%s: %s", peer, exc)
            log.debug("closed %s", peer)


def main():
    args = common.parse_args(__doc__, default_port=2007)
    return common.run(serve, args)


if __name__ == "__main__":
    sys.exit(main())
