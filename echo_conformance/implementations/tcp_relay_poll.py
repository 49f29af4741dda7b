"""Event-driven TCP relay: one thread, one poller, non-blocking sockets.

Model 5 (poll reactor): clients do not block each other as long as no call
blocks. Each client is paired with a non-blocking connection to the upstream
echo server; data waits in per-direction buffers with a high-water mark.
What is read from one socket is written to the other at once; only what that
socket does not take waits in its buffer, and only then does the loop ask to
be told when it is writable (libuv, asyncio's transports and muduo all do
this: a message costs one trip through the loop, not two). The poller is
epoll on Linux (_poller.py says why), poll elsewhere.
RFC 862 is served upstream; the relay passes its bytes, half-close and resets through unchanged.
"""

import errno
import logging
import os
import socket
import struct
import sys
import time

from . import _common as common
from . import _rawio as rawio
from ._poller import ERR, HUP, IN, OUT, Poller

log = logging.getLogger("tcp_relay_poll")

RECV_SIZE = 64 * 1024
# Backpressure in both directions: stop reading a socket while the buffer
# toward the other socket holds this much, so a slow reader slows the writer
# down (its TCP window closes) instead of growing our memory without bound.
HIGH_WATER = 1024 * 1024
CONNECT_TIMEOUT = 5.0


class Side:
    """One socket of a relayed pair and the data waiting to be written to it."""

    def __init__(self, sock, pair):
        self.sock, self.pair = sock, pair
        self.fd = sock.fileno()
        # sock.recv(RECV_SIZE) and sock.send, with less of CPython's work per call (_rawio.py)
        self.recv, self.send = rawio.reader(sock, RECV_SIZE), rawio.writer(sock)
        self.out = bytearray()  # read from the other socket, not yet sent to this one
        self.eof = False        # this socket has sent us EOF
        self.shut = False       # we have passed the other side's EOF on (SHUT_WR)
        self.open = True
        self.peer = None
        self.events = None      # the events the poller watches for this socket now


class Pair:
    """A client and its upstream connection."""

    def __init__(self, client, upstream, peer):
        self.client, self.upstream = Side(client, self), Side(upstream, self)
        self.client.peer, self.upstream.peer = self.upstream, self.client
        self.name = peer


def serve(args):
    # Resolve upstream once: a DNS lookup inside the loop would block everyone.
    family, sockaddr = common.resolve(args.upstream_host, args.upstream_port)
    listener = common.listen(args.host, args.port)
    poller = Poller()
    listener.setblocking(False)
    poller.register(listener, IN)
    sides = {}        # fd -> Side
    connecting = {}   # Pair -> connect deadline

    def close_side(side, reset=False):
        if not side.open:
            return
        side.open = False
        poller.unregister(side.fd)
        del sides[side.fd]
        if reset:
            # SO_LINGER 0: close() sends RST, so a reset on one side reaches
            # the other as a reset, not as a clean end of stream.
            side.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        side.sock.close()
        side.recv = side.send = rawio.closed  # the descriptor's number goes to the next socket

    def watch(side, events):
        """Have the poller watch side's socket for events (only a change costs a system call)."""
        if side.events is None:
            poller.register(side.fd, events)
        elif side.events != events:
            poller.modify(side.fd, events)
        side.events = events

    def close_pair(pair, reset=False):
        connecting.pop(pair, None)
        close_side(pair.client, reset)
        close_side(pair.upstream, reset)
        log.debug("closed %s", pair.name)

    def accept():
        while True:  # everything pending, not one per wakeup
            try:
                client, peer = listener.accept()
            except BlockingIOError:
                return
            except OSError as exc:  # e.g. EMFILE
                log.warning("accept: %s", exc)
                return
            log.debug("connection from %s", peer)
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
                continue
            pair = Pair(client, upstream, peer)
            sides[pair.client.fd] = pair.client
            sides[pair.upstream.fd] = pair.upstream
            watch(pair.client, 0)  # don't read the client until connected
            watch(pair.upstream, OUT)
            connecting[pair] = time.monotonic() + CONNECT_TIMEOUT

    def connected(pair):
        """POLLOUT (or an error) on a connecting upstream socket."""
        del connecting[pair]
        err = pair.upstream.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:  # refused, unreachable: the client sees EOF (or RST) at once
            log.debug("%s: upstream: %s", pair.name, errno.errorcode.get(err, err))
            close_pair(pair)
        else:
            update(pair)

    def update(pair):
        """Pass EOFs on, close finished sockets, and poll for what is possible now."""
        for side in (pair.client, pair.upstream):
            if side.open and side.peer.eof and not side.out and not side.shut:
                side.sock.shutdown(socket.SHUT_WR)  # half-close passed on, after the flush
                side.shut = True
        for side in (pair.client, pair.upstream):
            if side.open and side.eof and side.shut:
                close_side(side)  # both directions of this socket are finished
        if not pair.client.open and not pair.upstream.open:
            log.debug("closed %s", pair.name)
            return
        for side in (pair.client, pair.upstream):
            if side.open:
                events = OUT if side.out else 0
                if not side.eof and len(side.peer.out) < HIGH_WATER:
                    events |= IN
                watch(side, events)

    def forward(data, side):
        """Write at once what the other socket read; buffer what side's socket does not take.
        True if it took all of it."""
        try:
            sent = side.send(data)
        except BlockingIOError:
            sent = 0
        if sent == len(data):
            return True
        side.out += data[sent:]  # update() then asks for OUT
        return False

    def handle(side, events):
        pair = side.pair
        if pair in connecting:
            if side is pair.upstream:
                connected(pair)
            else:
                close_pair(pair)  # client gone (HUP/ERR) before upstream answered
            return
        try:
            if events & ERR:
                err = side.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                raise OSError(err, os.strerror(err))
            try:
                # POLLHUP here means we have shut down our write side and the
                # peer sent FIN: read its EOF even above HIGH_WATER (POLLHUP
                # cannot be masked, so ignoring it would spin; and no new data
                # can arrive after the FIN, so the extra buffering is bounded).
                if events & (IN | HUP) and not side.eof:
                    data = side.recv()
                    if not data:
                        side.eof = True
                    elif side.peer.out:  # still behind: keep the order, queue it
                        side.peer.out += data
                    elif forward(data, side.peer) and not events & OUT:
                        return  # all of it written at once: nothing to pass on or watch anew
                if events & OUT and side.out:
                    # send() takes only what fits; the rest waits for next POLLOUT.
                    sent = side.send(side.out)
                    del side.out[:sent]
            except BlockingIOError:
                pass  # spurious readiness: wait for the next event
            update(pair)
        except OSError as exc:  # reset, broken pipe: end both connections
            log.debug("%s: %s", pair.name, exc)
            close_pair(pair, reset=True)

    try:
        while True:
            timeout = None
            if connecting:
                timeout = max(0.0, min(connecting.values()) - time.monotonic()) * 1000
            listener_ready = False
            for fd, events in poller.poll(timeout):
                if fd == listener.fileno():
                    listener_ready = True
                    continue
                side = sides.get(fd)
                if side is not None:  # None: closed with its pair earlier in this round
                    handle(side, events)
            # Accept after the other events: a descriptor number freed in this
            # round can then not be reused by a new socket that would receive
            # the old socket's remaining event.
            if listener_ready:
                accept()
            now = time.monotonic()
            for pair, deadline in list(connecting.items()):
                if deadline <= now:
                    log.debug("%s: upstream connect timed out", pair.name)
                    close_pair(pair)
    finally:
        for side in list(sides.values()):
            side.sock.close()
        listener.close()
        poller.close()


def main():
    args = common.parse_args(__doc__, default_port=3007, relay=True)
    return common.run(serve, args)


if __name__ == "__main__":
    sys.exit(main())
