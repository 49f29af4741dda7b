"""Defect: a single-threaded poll loop that, right after accept(), blocks in recv() for the new client's first data.

Models "read the request right after accepting it" carried over from an
iterative server into an event loop: until the new client speaks, the loop is
stuck, so a client that connects and stays silent freezes every other client.
Must be caught by: tcp.concurrent.idle-client.
Otherwise a correct non-blocking poll reactor (per-connection output buffer,
POLLOUT, backpressure, flush then close after the client's EOF).
"""

import select

import _faulty

HIGH_WATER = 1 << 20  # stop reading from a client with this much unsent echo
_BAD = select.POLLERR | select.POLLHUP | select.POLLNVAL


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.out = bytearray()
        self.eof = False


def serve(listener):
    listener.setblocking(False)
    poller = select.poll()
    poller.register(listener, select.POLLIN)
    conns = {}

    def close(c):
        fd = c.sock.fileno()
        poller.unregister(fd)
        del conns[fd]
        c.sock.close()

    def update(c):
        """Flush what can be sent, close when done, else re-arm the right events."""
        if c.out:
            try:
                sent = c.sock.send(c.out)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                close(c)
                return
            del c.out[:sent]
        if c.eof and not c.out:
            close(c)
            return
        mask = 0
        if not c.eof and len(c.out) < HIGH_WATER:
            mask |= select.POLLIN
        if c.out:
            mask |= select.POLLOUT
        poller.modify(c.sock, mask)

    def add(sock):
        c = Conn(sock)
        conns[sock.fileno()] = c
        poller.register(sock, select.POLLIN)
        return c

    while True:
        for fd, events in poller.poll():
            if fd == listener.fileno():
                sock = _faulty.accept(listener)
                if sock is None:
                    continue
                # BUG: wait (blocking) for the client's first data before
                # returning to the loop; a silent client stalls everyone.
                sock.setblocking(True)
                try:
                    first = sock.recv(_faulty.RECV_SIZE)
                except OSError:
                    first = b""
                if not first:
                    sock.close()
                    continue
                sock.setblocking(False)
                c = add(sock)
                c.out += first
                update(c)
                continue
            c = conns.get(fd)
            if c is None:
                continue
            if events & _BAD and not events & select.POLLIN:
                close(c)
                continue
            if events & select.POLLIN:
                try:
                    data = c.sock.recv(_faulty.RECV_SIZE)
                except (BlockingIOError, InterruptedError):
                    data = None
                except OSError:
                    close(c)
                    continue
                if data == b"":
                    c.eof = True
                elif data:
                    c.out += data
            update(c)


if __name__ == "__main__":
    _faulty.run(__doc__, serve)
