"""Defect: declared serial, but a client that arrives while another is being served is accepted and closed at once instead of waiting its turn.

Models a "server busy" policy bolted onto an iterative server: while serving
its one client, the server also watches the listening socket and hangs up on
any newcomer (as some one-at-a-time services do) instead of leaving it in the
listen backlog to be served next.
Must be caught by: tcp.serial.served-in-order.
Otherwise a correct one-client-at-a-time echo server.  Each poll round handles
the current client before the listener, so a client that connects right after
the previous one closed is served normally, not rejected by a race.
"""

import select

import _faulty


def serve_client(conn, listener, poller):
    while True:
        events = dict(poller.poll())
        if conn.fileno() in events:
            data = conn.recv(_faulty.RECV_SIZE)
            if not data:
                return
            conn.sendall(data)
            continue
        if listener.fileno() in events:
            newcomer = _faulty.accept(listener)
            if newcomer is not None:
                newcomer.close()  # BUG: turn the client away instead of queueing it


def serve(listener):
    listener.setblocking(False)
    poller = select.poll()
    poller.register(listener, select.POLLIN)
    while True:
        poller.poll()
        conn = _faulty.accept(listener)
        if conn is None:
            continue
        conn.setblocking(True)
        poller.register(conn, select.POLLIN)
        try:
            serve_client(conn, listener, poller)
        except OSError:
            pass
        finally:
            poller.unregister(conn)
            conn.close()


if __name__ == "__main__":
    _faulty.run(__doc__, serve)
