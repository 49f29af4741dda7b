"""Defect: the whole process exits when a client closes without sending any data.

Models a handler that assumes every client sends something (an assertion on
the first read) combined with a fail-fast policy that turns an unexpected
handler exception into ``os._exit(1)``: a port scanner or health check that
just connects and closes takes the server down.
Otherwise a correct thread-per-connection echo server (connection errors such
as resets only end that connection).
"""

import os
import sys
import traceback

import _faulty


class EmptyConnection(Exception):
    pass


def handle(conn):
    try:
        with conn:
            first = conn.recv(_faulty.RECV_SIZE)
            if not first:
                # BUG: a connection without data is treated as impossible.
                raise EmptyConnection("client closed without sending anything")
            conn.sendall(first)
            _faulty.echo_until_eof(conn)
    except OSError:
        pass  # network errors end this connection only
    except Exception:
        # BUG: fail fast: any other handler exception kills the whole server.
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)


def serve(listener):
    _faulty.accept_loop(listener, lambda conn: _faulty.start_daemon(handle, conn))


if __name__ == "__main__":
    _faulty.run(__doc__, serve)
