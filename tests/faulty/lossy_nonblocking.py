"""Defect: a non-blocking poll loop that ignores send()'s return count and drops the data on BlockingIOError.

Models the origin's plain-send defect: ``sock.send(data)`` on a non-blocking
socket treated as if it always sent everything; when the socket buffer is
(nearly) full the unsent part is silently lost, so large transfers come back
short.  The server also fixes SO_SNDBUF at 16 KiB (the kernel doubles it), a
memory-saving setting that is harmless in a correct server; it makes a 64 KiB
send() on loopback come up short or fail with EAGAIN whenever the client falls
even slightly behind, where autotuned multi-MiB buffers would hide the loss in
many runs.
Must be caught by: tcp.echo.large, tcp.halfclose.large.
Otherwise a correct non-blocking poll reactor (closes after the client's EOF).
"""

import select
import socket

import _faulty

SNDBUF = 16 * 1024  # fixed send buffer (see the docstring)

_BAD = select.POLLERR | select.POLLNVAL


def serve(listener):
    listener.setblocking(False)
    poller = select.poll()
    poller.register(listener, select.POLLIN)
    conns = {}

    def drop(fd):
        poller.unregister(fd)
        conns.pop(fd).close()

    while True:
        for fd, events in poller.poll():
            if fd == listener.fileno():
                conn = _faulty.accept(listener)
                if conn is not None:
                    conn.setblocking(False)
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
                    conns[conn.fileno()] = conn
                    poller.register(conn, select.POLLIN)
                continue
            conn = conns[fd]
            if events & _BAD:
                drop(fd)
                continue
            try:
                data = conn.recv(_faulty.RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                drop(fd)
                continue
            if not data:
                drop(fd)
                continue
            try:
                conn.send(data)  # BUG: the returned count is ignored
            except (BlockingIOError, InterruptedError):
                pass  # BUG: the data is dropped
            except OSError:
                drop(fd)


if __name__ == "__main__":
    _faulty.run(__doc__, serve)
