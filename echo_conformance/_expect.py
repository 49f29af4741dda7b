"""Expectations several checks share, each raising a Violation that says what was expected
and what was observed; and a failing check's time budget (:class:`CheckBudget`)."""

from __future__ import annotations

import contextlib
import functools
import inspect
import time

import pytest
from hypothesis import is_hypothesis_test, reject
from hypothesis.control import current_build_context
from hypothesis.errors import FlakyStrategyDefinition, InvalidArgument

from . import _budget, _example
from ._cases import Violation, require
from ._evidence import observe
from ._client import FILLER, connect, exchange
from ._diff import describe_stream
from ._hypothesis import check_settings
from ._outcomes import COMPLETE, EOF, SLOW, STALLED, TIMEOUT

#: How an exchange ends when a wait ran out (rather than the server showing a wrong answer).
RAN_OUT = (STALLED, SLOW, TIMEOUT)


def roundtrip(address, bounds, chunks: list[bytes], *, half_close: bool = False, who: str = "the client",
              budget: CheckBudget | None = None) -> None:
    """A new connection sends ``chunks`` while reading, and gets back exactly their bytes
    (then, with ``half_close``, EOF after its own half-close)."""
    payload = b"".join(chunks)
    with connect(address, bounds) as sock:
        out = exchange(sock, chunks, matching=payload, bounds=bounds, half_close=half_close,
                       until_eof=half_close, stall=budget.stall if budget else None)
    ok = out.received == payload and out.ended == (EOF if half_close else COMPLETE)
    if not ok and budget is not None and out.ended in RAN_OUT:
        budget.ran_out()
    require(ok, expected=f"{who} gets back exactly the {len(payload):,} bytes it sent"
                         + (", then EOF" if half_close else ""),
            observed=lambda: f"{describe_stream(payload, out.received, who=who)}\n"
                             f"  how it ended: {out.describe()} after {out.elapsed:.2f} s")


def served(sock, bounds, payload: bytes, who: str, *, stall: float | None = None):
    """An open connection sends ``payload`` and gets its echo; returns the exchange."""
    out = exchange(sock, [payload], matching=payload, bounds=bounds, stall=stall)
    require(out.received == payload and out.ended == COMPLETE,
            expected=f"{who} gets its echo",
            observed=lambda: f"{describe_stream(payload, out.received, who=who)}\n  how it ended: {out.describe()} "
                             f"after {out.elapsed:.2f} s")
    return out


#: Seconds per MiB a case's budget allows ``caught_up`` to read back what was pushed (20 MiB/s:
#: a relay's 46 MiB, read back under load, ran out of a budget without it).
READ_BACK = 0.05


def caught_up(sock, bounds, pushed: int, who: str):
    """A client that pushed ``pushed`` filler bytes without reading (``fill_without_reading``)
    reads now, and gets every one of them back: the server that stopped reading it caught up.
    A blocked send alone proves nothing: a server that never reads, or is gone, blocks it too."""
    filler = FILLER * pushed
    out = exchange(sock, [], matching=filler, bounds=bounds)
    require(pushed > 0 and out.received == filler and out.ended == COMPLETE,
            expected=f"{who}, reading at last, gets back all the bytes it pushed unread",
            observed=lambda: "it could push nothing" if not pushed else
                             f"{describe_stream(filler, out.received, who=who)}\n  how it ended: {out.describe()} "
                             f"after {out.elapsed:.2f} s")
    return out


# --- a steady rate ---------------------------------------------------------------------------

class Pace:
    """Work a case does item by item (connections opened, cycles run), each due by a steady
    rate: item ``i`` (from 0) within ``base + i * each`` seconds of the start.  The case's
    budget is built the same way (``base + items * each``), so a server slower than that could
    not finish anyway: the case fails as soon as the server falls behind, with how far it got,
    instead of at the end of its budget (a process started per connection fails in seconds,
    not in a quarter of a minute)."""

    def __init__(self, base: float, each: float, what: str, total: int) -> None:
        self.base, self.each, self.what, self.total = base, each, what, total
        self.start = time.monotonic()

    def keep(self, done: int) -> None:
        """Fail the case if item ``done`` (``done`` items finished so far) is late."""
        took = time.monotonic() - self.start
        due = self.base + done * self.each
        if took <= due:
            return
        observe("pace", what=self.what, done=done, of=self.total, elapsed=round(took, 2), each=self.each)
        require(False, expected=f"{self.total:,} {self.what} at a steady rate: each within {self.each * 1000:g} ms "
                                f"(after a first {self.base:g} s)",
                observed=f"{done:,} of {self.total:,} {self.what} after {took:.2f} s: at that rate they would take "
                         f"{took / max(done, 1) * self.total:,.0f} s")


# --- a failing check's budget --------------------------------------------------------------

class CheckBudget:
    """The time one property check (Hypothesis) may spend once it has failed.

    The first failing example decides the verdict, with the full bounds.  What follows only
    picks the counterexample to show: Hypothesis shrinking it, each candidate a full run
    against the server, hundreds of them.  A failure seen at once (a wrong byte, an early
    EOF, a reset) costs milliseconds per candidate, so it still shrinks to a minimal example;
    a wait that runs out (a stall, a slow echo, a lost datagram) would cost its whole bound
    per candidate, minutes in all.  So:

    * a first failure that is a wait running out is final: Hypothesis is stopped, and the
      check fails with that example, found with the full bounds;
    * after a first failure seen at once, later examples run with waits of ``bounds.confirm``
      (a datagram is sent once), and one whose shortened wait runs out proves nothing: it is
      rejected (``hypothesis.reject``); once ``bounds.shrink_budget`` has passed, Hypothesis is
      stopped and the check fails with the smallest failing example found by then.

    Use one per check (the ``check_budget`` fixture: :func:`property_check` then applies
    :func:`budgeted`) and run each example inside :meth:`example` (a state machine calls
    :meth:`start` when a run begins and :meth:`record` when it fails).  Failed examples are
    remembered, so Hypothesis replaying one to report it gets the same failure at once.

    The case's own time budget (``_budget``) caps all of it: once it has run out, Hypothesis
    is stopped before the next example, and the check fails with the smallest failure found by
    then (or, if every example so far passed, with the budget's own verdict)."""

    def __init__(self, bounds) -> None:
        self.bounds = bounds
        self.failed_at: float | None = None
        self.final = False  # the first failure was a wait that ran out
        self.out_of_time = False  # the case's time budget stopped Hypothesis
        self._failures: dict = {}  # example -> the exception it failed with
        self._examples = 0  # examples started

    @property
    def failing(self) -> bool:
        return self.failed_at is not None

    @property
    def shortened(self) -> bool:
        """Waits are shortened: the check has failed (and Hypothesis is not replaying the
        example it reports)."""
        return self.failing and not _final_replay()

    @property
    def spent(self) -> bool:
        """No more examples: the first failure was a wait that ran out, or the shrink budget
        has passed."""
        return self.shortened and (self.final or time.monotonic() - self.failed_at > self.bounds.shrink_budget)

    @property
    def stall(self) -> float:
        """How long an exchange may make no progress: the progress bound, or ``confirm``
        while the check is shrinking a failure."""
        return self.bounds.confirm if self.shortened else self.bounds.progress

    def wait(self, full: float) -> float:
        return min(full, self.bounds.confirm) if self.shortened else full

    def tries(self, full: int) -> int:
        return 1 if self.shortened else full

    def fail(self) -> None:
        """Record that the check has failed (its verdict is known from now on)."""
        if self.failed_at is None:
            self.failed_at = time.monotonic()

    def ran_out(self) -> None:
        """Call when the example at hand fails because a wait ran out, before failing it."""
        if self.shortened:
            reject()  # a shortened wait ran out: inconclusive, not a counterexample
        self.final = True

    def start(self) -> None:
        """Stop Hypothesis before the next example if the budget is spent, or the case's
        time budget has run out."""
        if self.spent:
            raise _Enough()
        case = _budget.current()
        if case.left() <= 0 and not _final_replay():
            self.out_of_time = True
            if not self._failures:
                self._failures[_NoFailure(self._examples)] = Violation(
                    expected=f"its examples run within the case's time budget of {case.seconds:g} s",
                    observed=f"the budget ran out after {self._examples} example(s), none of which failed "
                             "(each took far longer than a correct server needs)")
            raise _Enough()
        self._examples += 1

    def record(self, example, exc: BaseException) -> None:
        """``example`` (hashable, its repr shown in the verdict) failed with ``exc``."""
        self._failures.setdefault(example, exc)
        if getattr(exc, _example.ATTRIBUTE, None) is None:
            with contextlib.suppress(AttributeError):  # an exception that refuses attributes
                setattr(exc, _example.ATTRIBUTE, example)  # a property check's names it better (property_check)
        self.fail()

    @contextlib.contextmanager
    def example(self, key):
        """Run one Hypothesis example, identified by ``key`` (its hashable arguments)."""
        if key in self._failures:
            raise self._failures[key]
        self.start()
        try:
            yield
        except (Violation, OSError) as exc:
            self.record(key, exc)
            raise

    def verdict(self, why: str = "") -> BaseException:
        """The failure to report when Hypothesis was stopped: the smallest example's."""
        example, exc = min(self._failures.items(), key=lambda item: len(repr(item[0])))
        why = why or ("its first failure was a wait that ran out, and every further example would wait as long"
               if self.final else f"the case's time budget of {_budget.current().seconds:g} s ran out"
               if self.out_of_time else f"it has shrunk the failure for {self.bounds.shrink_budget:g} s")
        notes = getattr(exc, "__notes__", None)
        if notes is None:
            notes = exc.__notes__ = []
        notes.append(f"(Hypothesis was stopped: {why})")
        return exc


class _NoFailure(int):
    """The key of the failure recorded when the case's budget ran out before any example failed."""

    def __repr__(self) -> str:
        return f"none (the time budget ran out after {int(self)} passing example(s))"


class _Enough(KeyboardInterrupt):
    """Stops Hypothesis, so the check can fail with the failure its budget recorded (see
    :func:`budgeted`, which catches it: it never reaches pytest).  A KeyboardInterrupt because
    that is what Hypothesis lets through untouched: any other exception ends the example
    as a test case, and a state machine run ended earlier than an earlier run with the same
    start is reported as flaky."""


def property_check(check):
    """What a property check needs, given to every check by :func:`echo_conformance.check.case`:
    a Hypothesis test (``@given``) runs with the suite's settings (``check_settings``), and a
    check that takes the ``check_budget`` fixture is :func:`budgeted`.  Other checks are
    returned as they are."""
    if is_hypothesis_test(check):
        check = check_settings()(check)
        _names_its_example(check)
    if "check_budget" in inspect.signature(check).parameters:
        check = budgeted(check)
    return check


def _names_its_example(check) -> None:
    """Record on the exception an example fails with the arguments Hypothesis generated for it
    (not the check's fixtures), as ``_example.ATTRIBUTE``: the verdict shows them as data.
    Hypothesis calls the test it wraps through ``check.hypothesis.inner_test``, which it
    documents as replaceable by such a wrapper."""
    fixtures = set(inspect.signature(check).parameters)  # @given's wrapper takes the fixtures only
    inner = check.hypothesis.inner_test

    @functools.wraps(inner)
    def example(*args, **kwargs):
        try:
            return inner(*args, **kwargs)
        except Exception as exc:
            with contextlib.suppress(AttributeError):  # an exception that refuses attributes
                setattr(exc, _example.ATTRIBUTE, {k: v for k, v in kwargs.items() if k not in fixtures})
            raise

    check.hypothesis.inner_test = example


def budgeted(check):
    """Decorate a property check (above ``@given``) that uses the ``check_budget`` fixture:
    when the budget stops Hypothesis, the check fails with the failure recorded."""

    @functools.wraps(check)
    def run(*args, **kwargs):
        try:
            return check(*args, **kwargs)
        except _Enough:
            raise kwargs["check_budget"].verdict() from None
        except FlakyStrategyDefinition:
            # a replay drew other steps: the server acted differently (it had died, say), so the
            # state machine's preconditions did; the failure already seen is the verdict
            if not kwargs["check_budget"].failing:
                raise
            raise kwargs["check_budget"].verdict("replaying the failure, the server acted differently") from None

    return run


def _final_replay() -> bool:
    """True while Hypothesis replays the failing example it is about to report."""
    try:
        return bool(current_build_context().is_final)
    except InvalidArgument:  # not inside a Hypothesis example
        return False


@pytest.fixture(name="check_budget")
def check_budget_fixture(bounds) -> CheckBudget:
    """``check_budget``: one :class:`CheckBudget` per check, shared by all its Hypothesis
    examples (the plugin provides it to every check)."""
    return CheckBudget(bounds)
