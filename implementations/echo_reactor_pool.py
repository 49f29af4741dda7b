"""Reactor + thread pool TCP echo server: one poll loop for all I/O, the work in a pool.

Model 8 (reactor + thread pool). One thread runs the poll loop and does every
recv() and send(); the work for each chunk received -- process(data), which
for echo just returns the data -- runs in a concurrent.futures thread pool, so
a slow or CPU-heavy process() no longer stalls the loop and every other client
(the weakness of the plain reactor, echo_reactor). Pool threads never touch a
socket: a finished task's result is handed back to the loop through a
thread-safe queue and a wake-up socketpair registered in the poller
(_reactor.Waker).

Clients block each other only when every pool thread (--threads, default 4)
is busy: tasks then wait their turn in the pool's queue. The cost: two
thread hand-offs per chunk. In CPython only one thread runs Python code at a
time (the GIL): work that releases it -- hashlib, zlib, I/O -- runs in
parallel; pure-Python work does not, but no longer freezes the loop either,
since the interpreter switches threads every few milliseconds.

The trap it avoids: pool tasks finish in any order, so two chunks of one
connection processed by two threads could be echoed swapped. Here each
connection has at most one task in flight; what arrives meanwhile waits in its
input buffer and goes to the pool, as one chunk, when that task is done. (The
alternative, numbering the chunks and reordering the results, lets one
connection use several threads at once, at the price of a reorder buffer.)
Backpressure counts everything held for a connection: input waiting, input in
the pool, and output not yet sent.
RFC 862: any data received is sent back until the calling user terminates the connection.
"""

import concurrent.futures
import logging
import sys
import threading

if not __package__: from _as_file import PACKAGE as __package__  # run as a file too (see _as_file.py)

from . import _common as common
from ._poller import IN, OUT
from ._reactor import Waker
from .echo_reactor import HIGH_WATER, RECV_SIZE, Acceptor, Handler, Reactor

log = logging.getLogger("echo_reactor_pool")


def process(data: bytes) -> bytes:
    """The work for one chunk received; its result is sent back, in order.

    Runs in a pool thread, so it may take its time (try hashlib or zlib on
    the data), but must not touch the connection or its socket. Echo: the
    data itself.
    """
    return data


class PooledEchoConnection(Handler):
    """One client: recv -> input buffer -> pool task -> output buffer -> send."""

    def __init__(self, reactor, waker, pool, sock):
        self.reactor, self.waker, self.pool, self.sock = reactor, waker, pool, sock
        sock.setblocking(False)   # a blocking call would stall the whole loop
        self.inbox = bytearray()  # received, waiting for the pool
        self.in_flight = 0        # bytes in this connection's running task (0: none)
        self.out = bytearray()    # processed, not yet sent
        self.eof = False          # client has shut down its write side
        self.closed = False
        reactor.register(self, IN)

    def handle_read(self):
        try:
            data = self.sock.recv(RECV_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:  # ECONNRESET: this connection only
            log.debug("recv: %s", exc)
            return self.handle_close()
        if data:
            self.inbox += data
            self.submit()
        else:
            self.eof = True  # half-close: stop reading; process, flush, then close
        self.update()

    def submit(self):
        """Hand the waiting input to the pool, unless this connection's previous
        task is still running: one task in flight keeps the replies in order."""
        if self.in_flight or not self.inbox:
            return
        data, self.inbox = bytes(self.inbox), bytearray()
        self.in_flight = len(data)
        future = self.pool.submit(process, data)
        # The callback runs in the pool thread that finished the task (or
        # right here if it is done already): it only passes the future on.
        future.add_done_callback(
            lambda done: self.waker.call_soon_threadsafe(self.processed, done))

    def processed(self, future):
        """A task of ours is done. Runs in the loop's thread."""
        self.in_flight = 0
        if self.closed:
            return  # the client reset while the task ran: drop the result
        try:
            self.out += future.result()
        except Exception as exc:  # process() raised, or the pool was shut down
            log.warning("process: %r", exc)
            return self.handle_close()
        self.submit()  # the input that arrived meanwhile, if any
        self.update()

    def handle_write(self):
        try:
            # send() takes only what fits in the socket buffer; keep the rest.
            sent = self.sock.send(self.out)
        except BlockingIOError:
            return
        except OSError as exc:  # EPIPE, ECONNRESET
            log.debug("send: %s", exc)
            return self.handle_close()
        del self.out[:sent]
        self.update()

    def update(self):
        """Ask the reactor for the events this connection can handle now."""
        held = len(self.inbox) + self.in_flight + len(self.out)
        if self.eof and not held:
            return self.handle_close()  # everything processed and sent back
        events = 0
        # Above HIGH_WATER stop reading: the client's TCP window closes and its
        # send() blocks. A busy pool slows its clients down the same way.
        if not self.eof and held < HIGH_WATER:
            events |= IN
        if self.out:
            events |= OUT
        self.reactor.modify(self, events)

    def handle_close(self):
        self.closed = True
        self.reactor.unregister(self)
        self.sock.close()
        self.inbox, self.out = bytearray(), bytearray()


def start_pool(threads):
    """A pool with all its threads started now.

    ThreadPoolExecutor starts a thread per submit() while none is idle, up to
    max_workers; starting them all at once (tasks that wait for each other)
    keeps the thread count fixed, which is what a pool promises.
    """
    pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="work")
    everyone = threading.Barrier(threads)
    try:
        for future in [pool.submit(everyone.wait) for _ in range(threads)]:
            future.result()
    except BaseException:  # a stop signal half-way: release the threads waiting
        everyone.abort()
        pool.shutdown(cancel_futures=True)
        raise
    return pool


def serve(args):
    pool = start_pool(args.threads)
    reactor = Reactor()
    waker = Waker(reactor)  # how the pool threads hand their results back to the loop
    try:
        listener = common.bind(args.host, args.port)
        Acceptor(reactor, listener, lambda sock, peer: PooledEchoConnection(reactor, waker, pool, sock))
        reactor.run()
    finally:
        # Pool first: queued tasks are cancelled, running ones finish (a
        # process() that runs for minutes would delay the exit that long);
        # their results go to a loop that no longer reads them.
        pool.shutdown(wait=True, cancel_futures=True)
        reactor.close()


def main():
    args = common.parse_args(__doc__, default_port=2007, count=("--threads", 4, "threads in the pool"))
    return common.run(serve, args)


if __name__ == "__main__":
    sys.exit(main())
