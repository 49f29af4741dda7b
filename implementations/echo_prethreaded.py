"""Pre-threaded TCP echo server: a fixed pool of N threads, each accepting and serving one client at a time.

Model 4 (pre-threaded): N threads started up front all block in accept() on
the one listening socket; each serves its client with a blocking recv/sendall
loop, then accepts the next. N clients are served at once and client N+1
waits: not refused, its connection completes in the kernel's listen backlog
and is served, with everything it sent meanwhile, as soon as a thread is free.
Its capacity is N, fixed (declare it: `capacity`). It costs N threads (a stack
each) from the start, busy or idle, instead of a thread start per connection
(echo_thread), and bounds the server's threads however many clients come.
No thundering herd: threads blocked in accept() wake one per connection
(Linux exclusive wait; see echo_prefork).

The trap it avoids: a signal is delivered to any thread that does not block
it, and Python runs handlers only in the main thread -- a SIGTERM that lands
on a worker stuck in recv() would wait for the main thread to wake up. The
workers inherit a mask that blocks SIGTERM/SIGINT, and the main thread takes
them with sigwait(), so a stop is immediate even with every thread busy.
RFC 862: any data received is sent back until the calling user terminates the connection.
"""

import logging
import signal
import sys
import threading
import time

if not __package__: from _as_file import PACKAGE as __package__  # run as a file too (see _as_file.py)

from . import _common as common

log = logging.getLogger("echo_prethreaded")

THREADS = 64  # the suite's tcp.concurrent.many connects 64 clients at once
STOP = {signal.SIGTERM, signal.SIGINT}


def worker(listener):
    """The iterative server's loop, one of N running at once."""
    while True:
        try:
            conn, peer = listener.accept()
        except OSError as exc:  # e.g. EMFILE: try again, without spinning
            log.warning("accept: %s", exc)
            time.sleep(0.1)
            continue
        log.debug("connection from %s", peer)
        with conn:
            try:
                # On half-close recv() returns b"" once every earlier byte has
                # been echoed; sendall blocks only this thread (backpressure).
                while data := conn.recv(65536):
                    conn.sendall(data)
            except OSError as exc:  # reset by the client, broken pipe
                log.debug("%s: %s", peer, exc)
        log.debug("closed %s", peer)


def serve(args):
    # Block before the threads start (they inherit the mask) and before
    # listening (the harness may send SIGTERM as soon as the port accepts).
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP)
    listener = common.bind(args.host, args.port)
    for i in range(args.threads):
        # Daemon threads: clients still connected must not keep the process alive.
        threading.Thread(target=worker, args=(listener,), name=f"worker-{i}", daemon=True).start()
    signum = signal.sigwait(STOP)
    log.debug("%s received, exiting", signal.Signals(signum).name)
    # No close() and no join: the workers are blocked in accept() or recv() on
    # these sockets (closing a socket does not wake them), and the process
    # exit that follows closes every socket at once.


def main():
    args = common.parse_args(__doc__, default_port=2007,
                             count=("--threads", THREADS, "worker threads = clients served at once"))
    return common.run(serve, args)


if __name__ == "__main__":
    sys.exit(main())
