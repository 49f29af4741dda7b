"""Defect: a fork-per-connection server that never reaps its children, so every finished connection leaves a zombie process.

Models the textbook accept/fork loop without the ``waitpid()`` part: SIGCHLD is
left at its default (not SIG_IGN, no handler) and the parent never calls
wait(), so each child that finishes serving its client stays in the process
table as a zombie until the server itself exits.
Must be caught by: tcp.resources.churn.
Otherwise a correct fork-per-connection echo server (the parent closes its copy
of each connection; the child closes the listener, echoes, and exits).
"""

import os
import signal

import _faulty


def _stop(signum, frame):
    os._exit(0)


def main():
    args = _faulty.parse_args(__doc__)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    listener = _faulty.listen(args.host, args.port)
    # BUG: no SIGCHLD handler and no os.waitpid(-1, os.WNOHANG) anywhere.
    while True:
        conn = _faulty.accept(listener)
        if conn is None:
            continue
        pid = os.fork()
        if pid == 0:  # child: serve this one client, then exit
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            listener.close()
            try:
                _faulty.echo_until_eof(conn)
            except OSError:
                pass
            finally:
                os._exit(0)
        conn.close()


if __name__ == "__main__":
    main()
