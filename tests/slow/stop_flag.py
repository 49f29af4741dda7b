"""Defect: a "graceful" SIGTERM handler that only sets a flag, which the accept loop checks
between connections: the loop is blocked in accept(), which Python resumes after running the
handler (PEP 475), so the server stops only when the next client connects, and with none
it never stops: SIGTERM is, in effect, ignored (a process manager has to SIGKILL it).

Not in manifest.toml: whether SIGTERM lands while the loop is blocked in accept() or between
two accepts is a race this server loses only sometimes; tests/test_speed.py uses it to show
that a server ignoring SIGTERM does not hold up its teardown.
Otherwise a correct thread-per-connection echo server.
"""

import signal

import _slow  # noqa: F401
import _faulty

stopping = False


def on_sigterm(signum, frame):
    global stopping
    stopping = True  # BUG: seen only once accept() returns


def main():
    args = _faulty.parse_args(__doc__)
    signal.signal(signal.SIGTERM, on_sigterm)
    listener = _faulty.listen(args.host, args.port)
    while not stopping:
        conn = _faulty.accept(listener)
        if conn is not None:
            _faulty.start_daemon(_faulty.handle_and_close, conn, _faulty.echo_until_eof)
    listener.close()


if __name__ == "__main__":
    main()
