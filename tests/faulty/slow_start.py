"""Defect: sleeps 30 s ("loading configuration") before it starts listening, so it is not ready within the suite's ready bound.

Models a server that does slow start-up work (loading configuration, warming
caches, waiting for a dependency, a retry back-off) before binding its port,
so supervisors and health checks see it as down long after it was started.
(Its manifest entry runs it with --timeout-scale 0.2: a ready bound of 2 s.)
Otherwise a correct thread-per-connection echo server; SIGTERM/SIGINT during
the start-up delay still exit 0 at once.
"""

import signal

import _faulty

STARTUP_DELAY = 30.0  # BUG: far longer than any reasonable readiness bound


def load_configuration():
    """Stand-in for the slow start-up work: wait STARTUP_DELAY seconds (a stop
    signal meanwhile ends the process with status 0, as it would after start-up)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, _faulty.STOP_SIGNALS)
    if signal.sigtimedwait(_faulty.STOP_SIGNALS, STARTUP_DELAY) is not None:
        raise SystemExit(0)
    # (the signals stay blocked: run() below blocks them anyway and sigwait()s.)


if __name__ == "__main__":
    _faulty.parse_args(__doc__)  # --help and bad arguments answer at once
    load_configuration()
    _faulty.run_threaded(__doc__, _faulty.echo_until_eof)
