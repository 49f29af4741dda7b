"""Prefork TCP echo server: N worker processes accept on one inherited listening socket.

Model 3 (prefork): the parent binds the listening socket, forks N workers
that inherit it, listens (so "ready" means all N are there) and then only
supervises. Each worker runs the iterative server's loop -- accept,
echo until the client leaves, accept the next -- so N clients are served at
once and client N+1 waits: not refused, its connection completes in the
kernel's listen backlog and is served, with everything it sent meanwhile, as
soon as a worker is free. Its capacity is N, fixed (declare it: `capacity`).
It costs N processes from the start, busy or idle, instead of a fork per
connection (echo_fork); one crashing worker loses only its own client.

Does every idle worker wake for each new connection (the thundering herd)?
Not here. On Linux, processes blocked in accept() on a shared socket sleep as
exclusive waiters (since 2.6): a connection wakes one of them. The herd is for
workers that wait in select/poll/epoll on the shared listener: all of them
wake, one wins the accept(), the others get EAGAIN -- hence Apache's accept
mutex, EPOLLEXCLUSIVE (Linux 4.5) and SO_REUSEPORT (3.9: a socket and queue
per worker). These workers block in accept() itself (Python calls accept4()
directly on a socket without a timeout), so they need no lock.

The parent replaces a worker that dies, and on SIGTERM/SIGINT stops and reaps
every worker before it exits: no zombie, and no orphan left holding the port.
RFC 862: any data received is sent back until the calling user terminates the connection.
"""

import logging
import os
import sys
import time

if not __package__: from _as_file import PACKAGE as __package__  # run as a file too (see _as_file.py)

from . import _common as common
from . import _supervisor as supervisor

log = logging.getLogger("echo_prefork")

WORKERS = 64  # the suite's tcp.concurrent.many connects 64 clients at once


# --- a worker: the iterative server -----------------------------------------

def worker(listener):
    while True:
        try:
            conn, peer = listener.accept()
        except OSError as exc:  # e.g. EMFILE: try again, without spinning
            log.warning("accept: %s", exc)
            time.sleep(0.1)
            continue
        log.debug("connection from %s (worker %d)", peer, os.getpid())
        with conn:
            try:
                # On half-close recv() returns b"" once every earlier byte has
                # been echoed; sendall blocks only this worker (backpressure).
                while data := conn.recv(65536):
                    conn.sendall(data)
            except OSError as exc:  # reset by the client, broken pipe
                log.debug("%s: %s", peer, exc)
        log.debug("closed %s", peer)


def start(listener, gate=None):
    """Fork a worker on listener; return its pid. gate: a pipe (read end, write
    end) whose EOF the first workers wait for before they accept."""
    def work():
        # A worker keeps SIGTERM's default action (_supervisor): it dies at
        # once, even inside recv()/sendall(); it has nothing to clean up.
        if gate:
            os.close(gate[1])
            os.read(gate[0], 1)  # b"" once the parent listens and closes its end
            os.close(gate[0])
        worker(listener)
    return supervisor.fork_worker(work)


# --- the parent: a supervisor (_supervisor.py) --------------------------------

def serve(args):
    supervisor.block_signals()
    workers = {}  # pid -> (slot, start time)
    # Bound, not listening yet: a socket that accepts nothing until the pool is there.
    with common.bind(args.host, args.port, listen=False) as listener:
        try:
            # The whole pool first, then listen(): the port accepts connections
            # only once N workers are there to take them -- ready means at full
            # capacity, and in its steady state (N + 1 processes).
            gate = os.pipe()
            for slot in range(args.workers):
                workers[start(listener, gate)] = (slot, time.monotonic())
            os.close(gate[0])
            listener.listen(common.BACKLOG)
            os.close(gate[1])  # EOF: the workers go to accept()
            supervisor.supervise(range(args.workers), lambda slot: start(listener), workers)
        finally:
            supervisor.stop(workers)


def main():
    args = common.parse_args(__doc__, default_port=2007,
                             count=("--workers", WORKERS, "worker processes = clients served at once"))
    return common.run(serve, args)


if __name__ == "__main__":
    sys.exit(main())
