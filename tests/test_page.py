"""The terminal's page of evidence (echo_conformance._page) and the matrix, from result
dicts as report.json has them: pure functions, as tables."""

from __future__ import annotations

import pytest

from echo_conformance import _page
from echo_conformance._cases import Case
from echo_conformance._page import (block, declare_hint, not_applicable, page, patterns, spell, tally,
                                        tally_line)
from echo_conformance._registry import make
from echo_conformance._report import matrix_lines
from echo_conformance._verdict import SHOULD_REASON

REPRODUCE = "echo-conformance --case tcp.echo.binary --impl-cmd 'python3 once.py {port}'"
OBSERVED = ("the client: expected 2 bytes back, observed 1\n  missing from offset 1: 1 byte(s) never arrived\n"
            "  expected [0:2]: 00 00\n  observed [0:1]: 00\n  how it ended: the connection was reset after 0.00 s")
STEPS = [f"state.send(data=b'{'x' * 20}', index={i})" for i in range(8)]


def trace(connections: int = 1) -> dict:
    """A trace's JSON form (``_wire``): ``connections`` lanes, each connect, send, reset, close."""
    lanes = [{"id": n, "label": f"client {n}"} for n in range(1, connections + 1)]
    events = [e for n in range(1, connections + 1) for e in (
        {"lane": n, "kind": "connect", "t": 0.01 * n}, {"lane": n, "kind": "send", "t": 0.01 * n, "n": 2},
        {"lane": n, "kind": "reset", "t": 0.01 * n, "note": "ConnectionResetError"},
        {"lane": n, "kind": "close", "t": 0.01 * n})]
    return {"connections": connections, "lanes": lanes, "events": events}


def result(**changes) -> dict:
    base = {"id": "tcp.echo.binary", "level": "MUST", "implementation": "external", "outcome": "fail",
            "requirement": "Binary data comes back byte-exact.", "expected": "the client gets back exactly the 2 bytes",
            "observed": OBSERVED, "reproduce": REPRODUCE, "duration": 0.1}
    return {**base, **changes}


# result -> the block's lines: exactly (a list) or what it must contain (a set), by default and with -v
@pytest.mark.parametrize("r, short, full", [
    pytest.param(result(), [
        "FAIL tcp.echo.binary (MUST) on external",
        "  requirement: Binary data comes back byte-exact.",
        "  expected: the client gets back exactly the 2 bytes",
        "  observed: the client: expected 2 bytes back, observed 1",
        "      missing from offset 1: 1 byte(s) never arrived",
        "      expected [0:2]: 00 00",
        "      observed [0:1]: 00",
        "      how it ended: the connection was reset after 0.00 s",
        f"  reproduce: {REPRODUCE}"], None, id="a violation"),
    pytest.param(result(observed="one\ntwo\nthree\nfour\nfive\nsix\nseven"),
                 {"  observed: one", "    two", "    three", "    ... (3 more lines; -v shows all)", "    seven"},
                 {"    four", "    five"}, id="long observed text: its first lines and its last"),
    pytest.param(result(example="payload=b'\\x00\\x00', sizes=[1]"),
                 {"  failing example: payload=b'\\x00\\x00', sizes=[1]"}, None, id="the failing example"),
    pytest.param(result(example="state.open()\nstate.read(index=0)"),
                 {"  failing example: state.open(); state.read(index=0)"},
                 {"  failing example:", "      state.open()", "      state.read(index=0)"}, id="steps: one line"),
    pytest.param(result(example="\n".join(STEPS)),
                 {f"  failing example: {'; '.join(STEPS)[:160]}... (8 steps; -v shows all)"}, None,
                 id="many steps: cut"),
    pytest.param(result(notes="(Hypothesis was stopped: it has shrunk the failure for 3 s)"),
                 None, {"  (Hypothesis was stopped: it has shrunk the failure for 3 s)"}, id="notes: with -v"),
    pytest.param(result(server_exit="1", server_output="Traceback (most recent call last):\nValueError: fd\n"),
                 {"  the server process exited with status 1 during the check; its last line: ValueError: fd"},
                 {"  the server process exited with status 1 during the check; its last output:",
                  "    | Traceback (most recent call last):", "    | ValueError: fd"}, id="the server died"),
    pytest.param(result(**{"trace": trace(5)}),
                 {"  timeline, in seconds since the check began (5 client connections, 20 events):",
                  "    (3 more connections not shown)"}, None, id="the timeline: two connections"),
    pytest.param(result(**{"trace": {**trace(8), "failed": [7]}}),
                 {"    client 7 FAILED (sent 2 B, got 0 B)  0.070 connect  0.070 sent 2 B  0.070 reset (RST) "
                  "(ConnectionResetError)  0.070 close", "    (6 more connections not shown)"},
                 {"    client 7 FAILED (sent 2 B, got 0 B)  0.070 connect  0.070 sent 2 B  0.070 reset (RST) "
                  "(ConnectionResetError)  0.070 close"}, id="the timeline: the failed connection first"),
    pytest.param(result(outcome="error", expected=None, observed=None,
                        message="\n".join(f"line {n}" for n in range(30))),
                 {"ERROR tcp.echo.binary (MUST) on external", "  error: (21 earlier lines; -v shows all)",
                  "    line 29"}, {"  error: line 0"}, id="an error: the end of pytest's report"),
    pytest.param(result(outcome="xfail", level="SHOULD", reason=SHOULD_REASON),
                 {"NOT MET tcp.echo.binary (SHOULD) on external", "  observed: the client: expected 2 bytes back, "
                  "observed 1"}, None, id="a SHOULD not met: the same block"),
    pytest.param(result(outcome="xfail", reason="known failure: greets its clients"),
                 ["KNOWN tcp.echo.binary (MUST) on external: known failure: greets its clients"],
                 {"  known failure: greets its clients"}, id="a known failure: one line"),
])
def test_a_failure_is_one_block(r, short, full):
    for lines, want in ((block(r), short), (block(r, full=True), full)):
        if isinstance(want, list):
            assert lines == want
        elif want is not None:
            assert want <= set(lines), "\n".join(lines)
    assert len(block(r)) <= 14


@pytest.mark.parametrize("text, limit, tail, lines", [
    ("a", 5, False, ["  x: a"]),
    ("a\nb\nc", None, False, ["  x: a", "    b", "    c"]),
    ("1\n2\n3\n4\n5", 5, False, ["  x: 1", "    2", "    3", "    4", "    5"]),
    ("1\n2\n3\n4\n5\n6\n7", 5, False, ["  x: 1", "    2", "    3", "    ... (3 more lines; -v shows all)", "    7"]),
    ("1\n2\n3\n4\n5\n6\n7", 5, True, ["  x: (3 earlier lines; -v shows all)", "    4", "    5", "    6", "    7"]),
])
def test_a_long_text_keeps_its_first_lines_and_its_last_or_its_end(text, limit, tail, lines):
    assert _page.labelled("x", text, limit, tail=tail) == lines


def test_the_timeline_shows_two_connections_by_default_and_more_with_v():
    r = result(trace=trace(8))
    assert sum(line.startswith("    client ") for line in block(r)) == 2
    assert sum(line.startswith("    client ") for line in block(r, full=True)) == 6


@pytest.mark.parametrize("failed", [[1], [5], [8], [2, 4, 6, 8]])
def test_the_failed_connection_leads_the_timeline_and_one_other_follows(failed):
    lines = [line for line in block(result(trace={**trace(8), "failed": failed})) if line.startswith("    client ")]
    assert lines[0].startswith(f"    client {failed[0]} FAILED (sent 2 B, got 0 B)  ")
    assert len(lines) == 2 and "FAILED" not in lines[1]  # one to compare with (the other failures: counted)


def test_nothing_of_pytest_or_hypothesis_in_a_block():
    text = "\n".join(block(result(example="payload=b'\\x00'", trace=trace(3)), full=True))
    for word in ("Implementation(", "Bounds(", "check_budget", "reproduce_failure", "Failing test case", "[gw"):
        assert word not in text


# --- the tally ---------------------------------------------------------------------------------

def outcomes(*spec: tuple[str, str, str]) -> list[dict]:
    """(outcome, level, reason) -> results."""
    return [result(id=f"case.{n}", outcome=o, level=level, reason=reason) for n, (o, level, reason) in enumerate(spec)]


@pytest.mark.parametrize("results, skipped, line", [
    (outcomes(*[("pass", "MUST", "")] * 19, *[("fail", "MUST", "")] * 5, ("xfail", "SHOULD", SHOULD_REASON)), 22,
     "25 cases: 19 passed, 5 failed (MUST), 1 SHOULD not met; 22 not applicable"),
    (outcomes(("pass", "MUST", "")), 0, "1 case: 1 passed"),
    (outcomes(("fail", "SHOULD", ""), ("error", "MUST", ""), ("stale", "MUST", ""), ("skip", "MUST", "--target"),
              ("xfail", "MUST", "known failure: x")), 1,
     "5 cases: 1 failed (SHOULD, --strict-should), 1 errors, 1 stale known failures, 1 known failures, 1 skipped; "
     "1 not applicable"),
    ([], 3, "0 cases: none ran; 3 not applicable"),
])
def test_tally_line(results, skipped, line):
    assert tally_line(results, skipped) == line


def test_one_implementation_says_what_would_make_the_others_apply():
    skipped = {"external": [{"case": "tcp6.echo.unbuffered", "needs": "--impl-ipv6"},
                            {"case": "tcp6.halfclose.large", "needs": "--impl-ipv6"}]}
    assert tally(outcomes(("pass", "MUST", "")), skipped) == [
        "1 case: 1 passed; 2 not applicable", "  to run them, declare --impl-ipv6 for tcp6.*"]


def test_several_implementations_one_line_and_one_for_each_that_failed():
    results = [*outcomes(("pass", "MUST", "")), *(dict(r, implementation="b") for r in outcomes(("fail", "MUST", "")))]
    lines = tally(results, {"external": [], "b": [{"case": "x.y", "needs": "--impl-ipv6"}]}, ["external", "b"])
    assert lines == ["2 verdicts over 2 implementations: 1 passed, 1 failed (MUST); 1 not applicable",
                     "  b: 1 case: 1 failed (MUST); 1 not applicable"]


@pytest.mark.parametrize("ids, universe, expected", [
    (["tcp6.a.x", "tcp6.b.y"], ["tcp.echo.x"], ["tcp6.*"]),
    (["tcp.serial.a", "tcp.serial.b"], ["tcp.echo.x", "tcp.capacity.a"], ["tcp.serial.*"]),
    (["tcp.scale.connections"], ["tcp.scale.connections", "tcp.echo.x"], ["tcp.scale.*"]),
    (["tcp.echo.a"], ["tcp.echo.b"], ["tcp.echo.a"]),
    (["relay.chain", "relay.halfclose.x", "relay.upstream.y"], [], ["relay.*"]),
])
def test_patterns_are_true_of_the_whole_selection(ids, universe, expected):
    assert patterns(ids, universe) == expected


def test_declare_hint_groups_by_declaration():
    entries = [{"case": "relay.chain", "needs": "--impl-kind relay"},
               {"case": "udp.echo.x", "needs": "--impl-transport tcp,udp"},
               {"case": "relay.throughput", "needs": "--impl-kind relay"}]
    assert declare_hint(entries) == ("to run them, declare --impl-kind relay for relay.*, "
                                     "--impl-transport tcp,udp for udp.*")
    assert declare_hint([]) == ""


# --- the cases that did not apply ------------------------------------------------------------------

CASES = [Case("tcp.echo.x", "r"), Case("tcp6.echo.x", "r", ip="ipv6"), Case("udp.echo.x", "r", transport="udp"),
         Case("relay.chain", "r", kinds=("relay",)), Case("tcp.serial.x", "r", models=("serial",)),
         Case("tcp.capacity.x", "r", needs_capacity=True)]


@pytest.mark.parametrize("declarations, needs", [
    ({}, {"tcp6.echo.x": "--impl-ipv6", "udp.echo.x": "--impl-transport tcp,udp", "relay.chain": "--impl-kind relay",
          "tcp.serial.x": "--impl-model serial", "tcp.capacity.x": "--impl-capacity N"}),
    ({"ipv6": True, "transports": ("udp",)},
     {"tcp.echo.x": "--impl-transport udp,tcp", "tcp6.echo.x": "--impl-transport udp,tcp",
      "relay.chain": "--impl-kind relay", "tcp.serial.x": "--impl-model serial",
      "tcp.capacity.x": "--impl-transport udp,tcp"}),
    ({"kind": "relay", "ipv6": True, "capacity": 4},
     {"udp.echo.x": "--impl-transport tcp,udp", "tcp.serial.x": "--impl-model serial"}),
])
def test_not_applicable_names_the_declaration_that_would_apply_each(declarations, needs):
    impl = make("external", "server {port} {upstream_port}", **declarations)
    got = not_applicable([impl], CASES)["external"]
    assert {e["case"]: e["needs"] for e in got} == needs
    assert all((e["case"] in needs) == (spec.applies_to(impl) is not None) for e in got for spec in CASES
               if spec.id == e["case"])


@pytest.mark.parametrize("field, value, source, text", [
    ("ipv6", True, "cmd", "--impl-ipv6"),
    ("ipv6", True, "manifest", "ipv6 = true"),
    ("transports", ("tcp", "udp"), "target", "--impl-transport tcp,udp"),
    ("transports", ("tcp", "udp"), "manifest", 'transports = ["tcp", "udp"]'),
    ("kind", "relay", "manifest", 'kind = "relay"'),
    ("capacity", "N", "manifest", "capacity = N"),
    ("model", "serial", "cmd", "--impl-model serial"),
])
def test_a_declaration_is_spelled_as_it_was_made(field, value, source, text):
    assert spell(field, value, source) == text


# --- the page ----------------------------------------------------------------------------------------

def test_the_page_puts_failures_first_then_should_then_known_then_the_suites_errors():
    results = [result(id="b", outcome="xfail", level="SHOULD", reason=SHOULD_REASON), result(id="a"),
               result(id="c", outcome="xfail", reason="known failure: x"), result(id="d", outcome="pass")]
    titles = [title for title, _ in page(results, suite_errors=[("could not collect x.py:", "ImportError: y")])]
    assert titles == ["failures", "SHOULD not met (not fatal without --strict-should)", "known failures",
                      "errors outside the cases"]


def test_the_diagnosis_comes_first_when_there_is_one():
    assert page([result()], diagnosis=["echoes only the first read"])[0] == ("diagnosis", ["echoes only the first read"])


def test_a_passing_run_has_no_evidence_to_show():
    assert page([result(outcome="pass")]) == []


# --- the matrix ---------------------------------------------------------------------------------------

def test_a_matrix_wider_than_the_terminal_numbers_its_columns():
    names = [f"implementation-{n}" for n in range(16)]
    results = [result(id=case, implementation=name, outcome="fail" if (case, name) == ("tcp.echo.x", names[3])
                      else "pass") for name in names for case in ("tcp.echo.x", "lifecycle.ready")]
    wide = matrix_lines(results, names)
    assert len(wide[0]) > 200
    lines = matrix_lines(results, names, width=100)
    assert all(len(line) <= 100 for line in lines)
    assert lines[0].split()[-2:] == ["15", "16"]
    assert lines[3].split() == ["tcp.echo", ".", ".", ".", "F", *["."] * 12]
    assert "1 implementation-0" in lines[4] and lines[-1].startswith(". pass")
    assert matrix_lines(results[:2], names[:1], width=100)[:3] == [
        "check group  implementation-0", "-----------------------------", "lifecycle    pass"]
