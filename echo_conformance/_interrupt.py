"""A run stopped early: SIGTERM taken as Ctrl-C, and how far the run got.

Theory of operation
-------------------
*SIGTERM* (a cancelled CI job, ``timeout``, ``docker stop``) kills a Python process at once by
default: no report, no fixture teardown, a worker's keeper left to notice.  :class:`StopSignals`
(registered in every process of the run, controller and xdist workers) raises :class:`Stopped`
instead, a ``KeyboardInterrupt``: pytest and xdist then wind the run down exactly as after
Ctrl-C (fixtures torn down, so every server is stopped; the reports written; exit status 2).
Only the first SIGTERM interrupts; later ones (a CI runner sends SIGINT, then SIGTERM, then
SIGKILL) are ignored while the run winds down.  Ctrl-C raises :class:`Stopped` too, so that
pytest ends either with one line (``!!! Stopped: Ctrl-C !!!``), not the file and line the
signal happened to land on.  Each handler is installed only where the signal has Python's
default action (not where it is ignored, nor where someone else handles it), and the previous
one is restored at the end.

*How far the run got* (:class:`Progress`, on the controller): the cases collected (pytest's
``session.items``, or the node IDs each xdist worker collected) and the cases finished (those
whose teardown was reported).  A run is *interrupted* when it was stopped (Ctrl-C, SIGTERM,
``-x``, ``--maxfail``, a pytest-timeout session timeout, a crashed worker) before every
collected case finished.  A case that was running when it stopped has no verdict: its setup
passing proves nothing, so it is not reported at all.  An interrupted run that failed no test
exits 2, not 1 (pytest says 1 after a session timeout, for one).
"""

from __future__ import annotations

import signal
import threading
from dataclasses import dataclass
from typing import Callable

import pytest


class Stopped(KeyboardInterrupt):
    """Ctrl-C or SIGTERM, raised where Python's own Ctrl-C handler raises KeyboardInterrupt."""

    __module__ = "builtins"  # pytest's "!!! ... !!!" line reads "Stopped: SIGTERM", no traceback, no path


#: what :class:`Stopped` says for each signal
SIGNALS = {signal.SIGINT: "Ctrl-C", signal.SIGTERM: "SIGTERM"}


class StopSignals:
    """A pytest plugin: until :meth:`restore`, Ctrl-C raises :class:`Stopped` (each time, as
    Python's own handler does) and so does SIGTERM (the first time only)."""

    def __init__(self) -> None:
        self.previous: dict[int, object] = {}
        self.stopping = False
        if threading.current_thread() is not threading.main_thread():
            return
        for signum, default in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL)):
            if signal.getsignal(signum) == default:  # not ignored, nor someone else's handler
                self.previous[signum] = signal.signal(signum, self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        if signum == signal.SIGTERM and self.stopping:
            return  # already winding down
        self.stopping = True
        raise Stopped(SIGNALS[signum])

    def pytest_keyboard_interrupt(self) -> None:
        self.stopping = True  # a SIGTERM now would only cut the wind-down short

    def restore(self) -> None:
        for signum, previous in self.previous.items():
            signal.signal(signum, previous)
        self.previous.clear()


def install(config: pytest.Config) -> None:
    """:class:`StopSignals` in this process, once, until pytest's cleanup (which runs even when
    the run ends before pytest_configure, as after the preflight)."""
    if not config.pluginmanager.has_plugin(NAME):
        signals = StopSignals()
        config.pluginmanager.register(signals, NAME)
        config.add_cleanup(signals.restore)


NAME = "echo-conformance-signals"


@dataclass(frozen=True)
class Extent:
    """How much of the run ran: ``cases_run`` of ``cases_total`` (None: collection never
    finished), and ``interruption``, what stopped it early (None: it ran to the end)."""

    cases_run: int
    cases_total: int | None
    interruption: str | None

    @property
    def interrupted(self) -> bool:
        return self.interruption is not None

    def sentence(self) -> str:
        """``interrupted: 5 of 24 cases ran``."""
        total = "?" if self.cases_total is None else f"{self.cases_total:,}"
        return f"interrupted: {self.cases_run:,} of {total} cases ran"


class Progress:
    """A pytest plugin, on the controller of ``session``: which cases were collected and which
    finished.  ``is_case(nodeid)`` tells the suite's cases from other tests of the run."""

    def __init__(self, is_case: Callable[[str], bool], session) -> None:
        self.is_case = is_case
        self.session = session  # pytest.Session: its shouldstop and shouldfail say why a run stopped
        self.collected: set[str] | None = None
        self.finished: set[str] = set()
        self.stopped_by: str | None = None
        self.crashed: list[str] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if session.items:  # (xdist's controller collects nothing: its workers' collections are below)
            self.collected = {item.nodeid for item in session.items if self.is_case(item.nodeid)}

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        self.collected = (self.collected or set()) | {nodeid for nodeid in ids if self.is_case(nodeid)}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not self.is_case(report.nodeid):
            return
        if report.when == "teardown":
            self.finished.add(report.nodeid)
        elif report.when not in ("setup", "call"):  # xdist's report of a worker that crashed running it
            self.crashed.append(report.nodeid)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo) -> None:
        value = excinfo.value
        if isinstance(value, Stopped):
            self.stopped_by = str(value)
        elif type(value).__name__ == "Interrupted" and str(value):  # xdist's: -x, a worker's Ctrl-C
            self.stopped_by = str(value)
        else:
            self.stopped_by = "Ctrl-C"

    def extent(self) -> Extent:
        """How much of the run ran, and what stopped it early if something did."""
        ran = len(self.finished if self.collected is None else self.finished & self.collected)
        total = None if self.collected is None else len(self.collected)
        reason = self.stopped_by
        if reason is None and (total is None or ran < total):
            stop = self.session.shouldfail or self.session.shouldstop
            if isinstance(stop, str):
                reason = stop
            elif self.crashed:
                reason = f"a worker crashed while running {self.crashed[0]}"
            elif total is not None:
                reason = "the run ended before every case ran"
        return Extent(ran, total, reason)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        extent = self.extent()
        if extent.interrupted:
            terminalreporter.write_line(f"\n{extent.sentence()} ({extent.interruption}): the verdicts above are of "
                                        "those alone, and none says the server conforms", yellow=True, bold=True)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """An interrupted run that failed nothing exits 2 (interrupted), not 0 or 1."""
        if self.extent().interrupted and session.testsfailed == 0 and \
                session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            session.exitstatus = pytest.ExitCode.INTERRUPTED
