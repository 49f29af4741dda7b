"""Defect: a pre-threaded server with a fixed pool of 8 workers, each serving one connection at a time, yet declared concurrent.

Models a fixed-size thread pool sized for "typical" load (muduo scheme 4,
pre-threaded): the 9th simultaneous client sits in the queue of accepted
connections, unanswered, until one of the first 8 disconnects.
Correct for up to 8 simultaneous clients.
"""

import queue

import _faulty

POOL_SIZE = 8  # BUG: a hard cap on simultaneous clients


def worker(accepted):
    while True:
        conn = accepted.get()
        _faulty.handle_and_close(conn, _faulty.echo_until_eof)


def serve(listener):
    accepted = queue.Queue()
    for i in range(POOL_SIZE):
        _faulty.start_daemon(worker, accepted, name=f"worker-{i}")
    _faulty.accept_loop(listener, accepted.put)


if __name__ == "__main__":
    _faulty.run(__doc__, serve)
