"""Defect: an event-driven relay that always reads whatever arrives into its buffers, however much is still waiting to be written: no backpressure, so a client that never reads makes it buffer without bound.

Models the poll/epoll relay whose read interest is never switched off: POLLIN stays set on
both sockets and the buffers have no high-water mark.  Against a client that sends but
never reads, the relay keeps accepting the client's data and the upstream's echo of it
into memory, and the client's send never blocks.
Otherwise a correct one-thread, non-blocking relay: non-blocking connect, partial sends
kept, half-close passed on both ways after the flush, a reset passed on as a reset.
"""

import errno
import select
import socket
import struct

import _faulty
import _faulty_relay

IN, OUT, HUP = select.POLLIN, select.POLLOUT, select.POLLHUP
ERR = select.POLLERR | select.POLLNVAL


class Side:
    """One socket of a relayed pair and the data waiting to be written to it."""

    def __init__(self, sock):
        self.sock, self.fd = sock, sock.fileno()
        self.out = bytearray()
        self.eof = self.shut = False
        self.open = True
        self.peer = None
        self.connecting = False


def serve(listener, upstream_addr):
    family = _faulty.family_for(upstream_addr[0])
    listener.setblocking(False)
    poller = select.poll()
    poller.register(listener, IN)
    sides = {}

    def close_side(side, reset=False):
        if side.open:
            side.open = False
            poller.unregister(side.fd)
            del sides[side.fd]
            if reset:
                side.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            side.sock.close()

    def close_pair(side, reset=False):
        close_side(side, reset)
        close_side(side.peer, reset)

    def accept():
        while (client := _faulty.accept(listener)) is not None:
            client.setblocking(False)
            upstream = socket.socket(family, socket.SOCK_STREAM)
            upstream.setblocking(False)
            if upstream.connect_ex(upstream_addr) not in (0, errno.EINPROGRESS):
                upstream.close()
                client.close()
                continue
            a, b = Side(client), Side(upstream)
            a.peer, b.peer, b.connecting = b, a, True
            sides[a.fd], sides[b.fd] = a, b
            poller.register(a.fd, 0)  # the client is read once the upstream is connected
            poller.register(b.fd, OUT)

    def update(side):
        pair = (side, side.peer)
        for s in pair:
            if s.open and s.peer.eof and not s.out and not s.shut:
                try:
                    s.sock.shutdown(socket.SHUT_WR)
                except OSError:  # the peer has reset already: the next poll closes the pair
                    pass
                s.shut = True
        for s in pair:
            if s.open and s.eof and s.shut:
                close_side(s)
        for s in pair:
            if s.open:
                # BUG: always reading, however much s.peer.out already holds (no high-water mark)
                poller.modify(s.fd, (OUT if s.out else 0) | (0 if s.eof else IN))

    def handle(side, events):
        if side.connecting:
            side.connecting = False
            if side.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                close_pair(side)  # refused: the client sees its connection closed
            else:
                update(side)
            return
        if side.peer.connecting:  # the client left before the upstream answered
            close_pair(side)
            return
        try:
            if events & ERR:
                err = side.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                raise OSError(err, "socket error")
            if events & (IN | HUP) and not side.eof:
                data = side.sock.recv(_faulty.RECV_SIZE)
                if data:
                    side.peer.out += data
                else:
                    side.eof = True
            elif events & HUP:
                raise OSError(errno.ECONNRESET, "hang-up")
            if events & OUT and side.out:
                del side.out[: side.sock.send(side.out)]
        except BlockingIOError:
            pass
        except OSError:
            close_pair(side, reset=True)
            return
        update(side)

    while True:
        ready_listener = False
        for fd, events in poller.poll():
            if fd == listener.fileno():
                ready_listener = True
            elif (side := sides.get(fd)) is not None:
                handle(side, events)
        if ready_listener:
            accept()


if __name__ == "__main__":
    _faulty_relay.run(__doc__, serve)
