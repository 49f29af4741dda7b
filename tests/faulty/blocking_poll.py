"""Defect: a single-threaded poll loop with BLOCKING client sockets and sendall(), so one client that does not read stalls every client.

Models the origin's echo-poll defect: a reactor (select.poll) that never sets
the client sockets non-blocking and writes with a blocking ``sendall``; once a
client stops reading and the socket buffers fill, the whole loop blocks in that
client's send.
Must be caught by: tcp.concurrent.non-reading-client.
Polite clients (that read their echoes) are served correctly and concurrently.
"""

import select

import _faulty

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
                    # BUG: the client socket stays blocking (no conn.setblocking(False)).
                    conns[conn.fileno()] = conn
                    poller.register(conn, select.POLLIN)
                continue
            conn = conns[fd]
            if events & _BAD:
                drop(fd)
                continue
            try:
                data = conn.recv(_faulty.RECV_SIZE)
                if data:
                    conn.sendall(data)  # BUG: blocks the whole loop while this client's buffers are full
                    continue
            except OSError:
                pass
            drop(fd)  # EOF or error


if __name__ == "__main__":
    _faulty.run(__doc__, serve)
