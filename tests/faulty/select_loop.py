"""Defect: a non-blocking event loop built on select.select(), which cannot watch a file descriptor above FD_SETSIZE - 1 (1023): once a connection gets fd 1024, select() raises ValueError and the server dies.

Models the classic select() server (fd_set limited to FD_SETSIZE = 1024): it is
correct until the process holds about a thousand connections, then the first
descriptor past 1023 breaks the loop.  Python's select.select() raises
``ValueError: filedescriptor out of range in select()``; nothing catches it, so
the whole server exits (in C the same loop corrupts memory or stops accepting).
Must be caught by: tcp.scale.connections.
Otherwise a correct non-blocking reactor (per-connection output buffer, write
interest while output is pending, a high-water mark for backpressure, flush then
close after the client's EOF; errors and resets end that connection only).
"""

import select

import _faulty

HIGH_WATER = 1 << 20  # stop reading from a client with this much unsent echo


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.out = bytearray()
        self.eof = False


def serve(listener):
    listener.setblocking(False)
    conns = {}

    def close(c):
        del conns[c.sock.fileno()]
        c.sock.close()

    def flush(c):
        """Send what can be sent; close when the client is done and all is sent."""
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

    while True:
        readers = [listener] + [c.sock for c in conns.values() if not c.eof and len(c.out) < HIGH_WATER]
        writers = [c.sock for c in conns.values() if c.out]
        # BUG: select() only handles fds < FD_SETSIZE (1024); past that it raises ValueError.
        readable, writable, _ = select.select(readers, writers, [])
        for sock in readable:
            if sock is listener:
                new = _faulty.accept(listener)
                if new is not None:
                    new.setblocking(False)
                    conns[new.fileno()] = Conn(new)
                continue
            c = conns.get(sock.fileno())
            if c is None:
                continue
            try:
                data = sock.recv(_faulty.RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                close(c)
                continue
            if data:
                c.out += data
            else:
                c.eof = True
            flush(c)
        for sock in writable:
            c = conns.get(sock.fileno()) if sock.fileno() >= 0 else None
            if c is not None and c.sock is sock:
                flush(c)


if __name__ == "__main__":
    _faulty.run(__doc__, serve)
