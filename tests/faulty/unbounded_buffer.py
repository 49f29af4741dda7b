"""Defect: a non-blocking poll loop with output buffers but no high-water mark: it keeps reading from a client that does not read and buffers its echo without limit.

Models a reactor that handles partial sends correctly (a per-connection output
buffer drained on POLLOUT) but always keeps POLLIN armed: nothing ever tells a
client that never reads to stop, so the server takes everything it sends and
its memory grows with it (no backpressure).
Must be caught by: tcp.robust.backpressure, tcp.resources.memory.
Otherwise a correct non-blocking poll reactor (flushes, then closes after the
client's EOF; errors and resets end that connection only).
"""

import select

import _faulty

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
        if not c.eof:
            mask |= select.POLLIN  # BUG: reads on however much echo is still unsent
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
