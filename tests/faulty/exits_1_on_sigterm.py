"""Defect: on SIGTERM it stops at once but exits with status 1 (``sys.exit("terminated")``).

Models a stop handler written as ``sys.exit(message)``: Python prints the message and
exits with status 1, so a process manager records every ordinary stop as a failure.
No client is affected, which is why the case that catches it is SHOULD-level.
Otherwise a correct thread-per-connection echo server.
"""

import os
import signal
import sys

import _faulty


def main():
    args = _faulty.parse_args(__doc__)
    listener = _faulty.listen(args.host, args.port)
    _faulty.start_daemon(_faulty.serve_threaded, listener, _faulty.echo_until_eof)
    signal.sigwait(_faulty.STOP_SIGNALS)
    sys.stderr.write("terminated\n")
    sys.stderr.flush()
    os._exit(1)  # BUG: an ordinary stop reported as a failure


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, _faulty.STOP_SIGNALS)  # before any thread starts
    main()
