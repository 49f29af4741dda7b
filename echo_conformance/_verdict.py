"""The verdict policy: what happened in one phase of a check, turned into what the suite
reports.  Pure data in, pure data out -- no pytest here -- so every rule is one row of a
table (``tests/test_verdict.py``).  The plugin gathers the facts (:class:`PhaseFacts`) and
applies the :class:`Verdict` to pytest's report; the report writer only reads it back, and
reduces a case's phases (:func:`case_outcome`) and a group's cases (:func:`worse`) by the
rules here.

The rules, in order:

1. A skipped phase is ``skip``; a passed phase is ``pass`` -- unless it is the call of a
   case listed as a known failure: then the list is out of date, ``stale``, and the run fails.
2. A failed phase is classified by what was raised:

   - a :class:`~echo_conformance._cases.Violation` (any phase) is ``fail``: the case's
     expected and observed;
   - a :class:`~echo_conformance._launch.LaunchError` (any phase) is ``fail``: the server did
     not start or stop as its declaration says -- its failure, not the suite's;
   - an ``OSError`` or a vanished server process during the call is ``fail``: a socket
     operation the check did not expect to fail (a refused connection because the server
     died, say) is the server's failure to meet the case.  The observed text names the step
     it happened in (``conformance_step``, set by ``_cases.step``);
   - anything else is ``fail`` during the call (pytest's own report, with its traceback, is
     kept) and ``error`` in setup or teardown (the check could not run or clean up).

3. A failed call of a case listed as a known failure is ``xfail``, with the list's reason.
4. A ``fail`` of a SHOULD-level case is ``xfail`` unless --strict-should.  (An ``error`` is
   never downgraded: it is not a verdict on the server.)
5. If the server process died during the call, its exit status and last output are part of
   the verdict, and a socket error that followed is recorded as a violation (``failure``):
   every case requires the server to keep serving.

A failure's message says everything once: the heading (case, level, implementation), the
requirement, what was expected, what was observed, the failing example (as data), the
server's last output and one command that reproduces it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

PASS, FAIL, ERROR, XFAIL, SKIP, STALE = "pass", "fail", "error", "xfail", "skip", "stale"
#: how bad an outcome is (lower is worse): a group of cases shows the worst of theirs
ORDER = {FAIL: 0, ERROR: 0, STALE: 0, XFAIL: 1, PASS: 2, SKIP: 3}
FAILING = (FAIL, ERROR, STALE)
#: the outcomes a report shows in full (message, trace): the failures and the expected ones
DETAILED = (*FAILING, XFAIL)

#: what was raised, as far as the policy cares
VIOLATION, LAUNCH, OS_ERROR, PROCESS_GONE, OTHER = "violation", "launch", "oserror", "process-gone", "other"

SHOULD_REASON = "SHOULD-level case failed (not fatal without --strict-should)"

_OS_ERRORS = {
    "ConnectionRefusedError": "a connection was refused",
    "ConnectionResetError": "a connection was reset",
    "ConnectionAbortedError": "a connection was aborted",
    "BrokenPipeError": "a connection was closed while the client was sending",
    "TimeoutError": "a socket operation timed out",
    "timeout": "a socket operation timed out",
}


@dataclass(frozen=True)
class Error:
    """What a failed phase raised."""

    kind: str  # VIOLATION | LAUNCH | OS_ERROR | PROCESS_GONE | OTHER
    message: str = ""  # str(exception)
    expected: str = ""  # a Violation's
    observed: str = ""  # a Violation's
    type_name: str = ""  # the exception's class name (OSError: which one)
    errno: int | None = None
    step: str | None = None  # the check's step it was raised in (_cases.step)
    notes: tuple[str, ...] = ()  # the exception's notes worth showing (_example.split_notes)
    example: str = ""  # the failing example, as data (_example): generated arguments, a machine's steps
    launch_failed: bool = False  # a violation: the server did not come up as it declares (IPv6)


@dataclass(frozen=True)
class PhaseFacts:
    """The facts of one phase of one check."""

    case: str
    level: str  # MUST | SHOULD
    requirement: str
    implementation: str | None
    reproduce: str
    when: str  # setup | call | teardown
    result: str  # passed | failed | skipped (pytest's)
    error: Error | None = None
    strict_should: bool = False
    known: str | None = None  # the reason the case is listed as a known failure, if it is
    known_source: str = "the known-failures file"
    server_died: bool = False  # the server process the check talks to exited during this phase
    server_exit: int | None = None  # its exit status, if known
    server_output: str = ""  # its last lines of output


@dataclass(frozen=True)
class Verdict:
    outcome: str  # pass | fail | error | xfail | skip | stale
    result: str  # what pytest's report should say: passed | failed | skipped
    lines: tuple[str, ...] = ()  # the failure message; empty: keep pytest's own report
    xfail_reason: str | None = None
    properties: tuple[tuple[str, str], ...] = field(default=())  # recorded on the report

    @property
    def message(self) -> str:
        return "\n".join(self.lines)


def decide(o: PhaseFacts) -> Verdict:
    """The verdict on one phase of one check (see the module's docstring for the rules)."""
    if o.result == "skipped":
        return Verdict(SKIP, "skipped", properties=(("verdict", SKIP),))
    if o.result == "passed":
        if o.when == "call" and o.known is not None:
            message = (f"{o.case} is listed in {o.known_source} as a known failure of {o.implementation} "
                       f"({o.known}), but it now passes: remove it from the list")
            return Verdict(STALE, "failed", (message, f"reproduce: {o.reproduce}"), properties=(
                ("verdict", STALE), ("stale", "true"),
                ("expected", f"a failure, as {o.known_source} lists it: {o.known}"),
                ("observed", "it passes: remove it from the list")))
        return Verdict(PASS, "passed")  # no property: JUnit XML shows the teardown's, even after a failure

    error = o.error or Error(OTHER)
    # what failed: a violation, or why the check could not judge.  A socket error after the
    # server exited mid-check is the server's violation: every case needs it to keep serving.
    died_first = error.kind in (OS_ERROR, PROCESS_GONE) and o.when == "call" and o.server_died
    props: list[tuple[str, str]] = [("failure", VIOLATION if died_first else error.kind)]
    expected = observed = None
    if error.kind == VIOLATION:
        expected, observed = error.expected, error.observed
        if error.launch_failed:
            props.append(("launch_failed", "true"))
    elif error.kind == LAUNCH:
        expected = "the server to start and become ready, as its declaration says, so that the check can run"
        observed = error.message
        props.append(("launch_failed", "true"))
    elif error.kind in (OS_ERROR, PROCESS_GONE) and o.when == "call":
        expected, observed = _describe_unexpected(error)
        if error.step:
            props.append(("step", error.step))
    outcome = FAIL if o.when == "call" or expected is not None else ERROR

    lines: tuple[str, ...] = ()
    died = o.when == "call" and o.server_died
    status = "" if o.server_exit is None else f" (status {o.server_exit})"
    if died:
        props += [("server_exit", "" if o.server_exit is None else str(o.server_exit)),
                  ("server_output", o.server_output)]
    if expected is not None:
        props += [("expected", expected), ("observed", observed)]
        if error.example:
            props.append(("example", error.example))
        if error.notes:
            props.append(("notes", "\n".join(error.notes)))
        body = [f"{o.case} ({o.level}) failed for {o.implementation or '?'}",
                f"requirement: {o.requirement}", f"expected: {expected}", f"observed: {observed}"]
        if error.example:
            body.append(example_line(error.example))
        body += error.notes
        if died:
            body.append(f"the server process exited{status} during the check; its last output:")
            body += [f"    | {line}" for line in (o.server_output or "(no output)").splitlines()]
        body.append(f"reproduce: {o.reproduce}")
        lines = tuple(body)

    if outcome == FAIL and o.when == "call" and o.known is not None:
        return _xfail(f"known failure: {o.known}", lines, props)
    if outcome == FAIL and o.level == "SHOULD" and not o.strict_should:
        return _xfail(SHOULD_REASON, lines, props)
    return Verdict(outcome, "failed", lines, properties=(("verdict", outcome), *props))


def example_line(example: str) -> str:
    """``failing example: ...``: generated arguments on the line, a machine's steps below it."""
    if "\n" in example:
        return "failing example:\n" + "\n".join(f"    {line}" for line in example.splitlines())
    return f"failing example: {example}"


def _xfail(reason: str, lines, props) -> Verdict:
    return Verdict(XFAIL, "skipped", lines, reason, (("verdict", XFAIL), *props))


def _describe_unexpected(error: Error) -> tuple[str, str]:
    """Expected and observed for an exception the check did not expect (an OSError, or the
    server process gone while the check inspected it)."""
    where = f"while {error.step}: " if error.step else ""
    if error.kind == PROCESS_GONE:
        what = f"the server process exited ({error.message})" if error.message else "the server process exited"
        expected = "the server process to keep running while the check inspects it"
    else:
        what = _OS_ERRORS.get(error.type_name, "a socket operation failed")
        what += f" ({error.type_name or 'OSError'}: {error.message})" if error.message else f" ({error.type_name})"
        expected = "the step to succeed" if error.step else "the check's socket operations to succeed"
    return expected, where + what


def worse(a: str, b: str) -> str:
    """The worse of two outcomes (the first of equals): a group of cases in the matrix shows
    the worst of theirs, so a group that passed somewhere shows ``pass``, not ``skip``."""
    return b if ORDER[b] < ORDER[a] else a


def case_outcome(so_far: str, phase: str) -> str:
    """A case's outcome after one more of its phases (setup, call, teardown, in order).  A
    passed phase adds nothing: the teardown that passes after a skipped setup or call leaves
    the case skipped.  Otherwise the worse tells the case's story, the first of equals."""
    if so_far == PASS:
        return phase
    return so_far if phase == PASS else worse(so_far, phase)


# --- known failures ------------------------------------------------------------------------

def parse_known_failures(text: str) -> dict[tuple[str, str], str]:
    """``{(implementation or "*", case): reason}`` from a known-failures TOML file's text;
    ValueError if it is not one."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(str(exc)) from None
    known = {}
    for entry in data.get("known-failure", []):
        if not isinstance(entry, dict) or "case" not in entry or "reason" not in entry:
            raise ValueError(f"every [[known-failure]] needs case and reason: {entry}")
        known[(str(entry.get("implementation", "*")), str(entry["case"]))] = str(entry["reason"])
    return known


def known_reason(known: dict[tuple[str, str], str], implementation: str | None, case: str) -> str | None:
    """The reason ``case`` is listed as a known failure of ``implementation``, or None."""
    if implementation is None:
        return None
    return known.get((implementation, case), known.get(("*", case)))
