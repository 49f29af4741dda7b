"""Reactor-pattern TCP echo server: a poll loop dispatching to handler objects.

Model 5 (poll reactor): echo_poll's model, structured the classic way. A
Reactor owns a poller (epoll on Linux, poll elsewhere: _poller.py says why)
and a table fd -> handler, and only dispatches events; the protocol lives in
handlers (Acceptor, EchoConnection). Clients do not block each other as long
as no handler blocks. Unlike echo_poll, a connection writes its echo at once
and waits for POLLOUT only for what the socket did not take.

This module defines the one Reactor (with its Handler, Timer and Acceptor) that
every reactor server here is built on: the relay (tcp_relay_poll, which needs
the timers for its connect timeout), and the servers with several threads or
processes (echo_reactor_pool, echo_reactors_threads, echo_reactors_processes;
_reactor.py adds what other threads need to reach a loop). Read it first.
RFC 862: any data received is sent back until the calling user terminates the connection.
"""

import heapq
import itertools
import logging
import sys
import time

if not __package__: from _as_file import PACKAGE as __package__  # run as a file too (see _as_file.py)

from . import _common as common
from . import _rawio as rawio
from ._poller import ERR, HUP, IN, OUT, Poller

log = logging.getLogger("echo_reactor")

RECV_SIZE = 64 * 1024
HIGH_WATER = 1024 * 1024  # stop reading a client with this much unsent echo


class Handler:
    """What the reactor calls for a registered socket, self.sock.

    A handler has handle_read() (readable, or the peer gone: POLLHUP), handle_write()
    (writable, when it asked for OUT), handle_error() (POLLERR: by default the socket is
    closed) and handle_close(), which unregisters and closes the socket.
    """

    def fileno(self):
        return self.sock.fileno()

    def handle_error(self):
        self.handle_close()


class Reactor:
    """Demultiplex the poller's events to handlers, and run timers; knows nothing about echo.

    Everything is called from the one thread that runs the loop; _reactor.Waker lets other
    threads ask it to run a function (echo_reactor_pool, echo_reactors_threads).
    """

    def __init__(self):
        self.poller = Poller()
        self.handlers = {}  # fd -> handler
        self.events = {}    # fd -> the event mask the poller has now
        self.timers = []    # heap of (deadline, sequence number, Timer)
        self.sequence = itertools.count()  # orders timers with the same deadline
        self.running = False

    def register(self, handler, events):
        fd = handler.fileno()
        self.handlers[fd] = handler
        self.events[fd] = events
        self.poller.register(fd, events)

    def modify(self, handler, events):
        # Only a change reaches the system's poller: each costs epoll a system call, and
        # select.poll (where there is no epoll) rebuilds its whole array, 10,000 entries
        # with 10,000 connections.
        fd = handler.fileno()
        if self.events[fd] != events:
            self.events[fd] = events
            self.poller.modify(fd, events)

    def unregister(self, handler):
        # Call before closing the socket: fileno() is -1 afterwards.
        fd = handler.fileno()
        del self.handlers[fd], self.events[fd]
        self.poller.unregister(fd)

    def call_later(self, delay, func, *args):
        """Call func(*args) in `delay` seconds, unless the Timer returned is cancelled first."""
        timer = Timer(func, args)
        heapq.heappush(self.timers, (time.monotonic() + delay, next(self.sequence), timer))
        return timer

    def stop(self):
        """End run() after the current round."""
        self.running = False

    def run(self):
        self.running = True
        while self.running:
            self.dispatch(self.poller.poll(self.timeout()))
            self.run_timers()

    def dispatch(self, ready):
        """Deliver one poll()'s events, [(fd, events)], to their handlers."""
        # The stale-descriptor rule: every event is resolved to its handler before any
        # handler runs, and delivered only while that handler still owns the descriptor.
        # A handler may close sockets other than its own (a relay closes both of a pair, a
        # call from another thread closes a connection), and the kernel gives a freed
        # descriptor number at once to the next socket opened -- perhaps by a handler
        # later in this same round.  Looked up only when its turn came, an event of the
        # closed socket would reach the new socket's handler: an old POLLHUP would close it.
        # (For echo alone that lookup would do: a connection closes only in its own
        # handler, after its one event of the round.  For the relay and the pool it would not.)
        handlers = self.handlers
        for fd, handler, events in [(fd, handlers.get(fd), events) for fd, events in ready]:
            if handler is None or handlers.get(fd) is not handler:
                continue  # closed earlier in this round (its fd maybe reused)
            if events & ERR:  # a reset, a refused connect: SO_ERROR says which
                handler.handle_error()
                continue
            # POLLHUP is read, not taken for the end: the connection is over both ways, but
            # what the peer sent before its FIN may still wait unread (a relay passes it on).
            if events & (IN | HUP):
                handler.handle_read()
            if events & OUT and handlers.get(fd) is handler:
                handler.handle_write()

    def timeout(self):
        """Milliseconds until the first timer is due (None: no timer, wait for events)."""
        if not self.timers:
            return None
        return max(0.0, self.timers[0][0] - time.monotonic()) * 1000

    def run_timers(self):
        """Call the timers that are due."""
        now = time.monotonic()
        while self.timers and self.timers[0][0] <= now:
            heapq.heappop(self.timers)[2].fire()

    def close(self):
        """Close every handler's socket, then the poller."""
        for handler in list(self.handlers.values()):
            if self.handlers.get(handler.fileno()) is handler:  # not closed with another meanwhile
                handler.handle_close()
        self.poller.close()


class Timer:
    """A call that Reactor.call_later() holds until its time.

    cancel() does not search the heap: the entry stays there, disarmed, until it is due."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def cancel(self):
        self.func = None

    def fire(self):
        if self.func is not None:
            self.func(*self.args)


class Acceptor(Handler):
    """Readable listening socket -> new_connection(sock, peer) for each client."""

    def __init__(self, reactor, listener, new_connection):
        self.reactor, self.sock = reactor, listener
        self.new_connection = new_connection
        listener.setblocking(False)
        reactor.register(self, IN)

    def handle_read(self):
        while True:  # accept everything pending, not one per wakeup
            try:
                sock, peer = self.sock.accept()
            except BlockingIOError:
                return
            except OSError as exc:  # e.g. EMFILE: out of descriptors
                log.warning("accept: %s", exc)
                return
            log.debug("connection from %s", peer)
            self.new_connection(sock, peer)

    def handle_close(self):
        self.reactor.unregister(self)
        self.sock.close()


class EchoConnection(Handler):
    """One client: echo through an output buffer with a high-water mark."""

    def __init__(self, reactor, sock):
        self.reactor, self.sock = reactor, sock
        sock.setblocking(False)   # a blocking call would stall the whole reactor
        self.out = bytearray()    # received, not yet echoed
        self.eof = False          # client has shut down its write side
        self.recv, self.send = rawio.reader(sock, RECV_SIZE), rawio.writer(sock)  # sock.recv/send, faster: _rawio.py
        reactor.register(self, IN)

    def handle_read(self):
        try:
            data = self.recv()
        except BlockingIOError:
            return
        except OSError as exc:  # ECONNRESET: this connection only
            log.debug("recv: %s", exc)
            return self.handle_close()
        if not data:
            self.eof = True  # half-close: stop reading, flush, then close
        elif self.out:
            self.out += data  # still behind: keep the order, queue it
        else:
            # Write at once: in the common case the socket takes it all, and the loop
            # need not come round again for POLLOUT (muduo's sendInLoop, libuv, asyncio).
            try:
                sent = self.send(data)
            except BlockingIOError:
                sent = 0
            except OSError as exc:  # EPIPE, ECONNRESET
                log.debug("send: %s", exc)
                return self.handle_close()
            if sent == len(data):
                return  # all echoed: the events to watch for are unchanged
            self.out += data[sent:]
        self.update()

    def handle_write(self):
        try:
            # send() takes only what fits in the socket buffer; keep the rest.
            sent = self.send(self.out)
        except BlockingIOError:
            return
        except OSError as exc:  # EPIPE, ECONNRESET
            log.debug("send: %s", exc)
            return self.handle_close()
        del self.out[:sent]
        self.update()

    def update(self):
        """Ask the reactor for the events this connection can handle now."""
        if self.eof and not self.out:
            return self.handle_close()
        events = 0
        # Above HIGH_WATER stop reading: the client's TCP window closes and its
        # send() blocks, instead of our buffer growing without bound.
        if not self.eof and len(self.out) < HIGH_WATER:
            events |= IN
        if self.out:
            events |= OUT
        self.reactor.modify(self, events)

    def handle_close(self):
        self.reactor.unregister(self)
        self.sock.close()
        self.recv = self.send = rawio.closed  # the descriptor's number goes to the next socket
        self.out = bytearray()


def serve(args):
    listener = common.bind(args.host, args.port)
    reactor = Reactor()
    Acceptor(reactor, listener, lambda sock, peer: EchoConnection(reactor, sock))
    try:
        reactor.run()
    finally:
        reactor.close()


def main():
    args = common.parse_args(__doc__, default_port=2007)
    return common.run(serve, args)


if __name__ == "__main__":
    sys.exit(main())
