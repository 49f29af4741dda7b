"""The diagnosis, on runs written down as their evidence: table-driven, one row per mistake (the
faulty catalogue and the beginner set prove the same on servers that ran: tests/test_proof.py,
tests/test_beginners.py)."""

from __future__ import annotations

import pytest

from echo_conformance import _diagnosis
from echo_conformance._defects import BY_ID, DEFECTS


def stream(got: int, want: int, ended: str, **more) -> dict:
    fact = {"fact": "stream", "got": got, "want": want, "sent": want, "ended": ended, "elapsed": 0.01}
    if "cmp" not in more and got < want:
        more["cmp"] = {"kind": "short", "at": got, "n": want - got}
    return {**fact, **more}


def case(case_id: str, *facts: dict, outcome: str = "fail", **more) -> dict:
    return {"id": case_id, "outcome": outcome, "evidence": list(facts), **more}


def passed(case_id: str) -> dict:
    return {"id": case_id, "outcome": "pass"}


SHORT_AT_NEWLINE = {"kind": "short", "at": 0, "n": 5}
RUNS = [
    ("first-read-only", [
        case("tcp.echo.binary", stream(1, 2, "eof", first=True)),
        case("tcp.echo.large", stream(0, 64 << 20, "reset")),
        passed("tcp.echo.unbuffered")]),
    ("line-buffered", [
        case("tcp.echo.unbuffered", stream(0, 5, "stalled", newline_cut=True)),
        case("tcp.echo.large", stream(900, 1000, "stalled", newline_cut=True)),
        case("tcp.concurrent.idle-client", stream(0, 12, "stalled", others=1, newline_cut=True),
             {"fact": "blocked", "by": "a silent client", "served_after": False})]),
    ("echo-at-eof", [
        case("tcp.echo.unbuffered", stream(0, 5, "stalled", newline_cut=True)),
        passed("tcp.halfclose.small")]),
    ("holds-back-tail", [
        case("tcp.echo.unbuffered", stream(4, 5, "stalled")),
        case("tcp.halfclose.small", stream(6, 7, "eof", half_closed=True, until_eof=True))]),
    ("never-closes", [
        case("tcp.halfclose.small", stream(7, 7, "stalled", half_closed=True, until_eof=True, cmp={"kind": "exact"}))]),
    ("loses-tail-at-halfclose", [
        case("tcp.halfclose.small", stream(0, 7, "eof", half_closed=True, until_eof=True, after_fin=0.001)),
        passed("tcp.echo.unbuffered")]),
    ("gives-up-after-eof", [
        case("tcp.halfclose.slow-reader", stream(100, 8 << 20, "reset", half_closed=True, paused=2.0)),
        passed("tcp.halfclose.small")]),
    ("serial-not-concurrent", [
        case("tcp.concurrent.idle-client", stream(0, 12, "stalled", others=1),
             {"fact": "blocked", "by": "a silent client", "served_after": True}),
        case("tcp.concurrent.non-reading-client", stream(0, 12, "stalled", others=1),
             {"fact": "blocked", "by": "a client that does not read", "served_after": True})]),
    ("blocks-on-silent-client", [
        case("tcp.concurrent.idle-client", stream(0, 12, "stalled", others=1),
             {"fact": "blocked", "by": "a silent client", "served_after": True}),
        case("tcp.scale.connections", {"fact": "connect-failed", "how": "timeout", "opened_before": 1027}),
        passed("tcp.concurrent.non-reading-client")]),
    ("stops-accepting", [
        case("tcp.echo.unbuffered", stream(0, 5, "stalled")),
        case("tcp.scale.connections", {"fact": "connect-failed", "how": "timeout", "opened_before": 5})]),
    ("dies-on-reset", [
        case("tcp.robust.reset-on-connect", {"fact": "abort", "sent": 0},
             {"fact": "exited", "status": 1, "output": "ConnectionResetError: [Errno 104]"}),
        passed("tcp.echo.connect-close")]),
    ("dies-on-empty-connection", [
        case("tcp.echo.connect-close", {"fact": "empty-connections", "count": 20},
             {"fact": "exited", "status": 1, "output": "IndexError"}),
        case("tcp.robust.reset-on-connect", {"fact": "abort", "sent": 0}, {"fact": "exited", "status": 1})]),
    ("fd-setsize", [
        case("tcp.scale.connections", {"fact": "connect-failed", "how": "refused", "opened_before": 1019},
             {"fact": "exited", "status": 1, "output": "ValueError: filedescriptor out of range in select()"})]),
    ("banner", [
        case("tcp.echo.no-banner", {"fact": "quiet", "got": 9, "head": "b'Welcome!\\n'", "sent_before": 0}),
        case("tcp.echo.binary", stream(11, 2, "wrong", cmp={"kind": "inserted", "at": 0, "n": 9}))]),
    ("adds-data", [
        case("tcp.echo.no-extra", {"fact": "quiet", "got": 1, "head": "b'\\n'", "sent_before": 4, "got_before": 4})]),
    ("alters-data", [
        case("tcp.echo.binary", stream(1, 2, "stalled", cmp={"kind": "deleted", "at": 0, "n": 1}, transform="crlf"))]),
    ("unbounded-buffering", [
        case("tcp.robust.backpressure", {"fact": "push", "pushed": 256 << 20, "blocked": False})]),
    ("leaks-descriptors", [
        case("tcp.resources.churn", {"fact": "growth", "resource": "open fds", "before": 10, "after": 310,
                                     "cycles": 300})]),
    ("udp-truncates", [
        case("udp.echo.sizes", {"fact": "datagram", "size": 8192, "verdict": "wrong", "got": 4096,
                                "cmp": {"kind": "short", "at": 4096, "n": 4096}})]),
    ("relay-swallows-halfclose", [
        case("relay.halfclose.upstream", {"fact": "upstream", "received": 1 << 20, "of": 1 << 20, "eof": False}),
        case("tcp.halfclose.small", stream(7, 7, "stalled", half_closed=True, until_eof=True, cmp={"kind": "exact"}))]),
    # the interop corpus's mistakes (interop/expected.toml), as their runs record them
    ("loses-tail-at-halfclose", [  # a pause only long enough for the server to read the EOF first: no timer
        case("tcp.halfclose.large", stream(4 << 20, 8 << 20, "eof", half_closed=True, until_eof=True, paused=0.31,
                                           after_fin=0.32)),
        case("tcp.halfclose.slow-reader", stream(4 << 20, 8 << 20, "eof", half_closed=True, paused=2.0)),
        passed("tcp.halfclose.small")]),
    ("deadlocks-when-buffers-fill", [
        case("tcp.echo.large", stream(57344, 64 << 20, "stalled")),
        case("tcp.robust.slow-reader", {"fact": "push", "pushed": 3 << 20, "blocked": True},
             stream(57344, 32 << 20, "stalled", pushed=3 << 20)),
        passed("tcp.echo.unbuffered")]),
    ("turns-away-connections", [  # a rate limit: the crowd beyond it is closed, not left waiting
        case("tcp.concurrent.many", {"fact": "crowd", "clients": 64, "complete": 49, "none": 15},
             stream(0, 20, "reset", others=63), {"fact": "crowd-served", "clients": 64, "served": 49}),
        case("tcp.scale.connections", {"fact": "connect-failed", "how": "refused", "opened_before": 114}),
        passed("tcp.echo.unbuffered")]),
    ("turns-away-connections", [
        case("tcp.concurrent.many", {"fact": "connect-failed", "how": "ConnectionResetError", "opened_before": 63}),
        passed("tcp.echo.unbuffered")]),
    ("unbounded-buffering", [  # far beyond the bound before the send blocked
        case("tcp.robust.backpressure", {"fact": "push", "pushed": 227 << 20, "blocked": True})]),
    ("listener-survives-sigterm", [  # the restart that could not bind is no crash
        case("lifecycle.sigterm", {"fact": "sigterm", "exited_after": 0.01, "port_freed": False, "grace": 3.0}),
        case("lifecycle.restart", {"fact": "restart", "error": "Failed binding server socket: Address already in use"},
             {"fact": "exited", "status": 1, "output": "Failed binding server socket: Address already in use"})]),
    ("udp-truncates", [  # seen only as a datagram's first part, the rest never answered
        case("udp.echo.boundaries", {"fact": "datagram-shape", "shape": "split"}),
        case("udp.echo.exact", {"fact": "datagram", "size": 0, "verdict": "lost", "tries": 7})]),
    ("udp-ignores-empty", [  # the sizes the case's budget left no time to send are no losses
        case("udp.echo.sizes", {"fact": "datagram", "size": 0, "verdict": "lost", "tries": 7},
             {"fact": "datagram", "size": 512, "verdict": "lost", "tries": 0}),
        passed("udp.echo.boundaries")]),
]


@pytest.mark.parametrize("expected, results", RUNS, ids=[r[0] for r in RUNS])
def test_the_first_diagnosis_names_the_mistake(expected, results):
    found = _diagnosis.diagnose(results, {"kind": "relay" if expected.startswith("relay") else "echo",
                                          "model": "concurrent"})
    assert found and found[0].defect == expected, [d.defect for d in found]
    assert BY_ID[expected].summary == found[0].summary


def test_a_run_without_failures_has_no_diagnosis():
    assert _diagnosis.diagnose([passed("tcp.echo.unbuffered"), {"id": "tcp6.echo.unbuffered", "outcome": "skip"}]) == []


def test_failures_no_rule_explains_say_so_honestly():
    found = _diagnosis.diagnose([case("tcp.echo.unbuffered", stream(5, 5, "complete", cmp={"kind": "exact"}),
                                      observed="something new")])
    assert [d.defect for d in found] == [_diagnosis.UNKNOWN]
    assert "start with tcp.echo.unbuffered" in found[0].summary


def test_cases_explained_by_a_diagnosis_are_not_explained_again():
    found = _diagnosis.diagnose(RUNS[0][1])
    assert sum(len(d.cases) for d in found) == len({c for d in found for c in d.cases})


@pytest.mark.parametrize("defect", [d for d in DEFECTS if d.fix], ids=lambda d: d.id)
def test_every_fix_quotes_lines_that_exist(defect):
    number, code = defect.fix.code(_diagnosis.HOME)
    assert code and defect.fix.anchor in code[defect.fix.before]
