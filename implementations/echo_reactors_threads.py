"""Reactors-in-threads TCP echo server: one poll loop per thread (muduo, Netty).

Model 9 (one loop per thread). N threads (--threads, default 4) each run a
reactor of their own; a connection lives in one loop, from accept to close,
so its sockets and buffers are only ever touched by that loop's thread and
need no locks. The main thread is the acceptor: it accept()s (blocking) and
deals the new sockets out round-robin, handing each to its loop through the
loop's queue and wake-up socketpair (_reactor.Waker);
the loop makes it non-blocking and registers it. A loop never touches another
loop's poller.

Why one acceptor rather than a listener per loop on SO_REUSEPORT: one
listening socket means one accept queue and exact round-robin, and the
hand-off between threads -- the part of this model that is easy to get wrong
-- is out in the open; the kernel's SO_REUSEPORT balancing, with its traps, is
echo_reactors_processes.

Clients block each other only within one loop: a slow handler delays the
other connections of its thread, not those of the other loops. The cost: N
threads and N pollers. In CPython, under the GIL, only one thread runs Python
code at a time, so the loops interleave rather than run in parallel (a
free-threaded build runs them in parallel); the structure is muduo's and
Netty's, where they do.
RFC 862: any data received is sent back until the calling user terminates the connection.
"""

import itertools
import logging
import os
import sys
import threading
import time

if not __package__: from _as_file import PACKAGE as __package__  # run as a file too (see _as_file.py)

from . import _common as common
from ._reactor import Waker
from .echo_reactor import EchoConnection, Reactor

log = logging.getLogger("echo_reactors_threads")

STOP_WAIT = 2.0  # seconds to wait, in all, for the loops to close their connections on exit


def serve(args):
    listener = common.bind(args.host, args.port)
    loops = [Reactor() for _ in range(args.threads)]
    wakers = [Waker(loop) for loop in loops]  # how this thread reaches each loop
    # Daemon threads: should a loop ever hang, it cannot keep the process alive.
    threads = [threading.Thread(target=run_loop, args=(loop,), name=f"loop-{i}", daemon=True)
               for i, loop in enumerate(loops)]
    for thread in threads:
        thread.start()
    try:
        deal(listener, wakers)
    finally:
        listener.close()
        for waker in wakers:
            waker.call_soon_threadsafe(waker.reactor.stop)
        deadline = time.monotonic() + STOP_WAIT
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def deal(listener, wakers):
    """Accept clients and deal them out to the loops in turn."""
    # Blocking accept() in the main thread: the stop signal's handler
    # (which Python runs in the main thread) interrupts it at once.
    turns = itertools.cycle(wakers)
    while True:
        try:
            sock, peer = listener.accept()
        except OSError as exc:  # e.g. EMFILE: out of descriptors
            log.warning("accept: %s", exc)
            time.sleep(0.1)  # the error persists: don't spin
            continue
        log.debug("connection from %s", peer)
        waker = next(turns)
        # EchoConnection(loop, sock) registers the socket in the loop's
        # poller, so it must run in that loop's thread, not here.
        waker.call_soon_threadsafe(EchoConnection, waker.reactor, sock)


def run_loop(loop):
    try:
        loop.run()
    except BaseException:
        # A dead loop in a live process is the worst outcome: the acceptor
        # would go on dealing it every Nth connection, and those would hang.
        log.critical("event loop failed", exc_info=True)
        os._exit(1)
    loop.close()  # in the loop's own thread, like everything else it owns


def main():
    args = common.parse_args(__doc__, default_port=2007, count=("--threads", 4, "event loop threads"))
    return common.run(serve, args)


if __name__ == "__main__":
    sys.exit(main())
