"""Defect: a fork-per-connection server whose children keep their copy of the listening socket.

The textbook accept/fork loop without the child's ``listener.close()``.  Each child serves
its client to the end, which is fine, even after the parent has been told to stop: but it
still holds the listening socket, so after SIGTERM the port goes on accepting connections
(into a backlog nobody serves) for as long as any child's client stays, and a restart on the
port fails with EADDRINUSE.  A super-server that hands the listener down is the real thing.
Otherwise a correct fork-per-connection echo server: the parent closes its copy of each
connection and reaps its children (SIGCHLD ignored); on SIGTERM/SIGINT the parent exits 0 at
once, leaving each child to finish its own client.
"""

import os
import signal

import _faulty


def main():
    args = _faulty.parse_args(__doc__)
    listener = _faulty.listen(args.host, args.port)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(0))
    signal.signal(signal.SIGINT, lambda signum, frame: os._exit(0))
    while True:
        conn = _faulty.accept(listener)
        if conn is None:
            continue
        if os.fork() == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            # the defect: no listener.close() here
            _faulty.handle_and_close(conn, _faulty.echo_until_eof)
            os._exit(0)
        conn.close()


if __name__ == "__main__":
    main()
