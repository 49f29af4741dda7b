"""Event-driven TCP relay: one thread, one poller, non-blocking sockets.

Model 5 (poll reactor): clients do not block each other as long as no call
blocks. Each client is paired with a non-blocking connection to the upstream
echo server; data waits in per-direction buffers with a high-water mark.
What is read from one socket is written to the other at once; only what that
socket does not take waits in its buffer, and only then does the loop ask to
be told when it is writable (libuv, asyncio's transports and muduo all do
this: a message costs one trip through the loop, not two). The poller is
epoll on Linux (_poller.py says why), poll elsewhere.

Built like echo_reactor, on its Reactor and Acceptor: each client is a Relay,
and the reactor's handlers are the Relay's two Sides (the client's socket and
the upstream's). A Side reads its socket and writes what it read on to the
other Side; the Relay passes half-closes and resets on and closes both.
RFC 862 is served upstream; the relay passes its bytes, half-close and resets through unchanged.
"""

import errno
import logging
import os
import socket
import struct
import sys

if not __package__: from _as_file import PACKAGE as __package__  # run as a file too (see _as_file.py)

from . import _common as common
from . import _rawio as rawio
from ._poller import IN, OUT
from .echo_reactor import Acceptor, Handler, Reactor

log = logging.getLogger("tcp_relay_poll")

RECV_SIZE = 64 * 1024
# Backpressure in both directions: stop reading a socket while the buffer
# toward the other socket holds this much, so a slow reader slows the writer
# down (its TCP window closes) instead of growing our memory without bound.
HIGH_WATER = 1024 * 1024
CONNECT_TIMEOUT = 5.0  # seconds to reach upstream before giving up on a client


def start_relay(reactor, client, peer, upstream_address):
    """The Acceptor's new_connection: connect to upstream for the client, without blocking."""
    family, sockaddr = upstream_address
    client.setblocking(False)
    upstream = socket.socket(family, socket.SOCK_STREAM)
    upstream.setblocking(False)
    common.no_delay(client, upstream)
    # Non-blocking connect: EINPROGRESS now, POLLOUT when the handshake
    # ends, and SO_ERROR then says whether it worked.
    err = upstream.connect_ex(sockaddr)
    if err not in (0, errno.EINPROGRESS):
        log.debug("%s: upstream: %s", peer, errno.errorcode.get(err, err))
        upstream.close()
        client.close()
        return
    Relay(reactor, client, upstream, peer)


class Relay:
    """A client and its upstream connection: two Sides, and what passes between them.

    Until the upstream's connect has ended, the first event of either socket ends that phase
    (connect_ended): the client is not read before there is somewhere to send what it sends.
    """

    def __init__(self, reactor, client, upstream, name):
        self.reactor, self.name = reactor, name
        self.client, self.upstream = Side(self, client), Side(self, upstream)
        self.client.other, self.upstream.other = self.upstream, self.client
        self.connecting = True
        self.timer = reactor.call_later(CONNECT_TIMEOUT, self.timed_out)
        reactor.register(self.client, 0)      # nothing asked for: only POLLERR/POLLHUP come
        reactor.register(self.upstream, OUT)  # writable: the connect has ended

    def connect_ended(self, side):
        """An event on a socket of a connecting relay: upstream answered, or the client left."""
        self.connecting = False
        self.timer.cancel()
        if side is self.client:
            return self.close()  # client gone (HUP/ERR) before upstream answered
        err = self.upstream.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:  # refused, unreachable: the client sees EOF (or RST) at once
            log.debug("%s: upstream: %s", self.name, errno.errorcode.get(err, err))
            return self.close()
        self.update()

    def timed_out(self):
        log.debug("%s: upstream connect timed out", self.name)
        self.close()

    def update(self):
        """Pass EOFs on, close finished sockets, and watch for what is possible now."""
        sides = (self.client, self.upstream)
        for side in sides:
            if side.open and side.other.eof and not side.out and not side.shut:
                side.sock.shutdown(socket.SHUT_WR)  # half-close passed on, after the flush
                side.shut = True
        for side in sides:
            if side.open and side.eof and side.shut:
                side.close()  # both directions of this socket are finished
        if not (self.client.open or self.upstream.open):
            log.debug("closed %s", self.name)
            return
        for side in sides:
            if side.open:
                side.watch()

    def reset(self, exc):
        """A reset or broken pipe on either socket: end both connections, with a reset."""
        log.debug("%s: %s", self.name, exc)
        self.close(reset=True)

    def close(self, reset=False):
        """Close both sockets; reset=True: with RST, a reset passed on."""
        self.timer.cancel()
        self.client.close(reset)
        self.upstream.close(reset)
        log.debug("closed %s", self.name)


class Side(Handler):
    """One socket of a relay, and the data read from the other socket that waits to be sent here."""

    def __init__(self, relay, sock):
        self.relay, self.reactor, self.sock = relay, relay.reactor, sock
        self.recv, self.send = rawio.reader(sock, RECV_SIZE), rawio.writer(sock)  # sock.recv/send, faster: _rawio.py
        self.out = bytearray()  # read from the other socket, not yet sent to this one
        self.eof = False        # this socket has sent us EOF
        self.shut = False       # we have passed the other side's EOF on (SHUT_WR)
        self.open = True
        self.other = None       # the relay's other Side

    def handle_read(self):
        if self.relay.connecting:
            return self.relay.connect_ended(self)
        # POLLHUP comes here too: we have shut down our write side and the
        # peer sent FIN. Read its EOF even above HIGH_WATER (POLLHUP cannot
        # be masked, so ignoring it would spin; and no new data can arrive
        # after the FIN, so the extra buffering is bounded).
        if self.eof:
            return
        try:
            data = self.recv()
            if not data:
                self.eof = True
            elif self.other.out:  # still behind: keep the order, queue it
                self.other.out += data
            elif self.other.write(data):
                return  # all of it written at once: nothing to pass on or watch anew
            self.relay.update()
        except BlockingIOError:
            pass  # spurious readiness: wait for the next event
        except OSError as exc:  # reset, broken pipe: end both connections
            self.relay.reset(exc)

    def handle_write(self):
        if self.relay.connecting:
            return self.relay.connect_ended(self)
        if not self.out:
            return
        try:
            sent = self.send(self.out)  # takes only what fits; the rest waits for the next POLLOUT
            del self.out[:sent]
            self.relay.update()
        except BlockingIOError:
            pass
        except OSError as exc:
            self.relay.reset(exc)

    def handle_error(self):
        if self.relay.connecting:
            return self.relay.connect_ended(self)
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        self.relay.reset(OSError(err, os.strerror(err)))

    def handle_close(self):
        """The reactor's close, at exit: both sockets, without a reset."""
        self.relay.close()

    def write(self, data):
        """Write what the other socket read to this one at once; queue what it does not take.
        True if it took all of it."""
        try:
            sent = self.send(data)
        except BlockingIOError:
            sent = 0
        if sent == len(data):
            return True
        self.out += data[sent:]  # update() then asks for OUT
        return False

    def watch(self):
        """Ask the reactor for the events this socket can be handled for now."""
        events = OUT if self.out else 0
        if not self.eof and len(self.other.out) < HIGH_WATER:
            events |= IN
        self.reactor.modify(self, events)

    def close(self, reset=False):
        if not self.open:
            return
        self.open = False
        self.reactor.unregister(self)
        if reset:
            # SO_LINGER 0: close() sends RST, so a reset on one side reaches
            # the other as a reset, not as a clean end of stream.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()
        self.recv = self.send = rawio.closed  # the descriptor's number goes to the next socket


def serve(args):
    # Resolve upstream once: a DNS lookup inside the loop would block everyone.
    upstream_address = common.resolve(args.upstream_host, args.upstream_port)
    listener = common.bind(args.host, args.port)
    reactor = Reactor()
    Acceptor(reactor, listener, lambda sock, peer: start_relay(reactor, sock, peer, upstream_address))
    try:
        reactor.run()
    finally:
        reactor.close()


def main():
    args = common.parse_args(__doc__, default_port=3007, relay=True)
    return common.run(serve, args)


if __name__ == "__main__":
    sys.exit(main())
