"""Defect: a fork-per-connection server that never reaps its children while it runs, so every finished connection leaves a zombie process.

Models the textbook accept/fork loop without the ``waitpid()`` part: SIGCHLD is
left at its default (not SIG_IGN, no handler) and the accept loop never calls
wait(), so each child that finishes serving its client stays in the process
table as a zombie (the server only remembers the pids, to stop its children
when it is itself stopped).
Otherwise a correct fork-per-connection echo server: the parent closes its copy
of each connection; the child closes the listener, echoes, and exits; on
SIGTERM/SIGINT the parent kills the children still serving, waits for them and
exits 0 at once.
"""

import os
import signal

import _faulty

_children = []  # pids of every child started, to stop them at shutdown


def _stop(signum, frame):
    for pid in _children:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for pid in _children:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    os._exit(0)


def main():
    args = _faulty.parse_args(__doc__)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    listener = _faulty.listen(args.host, args.port)
    # BUG: no SIGCHLD handler and no os.waitpid(-1, os.WNOHANG) in this loop.
    while True:
        conn = _faulty.accept(listener)
        if conn is None:
            continue
        # No stop signal between fork() and recording the pid.
        signal.pthread_sigmask(signal.SIG_BLOCK, _faulty.STOP_SIGNALS)
        pid = os.fork()
        if pid == 0:  # child: serve this one client, then exit
            listener.close()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _faulty.STOP_SIGNALS)
            try:
                _faulty.echo_until_eof(conn)
            except OSError:
                pass
            finally:
                os._exit(0)
        _children.append(pid)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _faulty.STOP_SIGNALS)
        conn.close()


if __name__ == "__main__":
    main()
