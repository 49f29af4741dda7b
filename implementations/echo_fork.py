"""Process-per-connection TCP echo server (socketserver.ForkingTCPServer).

Model 1 (accept + fork): clients do not block each other; each connection is
served by a forked child running a blocking recv/sendall loop.
RFC 862: any data received is sent back until the calling user terminates the connection.
"""

import logging
import os
import signal
import socketserver
import sys

if not __package__: from _as_file import PACKAGE as __package__  # run as a file too (see _as_file.py)

from . import _common as common
from ._socketserver import EchoServerMixin

log = logging.getLogger("echo_fork")

# serve_forever() wakes this often to reap exited children (ForkingMixIn does
# it in service_actions) and to notice a stop signal.
POLL_INTERVAL = 0.05


class EchoServer(EchoServerMixin, socketserver.ForkingTCPServer):
    # ForkingMixIn caps children at 40: with 40 alive, collect_children()
    # blocks in waitpid() and the 41st client waits until someone leaves.
    max_children = 10_000
    stopping = False

    def finish_request(self, request, client_address):
        # ForkingMixIn calls this in the child only (which then leaves with
        # os._exit, never returning into the parent's loop).
        # The child must not keep the listening socket: if it outlived the
        # parent it would hold the port and swallow new connections.
        self.socket.close()
        # Default actions again, so SIGTERM/Ctrl-C end a child directly.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        super().finish_request(request, client_address)

    def service_actions(self):
        # Called after every request and every POLL_INTERVAL: reap exited
        # children (waitpid), otherwise each finished connection leaves a
        # zombie process behind.
        super().service_actions()
        # Stop here, at a safe point, rather than raising from the signal
        # handler: an exception between fork() and recording the child's pid
        # would leave an unknown child running after we exit.
        if self.stopping:
            raise common.Shutdown

    def server_close(self):
        # Children still serving clients must not outlive us. SIGKILL cannot
        # be caught, so it also works on a child that has not yet reset its
        # handlers; the kernel then closes its connection.
        for pid in self.active_children or ():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        super().server_close()  # closes the listener, then waitpid()s every child


def serve(args):
    server = EchoServer(args.host, args.port)

    def request_stop(signum, frame):
        server.stopping = True
    # Replaces common.run's raising handler: only set a flag (see service_actions).
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with server:
        server.serve_forever(poll_interval=POLL_INTERVAL)


def main():
    args = common.parse_args(__doc__, default_port=2007)
    return common.run(serve, args)


if __name__ == "__main__":
    sys.exit(main())
