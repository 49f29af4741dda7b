"""Defect: declared serial, but a client that arrives while another is being served is accepted and closed at once instead of waiting its turn.

Models a "server busy" policy bolted onto an iterative server: while serving
its one client, the server also watches the listening socket and hangs up on
any newcomer (as some one-at-a-time services do) instead of leaving it in the
listen backlog to be served next.
Otherwise a correct one-client-at-a-time echo server.  Events are handled in
the order they happened (edge-triggered epoll keeps its ready list in arrival
order), so a client that connects just after the previous one closed is served
normally rather than rejected by a race; without epoll (not Linux) the
listener is checked first.
"""

import select
import socket

import _faulty

if hasattr(select, "epoll"):
    _new_poller, _IN = select.epoll, select.EPOLLIN | select.EPOLLET
else:  # pragma: no cover - non-Linux fallback
    _new_poller, _IN = select.poll, select.POLLIN


def read_available(conn, limit=1 << 20):
    """Everything the client has sent so far (up to limit): (data, eof, maybe_more)."""
    buf = bytearray()
    while len(buf) < limit:
        try:
            data = conn.recv(_faulty.RECV_SIZE, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return bytes(buf), False, False
        if not data:
            return bytes(buf), True, False
        buf += data
    return bytes(buf), False, True


def serve_client(conn, listener, poller):
    """Echo until the client's EOF; reject anyone who connects meanwhile."""
    fds = [conn.fileno()]  # first, whatever the client has sent already
    while True:
        for fd in fds:
            if fd == listener.fileno():
                while True:
                    newcomer = _faulty.accept(listener)
                    if newcomer is None:
                        break
                    newcomer.close()  # BUG: turn the client away instead of queueing it
                continue
            data, eof, more = read_available(conn)
            if data:
                conn.sendall(data)
            if eof:
                return  # done: whoever connected after this is not "while busy"
        # Events come in the order they happened (edge-triggered epoll).
        fds = [fd for fd, _events in poller.poll(0 if more else -1)]
        if more and conn.fileno() not in fds:
            fds.append(conn.fileno())


def serve(listener):
    listener.setblocking(False)
    poller = _new_poller()
    poller.register(listener.fileno(), _IN)
    while True:
        conn = _faulty.accept(listener)
        if conn is None:
            poller.poll()
            continue
        conn.setblocking(True)
        poller.register(conn.fileno(), _IN)
        poller.poll(0)  # forget readiness from before this point (the client is read first)
        try:
            serve_client(conn, listener, poller)
        except OSError:
            pass
        finally:
            poller.unregister(conn.fileno())
            conn.close()


if __name__ == "__main__":
    _faulty.run(__doc__, serve)
