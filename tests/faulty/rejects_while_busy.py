"""Defect: declared serial, but a client that arrives while another is being served is accepted and closed at once instead of waiting its turn.

Models a "server busy" policy bolted onto an iterative server: a separate
acceptor thread takes every connection and, while the single worker is busy,
hangs up on the newcomer (as some one-at-a-time services do) instead of leaving
it in the listen backlog to be served next.
Must be caught by: tcp.serial.served-in-order.
Otherwise a correct one-client-at-a-time echo server.
"""

import queue
import threading

import _faulty

_busy = False
_lock = threading.Lock()


def worker(accepted):
    global _busy
    while True:
        conn = accepted.get()
        _faulty.handle_and_close(conn, _faulty.echo_until_eof)
        with _lock:
            _busy = False


def serve(listener):
    global _busy
    accepted = queue.Queue()
    _faulty.start_daemon(worker, accepted, name="worker")
    while True:
        conn = _faulty.accept(listener)
        if conn is None:
            continue
        with _lock:
            if _busy:
                conn.close()  # BUG: turn the client away instead of queueing it
                continue
            _busy = True
        accepted.put(conn)


if __name__ == "__main__":
    _faulty.run(__doc__, serve)
