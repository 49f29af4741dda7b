"""Defect: when a connection ends with a reset, the handler keeps the socket for an error report and never closes it, so every reset leaks a file descriptor.

Models an error path that skips cleanup: the normal path closes the socket, but
``except ConnectionResetError`` appends the connection to a module-level list
of "errored connections" (to be logged later) and returns early, so the socket
stays referenced, is never closed or garbage-collected, and its fd stays open.
Otherwise a correct thread-per-connection echo server (orderly closes and other
errors release everything).
"""

import threading

import _faulty

# Connections that ended in a reset, kept for a periodic error report.
_errored = []
_lock = threading.Lock()


def handle(conn):
    try:
        _faulty.echo_until_eof(conn)
    except ConnectionResetError:
        with _lock:
            _errored.append(conn)  # BUG: kept referenced and never closed
        return
    except OSError:
        pass
    conn.close()


def serve(listener):
    _faulty.accept_loop(listener, lambda conn: _faulty.start_daemon(handle, conn))


if __name__ == "__main__":
    _faulty.run(__doc__, serve)
