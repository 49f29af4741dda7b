"""Defect: on the client's EOF it stops reading but never closes the connection.

Models the missing ``close()`` after the read loop's ``break``: the handler
returns on EOF but the socket stays referenced from the server's table of
connections, so the client never sees the server's FIN.
Otherwise a correct thread-per-connection echo server.
"""

import threading

import _faulty

# Bookkeeping table of live connections (e.g. for stats or shutdown).
_connections = set()
_lock = threading.Lock()


def handle(conn):
    with _lock:
        _connections.add(conn)
    try:
        _faulty.echo_until_eof(conn)
    except OSError:
        with _lock:
            _connections.discard(conn)
        conn.close()
        return
    # BUG: on EOF the connection is neither removed from the table nor closed.


def serve(listener):
    _faulty.accept_loop(listener, lambda conn: _faulty.start_daemon(handle, conn))


if __name__ == "__main__":
    _faulty.run(__doc__, serve)
