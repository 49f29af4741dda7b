"""A correct fixed pool for the faulty pool servers: an acceptor thread hands each accepted
connection to a queue, and N worker threads each serve one connection at a time.  A client
beyond the N waits in the queue (its bytes wait in the kernel) until a worker is free.
Each faulty pool server changes one step of this."""

import queue
import threading

import _faulty


class Pool:
    def __init__(self, workers, serve_one=_faulty.echo_until_eof):
        self.accepted = queue.Queue()
        self.idle = workers
        self.lock = threading.Lock()
        self.serve_one = serve_one
        for i in range(workers):
            _faulty.start_daemon(self._work, name=f"worker-{i}")

    def _work(self):
        while True:
            conn = self.accepted.get()
            with self.lock:
                self.idle -= 1
            try:
                _faulty.handle_and_close(conn, self.serve_one)
            finally:
                with self.lock:
                    self.idle += 1

    def hand_over(self, conn):
        self.accepted.put(conn)

    def serve(self, listener):
        _faulty.accept_loop(listener, self.hand_over)


def run(description, pool_factory):
    """Parse --host/--port/--workers and run the pool made by pool_factory(workers)."""
    parser = _faulty.argument_parser(description)
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    pool = pool_factory(args.workers)
    _faulty.serve_until_stopped(lambda: _faulty.listen(args.host, args.port), pool.serve)
