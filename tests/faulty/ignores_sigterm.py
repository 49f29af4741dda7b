"""Defect: on SIGTERM it stops accepting but then waits, without any deadline, for the connected clients to finish, so with a client connected it never exits.

Models a "graceful shutdown" that drains connections with no timeout: the
SIGTERM handler logs "shutting down after clients finish", closes the
listener and waits for the active-connection count to reach zero.  An idle or
long-lived client keeps the server running forever (until SIGKILL), so process
managers' stop/restart hang.
Otherwise a correct thread-per-connection echo server; with no client
connected it exits 0 at once on SIGTERM/SIGINT.
"""

import os
import signal
import socket
import sys
import threading
import traceback

import _faulty

_active = 0
_idle = threading.Condition()
_draining = False


def handle(conn):
    global _active
    try:
        _faulty.echo_until_eof(conn)
    except OSError:
        pass
    finally:
        conn.close()
        with _idle:
            _active -= 1
            _idle.notify_all()


def serve(listener):
    global _active
    try:
        while True:
            conn = _faulty.accept(listener)
            if conn is None:
                continue
            with _idle:
                _active += 1
            _faulty.start_daemon(handle, conn)
    except OSError:
        if _draining:
            return  # the listener was shut down: stop accepting
        traceback.print_exc()
        os._exit(1)


def main():
    args = _faulty.parse_args(__doc__)
    signal.pthread_sigmask(signal.SIG_BLOCK, _faulty.STOP_SIGNALS)
    listener = _faulty.listen(args.host, args.port)
    _faulty.start_daemon(serve, listener, name="server")
    signal.sigwait(_faulty.STOP_SIGNALS)
    global _draining
    _draining = True
    print("shutting down after clients finish", file=sys.stderr, flush=True)
    try:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
    except OSError:
        pass
    listener.close()
    with _idle:
        # BUG: waits for every client to disconnect, however long that takes.
        _idle.wait_for(lambda: _active == 0)
    os._exit(0)


if __name__ == "__main__":
    main()
