"""The verdict policy (echo_conformance._verdict) as a table: what happened in one phase of a
check, and the verdict the suite reports.  No subprocess, no server: pure data."""

from __future__ import annotations

import functools

import pytest

from echo_conformance._verdict import (FAIL, LAUNCH, OS_ERROR, OTHER, PASS, PROCESS_GONE, SHOULD_REASON, VIOLATION,
                                       Error, PhaseFacts, case_outcome, decide, known_reason, parse_known_failures,
                                       worse)

REQUIREMENT = "The server sends nothing before the client does (no greeting, no banner)."
REPRODUCE = "pytest 'conformance/test_tcp_echo.py::test_tcp_echo_no_banner[banner]' --impl banner"

VIOLATED = Error(VIOLATION, expected="nothing from the server during the first 0.3 s",
                 observed="28 unsolicited byte(s): b'Welcome'")
LAUNCH_FAILED = Error(LAUNCH, message="implementation 'banner': exited with status 3 before it was ready")
REFUSED = Error(OS_ERROR, message="[Errno 111] Connection refused", type_name="ConnectionRefusedError", errno=111,
                step="connecting client 2")
REFUSED_NO_STEP = Error(OS_ERROR, message="[Errno 111] Connection refused", type_name="ConnectionRefusedError",
                        errno=111)
GONE = Error(PROCESS_GONE, message="process no longer exists (pid=42)", type_name="NoSuchProcess",
             step="counting the server's descriptors")
BUG = Error(OTHER, message="unsupported operand", type_name="TypeError")


def fact(when="call", result="failed", error=None, **kw) -> PhaseFacts:
    base = dict(case="tcp.echo.no-banner", level="MUST", requirement=REQUIREMENT, implementation="banner",
                reproduce=REPRODUCE, when=when, result=result, error=error)
    return PhaseFacts(**{**base, **kw})


# id, facts, outcome, pytest's result, xfail reason (substring) or None,
# properties that must be recorded (subset), phrases the message must contain ("" : none at all)
TABLE = [
    # passing and skipped phases
    ("setup passes", fact("setup", "passed"), "pass", "passed", None, {}, ""),
    ("call passes", fact("call", "passed"), "pass", "passed", None, {}, ""),
    ("teardown passes", fact("teardown", "passed"), "pass", "passed", None, {}, ""),
    ("skipped (--target, a process case)", fact("setup", "skipped"), "skip", "skipped", None, {}, ""),
    ("skipped, even if listed as known", fact("setup", "skipped", known="greets"), "skip", "skipped", None, {}, ""),
    # known failures that pass: the list is stale
    ("known failure passes: stale", fact("call", "passed", known="greets its clients", known_source="known.toml"),
     "stale", "failed", None, {"stale": "true", "observed": "it passes: remove it from the list"},
     ["listed in known.toml as a known failure of banner (greets its clients)", "now passes: remove it from the list",
      f"reproduce: {REPRODUCE}"]),
    ("known failure: setup passing is not the verdict", fact("setup", "passed", known="greets"),
     "pass", "passed", None, {}, ""),
    # violations
    ("MUST violation", fact(error=VIOLATED), "fail", "failed", None,
     {"expected": VIOLATED.expected, "observed": VIOLATED.observed},
     ["tcp.echo.no-banner (MUST) failed for banner", f"requirement: {REQUIREMENT}",
      f"expected: {VIOLATED.expected}", f"observed: {VIOLATED.observed}", f"reproduce: {REPRODUCE}"]),
    ("SHOULD violation: not fatal", fact(error=VIOLATED, level="SHOULD"), "xfail", "skipped", SHOULD_REASON,
     {"expected": VIOLATED.expected}, [f"observed: {VIOLATED.observed}"]),
    ("SHOULD violation with --strict-should", fact(error=VIOLATED, level="SHOULD", strict_should=True),
     "fail", "failed", None, {"observed": VIOLATED.observed}, ["(SHOULD) failed for banner"]),
    ("known MUST violation", fact(error=VIOLATED, known="greets its clients"), "xfail", "skipped",
     "known failure: greets its clients", {"observed": VIOLATED.observed}, [f"observed: {VIOLATED.observed}"]),
    ("known SHOULD violation: the list's reason", fact(error=VIOLATED, level="SHOULD", known="no SO_REUSEADDR"),
     "xfail", "skipped", "known failure: no SO_REUSEADDR", {}, ["requirement:"]),
    ("violation in teardown", fact("teardown", error=VIOLATED), "fail", "failed", None,
     {"observed": VIOLATED.observed}, [f"observed: {VIOLATED.observed}"]),
    ("violation with its failing example, as data",
     fact(error=Error(VIOLATION, expected="e", observed="o", example="payload=b'\\x00', sizes=[1]")),
     "fail", "failed", None, {"example": "payload=b'\\x00', sizes=[1]"},
     ["observed: o\nfailing example: payload=b'\\x00', sizes=[1]\nreproduce:"]),
    ("a state machine's steps, one a line",
     fact(error=Error(VIOLATION, expected="e", observed="o", example="state.open()\nstate.read(index=0)")),
     "fail", "failed", None, {"example": "state.open()\nstate.read(index=0)"},
     ["observed: o\nfailing example:\n    state.open()\n    state.read(index=0)\nreproduce:"]),
    ("violation with a note", fact(error=Error(VIOLATION, expected="e", observed="o", notes=("(a note)",))),
     "fail", "failed", None, {"notes": "(a note)"}, ["observed: o\n(a note)\nreproduce:"]),
    # the server would not start or stop
    ("launch error in setup", fact("setup", error=LAUNCH_FAILED), "fail", "failed", None,
     {"launch_failed": "true", "observed": LAUNCH_FAILED.message},
     ["expected: the server to start and become ready", f"observed: {LAUNCH_FAILED.message}"]),
    ("launch error in the call (a restart)", fact("call", error=LAUNCH_FAILED), "fail", "failed", None,
     {"launch_failed": "true"}, [f"observed: {LAUNCH_FAILED.message}"]),
    ("launch error in teardown", fact("teardown", error=LAUNCH_FAILED), "fail", "failed", None,
     {"launch_failed": "true"}, []),
    ("launch error of a SHOULD case: not fatal", fact("setup", error=LAUNCH_FAILED, level="SHOULD"),
     "xfail", "skipped", SHOULD_REASON, {"launch_failed": "true"}, []),
    ("launch error of a known case in setup: still a failure", fact("setup", error=LAUNCH_FAILED, known="x"),
     "fail", "failed", None, {}, []),
    # socket errors the check did not expect
    ("OSError in a step", fact(error=REFUSED), "fail", "failed", None,
     {"step": "connecting client 2", "expected": "the step to succeed",
      "observed": "while connecting client 2: a connection was refused "
                  "(ConnectionRefusedError: [Errno 111] Connection refused)"},
     ["expected: the step to succeed", "observed: while connecting client 2: a connection was refused"]),
    ("OSError outside any step", fact(error=REFUSED_NO_STEP), "fail", "failed", None,
     {"expected": "the check's socket operations to succeed",
      "observed": "a connection was refused (ConnectionRefusedError: [Errno 111] Connection refused)"}, []),
    ("connection reset", fact(error=Error(OS_ERROR, message="[Errno 104] Connection reset by peer",
                                          type_name="ConnectionResetError", errno=104, step="reading the echo")),
     "fail", "failed", None,
     {"observed": "while reading the echo: a connection was reset (ConnectionResetError: [Errno 104] "
                  "Connection reset by peer)"}, []),
    ("broken pipe", fact(error=Error(OS_ERROR, message="[Errno 32] Broken pipe", type_name="BrokenPipeError")),
     "fail", "failed", None,
     {"observed": "a connection was closed while the client was sending (BrokenPipeError: [Errno 32] Broken pipe)"},
     []),
    ("socket timeout", fact(error=Error(OS_ERROR, message="timed out", type_name="TimeoutError")), "fail", "failed",
     None, {"observed": "a socket operation timed out (TimeoutError: timed out)"}, []),
    ("another OSError", fact(error=Error(OS_ERROR, message="[Errno 98] Address already in use", type_name="OSError",
                                         errno=98, step="binding")), "fail", "failed", None,
     {"observed": "while binding: a socket operation failed (OSError: [Errno 98] Address already in use)"}, []),
    ("OSError of a SHOULD case: not fatal", fact(error=REFUSED, level="SHOULD"), "xfail", "skipped", SHOULD_REASON,
     {"step": "connecting client 2"}, []),
    ("OSError of a known case", fact(error=REFUSED, known="dies"), "xfail", "skipped", "known failure: dies", {}, []),
    ("OSError in setup: the harness's error", fact("setup", error=REFUSED), "error", "failed", None, {}, ""),
    ("OSError in teardown: the harness's error", fact("teardown", error=REFUSED), "error", "failed", None, {}, ""),
    ("server process gone in a step", fact(error=GONE), "fail", "failed", None,
     {"expected": "the server process to keep running while the check inspects it",
      "observed": "while counting the server's descriptors: the server process exited "
                  "(process no longer exists (pid=42))"}, []),
    ("server process gone in setup", fact("setup", error=GONE), "error", "failed", None, {}, ""),
    # anything else: pytest's own report (with its traceback) is kept
    ("a bug in the check", fact(error=BUG), "fail", "failed", None, {}, ""),
    ("a bug in setup", fact("setup", error=BUG), "error", "failed", None, {}, ""),
    ("a bug in teardown", fact("teardown", error=BUG), "error", "failed", None, {}, ""),
    ("a failure with nothing raised", fact(error=None), "fail", "failed", None, {}, ""),
    ("an error is never downgraded (SHOULD)", fact("setup", error=BUG, level="SHOULD"), "error", "failed", None, {}, ""),
    ("a bug in a SHOULD check's call: not fatal", fact(error=BUG, level="SHOULD"), "xfail", "skipped", SHOULD_REASON,
     {}, ""),
    ("a bug in a known case's call", fact(error=BUG, known="greets"), "xfail", "skipped", "known failure: greets",
     {}, ""),
    # the server died during the check
    ("server died during the call", fact(error=REFUSED, server_died=True, server_exit=1,
                                         server_output="Traceback (most recent call last):\nValueError: fd 1024"),
     "fail", "failed", None, {"server_exit": "1", "server_output": "Traceback (most recent call last):\nValueError: fd 1024"},
     ["the server process exited (status 1) during the check; its last output:\n"
      "    | Traceback (most recent call last):\n    | ValueError: fd 1024\nreproduce:"]),
    ("server died, status unknown, no output", fact(error=VIOLATED, server_died=True),
     "fail", "failed", None, {"server_exit": "", "server_output": ""},
     ["the server process exited during the check; its last output:\n    | (no output)"]),
    ("server died, noted only for the call", fact("teardown", error=VIOLATED, server_died=True, server_exit=1),
     "fail", "failed", None, {}, []),
]


@pytest.mark.parametrize("facts, outcome, result, reason, props, phrases",
                         [row[1:] for row in TABLE], ids=[row[0] for row in TABLE])
def test_verdict(facts, outcome, result, reason, props, phrases):
    verdict = decide(facts)
    assert (verdict.outcome, verdict.result) == (outcome, result)
    recorded = dict(verdict.properties)
    assert recorded.get("verdict", "pass") == outcome
    if reason is None:
        assert verdict.xfail_reason is None
    else:
        assert reason in verdict.xfail_reason
    assert {k: recorded.get(k) for k in props} == props
    if phrases == "":  # pytest's own report stands
        assert verdict.lines == ()
        assert "expected" not in recorded and "observed" not in recorded
        return
    assert verdict.lines
    for phrase in phrases:
        assert phrase in verdict.message
    # everything once: the requirement, expected, observed and one reproduce line
    assert verdict.message.count(REPRODUCE) == 1
    assert verdict.message.count(REQUIREMENT) <= 1
    if "expected" in recorded and outcome != "stale":
        assert verdict.message.count(REQUIREMENT) == 1
        assert recorded["expected"] != REQUIREMENT


def test_the_server_output_is_recorded_only_when_it_died():
    assert "server_output" not in dict(decide(fact(error=VIOLATED)).properties)
    assert "server_output" not in dict(decide(fact("setup", error=LAUNCH_FAILED, server_died=True)).properties)


def test_an_os_error_verdict_does_not_repeat_the_requirement():
    verdict = decide(fact(error=REFUSED))
    assert verdict.message.count(REQUIREMENT) == 1 and dict(verdict.properties)["expected"] == "the step to succeed"
    assert verdict.outcome == FAIL


@pytest.mark.parametrize("a, b, worst", [
    ("pass", "fail", "fail"), ("fail", "pass", "fail"), ("xfail", "error", "error"), ("skip", "pass", "pass"),
    ("pass", "xfail", "xfail"), ("fail", "error", "fail"), ("stale", "xfail", "stale"),
])
def test_worse(a, b, worst):
    assert worse(a, b) == worst


@pytest.mark.parametrize("phases, outcome", [  # setup, call, teardown
    (("pass", "pass", "pass"), "pass"),
    (("pass", "skip", "pass"), "skip"),  # skipped in the call: the passing teardown changes nothing
    (("skip", "pass"), "skip"),  # skipped in the setup: no call
    (("pass", "fail", "error"), "fail"),  # a failed call, then a failed teardown: the first of equals
    (("pass", "xfail", "error"), "error"),
    (("error", "pass"), "error"),
    (("pass", "stale", "pass"), "stale"),
])
def test_a_case_outcome_is_the_story_of_its_phases(phases, outcome):
    assert functools.reduce(case_outcome, phases, PASS) == outcome


KNOWN_TOML = '''
[[known-failure]]
case = "tcp.concurrent.many"
implementation = "my-server"
reason = "a fixed pool of 8 workers"

[[known-failure]]
case = "tcp.concurrent.many"
reason = "nobody scales"

[[known-failure]]
case = "lifecycle.restart"
reason = "no SO_REUSEADDR"
'''


@pytest.mark.parametrize("implementation, case, reason", [
    ("my-server", "tcp.concurrent.many", "a fixed pool of 8 workers"),  # its own entry first
    ("other", "tcp.concurrent.many", "nobody scales"),  # the entry for every implementation
    ("other", "lifecycle.restart", "no SO_REUSEADDR"),
    ("my-server", "tcp.echo.binary", None),
    (None, "lifecycle.restart", None),  # not an implementation's case (nothing to apply it to)
])
def test_known_reason(implementation, case, reason):
    assert known_reason(parse_known_failures(KNOWN_TOML), implementation, case) == reason


@pytest.mark.parametrize("text, message", [
    ('[[known-failure]]\ncase = "tcp.echo.binary"\n', "needs case and reason"),
    ('[[known-failure]]\nreason = "x"\n', "needs case and reason"),
    ("[[known-failure]\n", "line 1"),
    ("known-failure = [1]\n", "needs case and reason"),
])
def test_bad_known_failures(text, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        parse_known_failures(text)


def test_no_known_failures():
    assert parse_known_failures("") == {}


def _imports(module: str) -> set[str]:
    import ast
    from pathlib import Path

    import echo_conformance

    tree = ast.parse((Path(echo_conformance.__file__).parent / f"{module}.py").read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add("." * node.level + (node.module or ""))
    return found


def test_the_policy_is_pure_and_the_report_writer_does_not_import_the_plugin():
    assert _imports("_verdict") <= {"__future__", "dataclasses", "tomllib", "tomli"}  # no pytest, no psutil
    assert not {m for m in _imports("_report") if "plugin" in m}


@pytest.mark.parametrize("error, failure", [
    (VIOLATED, "violation"), (LAUNCH_FAILED, "launch"), (REFUSED, "oserror"),
    (Error(PROCESS_GONE, message="pid 7"), "process-gone"), (None, "other")])
def test_a_failure_records_what_was_raised(error, failure):
    """report.json tells a violation the server committed from a check that could not judge
    (the proof counts only violations: tests/test_proof.py)."""
    assert dict(decide(fact(error=error)).properties)["failure"] == failure


def test_a_pass_records_no_failure():
    assert "failure" not in dict(decide(fact(result="passed")).properties)


def test_a_socket_error_after_the_server_died_is_its_violation():
    """A refused connection because the server exited mid-check is the server's failure to keep
    serving (the proof counts it); the same error while the server lives is not judged so."""
    assert dict(decide(fact(error=REFUSED, server_died=True, server_exit=1)).properties)["failure"] == "violation"
    assert dict(decide(fact(error=REFUSED)).properties)["failure"] == "oserror"
