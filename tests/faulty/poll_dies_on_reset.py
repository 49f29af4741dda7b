"""Defect: a single-threaded poll loop that does not catch ConnectionResetError/BrokenPipeError from recv()/send(), so one client's reset ends the whole process.

Models a non-blocking reactor whose author handled only the "would block"
case (``except BlockingIOError``) around recv() and send(): when a client
aborts its connection (RST, e.g. SO_LINGER 0 or a crashed peer), the next
recv() raises ECONNRESET, or send() raises ECONNRESET/EPIPE, the exception
escapes the event loop and the server dies, taking every other client with it.
Must be caught by: tcp.robust.reset-midstream, tcp.robust.reset-on-connect.
Otherwise a correct non-blocking poll reactor (per-connection output buffer,
POLLOUT, a high-water mark for backpressure, flush then close after the
client's EOF).
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
            # BUG: no `except OSError`: ECONNRESET/EPIPE escape the loop.
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

    while True:
        for fd, events in poller.poll():
            if fd == listener.fileno():
                sock = _faulty.accept(listener)
                if sock is not None:
                    sock.setblocking(False)
                    conns[sock.fileno()] = Conn(sock)
                    poller.register(sock, select.POLLIN)
                continue
            c = conns.get(fd)
            if c is None:
                continue
            # An error or hangup is handled like readability: recv() reports it.
            if events & (select.POLLIN | _BAD):
                try:
                    data = c.sock.recv(_faulty.RECV_SIZE)
                except (BlockingIOError, InterruptedError):
                    data = None
                # BUG: no `except OSError`: a reset client's ECONNRESET escapes the loop.
                if data == b"":
                    c.eof = True
                elif data:
                    c.out += data
            update(c)


if __name__ == "__main__":
    _faulty.run(__doc__, serve)
