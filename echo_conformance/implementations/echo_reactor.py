"""Reactor-pattern TCP echo server: a poll loop dispatching to handler objects.

Model 5 (poll reactor): echo_poll's model, structured the classic way. A
Reactor owns a poller (epoll on Linux, poll elsewhere: _poller.py says why)
and a table fd -> handler, and only dispatches events; the protocol lives in
handlers (Acceptor, EchoConnection). Clients do not block each other as long
as no handler blocks. Unlike echo_poll, a connection writes its echo at once
and waits for POLLOUT only for what the socket did not take.
RFC 862: any data received is sent back until the calling user terminates the connection.
"""

import logging
import sys

from . import _common as common
from . import _rawio as rawio
from ._poller import DEAD, IN, OUT, Poller

log = logging.getLogger("echo_reactor")

RECV_SIZE = 64 * 1024
HIGH_WATER = 1024 * 1024  # stop reading a client with this much unsent echo


class Reactor:
    """Demultiplex poll() events to handlers; knows nothing about echo."""

    def __init__(self):
        self.poller = Poller()
        self.handlers = {}  # fd -> handler

    def register(self, handler, events):
        self.handlers[handler.fileno()] = handler
        self.poller.register(handler.fileno(), events)

    def modify(self, handler, events):
        self.poller.modify(handler.fileno(), events)

    def unregister(self, handler):
        # Call before closing the socket: fileno() is -1 afterwards.
        del self.handlers[handler.fileno()]
        self.poller.unregister(handler.fileno())

    def run(self):
        poll, handlers = self.poller.poll, self.handlers
        while True:
            for fd, events in poll():
                handler = handlers.get(fd)
                if handler is None:
                    continue  # defensive: unregistered earlier in this round
                if events & DEAD:
                    handler.handle_close()
                    continue
                if events & IN:
                    handler.handle_read()
                if events & OUT and handlers.get(fd) is handler:
                    handler.handle_write()

    def close(self):
        for handler in list(self.handlers.values()):
            handler.handle_close()
        self.poller.close()


class Acceptor:
    """Readable listening socket -> new EchoConnections."""

    def __init__(self, reactor, listener):
        self.reactor, self.sock = reactor, listener
        listener.setblocking(False)
        reactor.register(self, IN)

    def fileno(self):
        return self.sock.fileno()

    def handle_read(self):
        while True:  # accept everything pending, not one per wakeup
            try:
                sock, peer = self.sock.accept()
            except BlockingIOError:
                return
            except OSError as exc:  # e.g. EMFILE
                log.warning("accept: %s", exc)
                return
            log.debug("connection from %s", peer)
            EchoConnection(self.reactor, sock)

    def handle_close(self):
        self.reactor.unregister(self)
        self.sock.close()


class EchoConnection:
    """One client: echo through an output buffer with a high-water mark."""

    def __init__(self, reactor, sock):
        self.reactor, self.sock = reactor, sock
        sock.setblocking(False)   # a blocking call would stall the whole reactor
        self.out = bytearray()    # received, not yet echoed
        self.eof = False          # client has shut down its write side
        # sock.recv(RECV_SIZE) and sock.send, with less of CPython's work per call (_rawio.py)
        self.recv, self.send = rawio.reader(sock, RECV_SIZE), rawio.writer(sock)
        reactor.register(self, IN)

    def fileno(self):
        return self.sock.fileno()

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
    listener = common.listen(args.host, args.port)
    reactor = Reactor()
    Acceptor(reactor, listener)
    try:
        reactor.run()
    finally:
        reactor.close()


def main():
    args = common.parse_args(__doc__, default_port=2007)
    return common.run(serve, args)


if __name__ == "__main__":
    sys.exit(main())
