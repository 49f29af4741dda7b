"""An interrupted run (``_interrupt``): SIGTERM taken as Ctrl-C, how far a run got, and the verdict
the reports give it.  The runs themselves, interrupted by signals: tests/test_cli.py."""

from __future__ import annotations

import os
import signal
import threading
from types import SimpleNamespace

import pytest

from echo_conformance._interrupt import Extent, Progress, Stopped, StopSignals
from echo_conformance._report import markdown, verdict_line


def test_sigterm_stops_once_and_the_handler_is_put_back():
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers are the main thread's")  # and a SIGTERM would end this process
    outer = signal.signal(signal.SIGTERM, signal.SIG_DFL)  # this run's own (the plugin's), for the time of the test
    try:
        signals = StopSignals()
        with pytest.raises(Stopped, match="SIGTERM"):
            os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)  # a second one, while the run winds down: ignored
        signals.restore()
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, outer)


def test_a_signal_someone_else_handles_is_left_alone():
    def theirs(signum, frame):
        pass

    outer = signal.signal(signal.SIGTERM, theirs)
    try:
        StopSignals().restore()
        assert signal.getsignal(signal.SIGTERM) is theirs
    finally:
        signal.signal(signal.SIGTERM, outer)


def _report(nodeid: str, when: str) -> SimpleNamespace:
    return SimpleNamespace(nodeid=nodeid, when=when)


def _progress(collected, finished, *, stopped_by=None, shouldfail=False, crashed=()) -> Progress:
    progress = Progress(lambda nodeid: nodeid.startswith("checks/"), SimpleNamespace(shouldfail=shouldfail,
                                                                                       shouldstop=False))
    if collected is not None:
        progress.pytest_xdist_node_collection_finished(None, [*collected, "theirs/test_x.py::test_y"])
    for nodeid in finished:
        for when in ("setup", "call", "teardown"):
            progress.pytest_runtest_logreport(_report(nodeid, when))
    for nodeid in crashed:
        progress.pytest_runtest_logreport(_report(nodeid, "???"))
    progress.stopped_by = stopped_by
    return progress


CASES = [f"checks/test_a.py::test_{i}[x]" for i in range(4)]

EXTENTS = [
    # progress -> (cases_run, cases_total, interruption)
    (_progress(CASES, CASES), Extent(4, 4, None)),
    (_progress(CASES, CASES[:1], stopped_by="SIGTERM"), Extent(1, 4, "SIGTERM")),
    (_progress(None, [], stopped_by="Ctrl-C"), Extent(0, None, "Ctrl-C")),  # before collection finished
    (_progress(CASES, CASES[:2], shouldfail="stopping after 1 failures"), Extent(2, 4, "stopping after 1 failures")),
    (_progress(CASES, CASES[:3], crashed=CASES[3:]), Extent(3, 4, f"a worker crashed while running {CASES[3]}")),
    (_progress([], []), Extent(0, 0, None)),  # no case at all: nothing was cut short
]


@pytest.mark.parametrize("progress, extent", EXTENTS, ids=[str(e) for _, e in EXTENTS])
def test_how_far_the_run_got(progress, extent):
    assert progress.extent() == extent


def test_a_case_whose_setup_passed_has_not_run():
    progress = _progress(CASES, CASES[:1], stopped_by="Ctrl-C")
    progress.pytest_runtest_logreport(_report(CASES[1], "setup"))
    progress.pytest_runtest_logreport(_report(CASES[1], "call"))
    assert progress.extent().cases_run == 1


def _document(conforming, interrupted=False, run=24, total=24, why=None) -> dict:
    return {"conforming": conforming, "interrupted": interrupted, "cases_run": run, "cases_total": total,
            **({"interruption": why} if why else {}), "started": "2026-01-01T00:00:00Z", "duration": 1.0,
            "counts": {"pass": run}, "timeout_scale": 1.0, "implementations": {}}


VERDICTS = [
    (_document(True), ("conforming", "")),
    (_document(False), ("NOT conforming", "")),
    (_document(None, True, 5, 24, "SIGTERM"),
     ("interrupted: 5 of 24 cases ran", "SIGTERM; no verdict: the cases that did not run could fail")),
    (_document(False, True, 5, 24, "Ctrl-C"),
     ("NOT conforming", "interrupted: 5 of 24 cases ran (Ctrl-C); a case failed before the run stopped")),
    (_document(None, True, 0, None, "Ctrl-C"),
     ("interrupted: 0 of ? cases ran", "Ctrl-C; no verdict: the cases that did not run could fail")),
]


@pytest.mark.parametrize("document, line", VERDICTS, ids=[v[0] for _, v in VERDICTS])
def test_an_interrupted_run_is_never_called_conforming(document, line):
    assert verdict_line(document) == line
    headline = markdown(document).splitlines()[2]
    assert headline.startswith(f"Verdict: **{line[0]}**")
    if document["interrupted"]:
        assert "conforming" not in headline.replace("NOT conforming", "")
