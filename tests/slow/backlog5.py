"""A CORRECT thread-per-client echo server with socketserver's default listen backlog of 5.

It must pass every check: a SYN dropped because the accept queue is full is retransmitted
by the client's kernel and then accepted.  The suite must neither fail it nor wait out those
retransmissions for minutes.
"""

import socketserver

import _slow  # noqa: F401
import _faulty


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        try:
            _faulty.echo_until_eof(self.request)
        except OSError:
            pass


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    # request_queue_size stays socketserver's default: 5

    def __init__(self, host, port):
        self.address_family = _faulty.family_for(host)
        super().__init__((host, port), Handler)


def main():
    args = _faulty.parse_args(__doc__)
    _faulty.serve_until_stopped(lambda: Server(args.host, args.port), lambda s: s.serve_forever())


if __name__ == "__main__":
    main()
