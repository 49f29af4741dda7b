"""A case's time budget: one deadline, set when the case's call begins, that every blocking
helper of the suite's client clamps its waits to.

Theory of operation
-------------------
Every wait of the client has its own bound (``_bounds``): a stall, a quiet window, a loss
window.  Those bound one wait; a case that waits again and again (a retry loop, hundreds
of churn cycles against a server that gets slower with each, Hypothesis examples) is bounded only by
their sum.  The budget bounds the case: the plugin starts it when the case's call begins
(:func:`running`), with the allowance the case declares (``Case.budget_for``), and the helpers
(``_client.connect``/``exchange``/``listen_quietly``/``fill_without_reading``/``gather``,
``_udp.ask``/``collect``, ``Server.terminate``) never wait past its deadline.  A wait the
deadline cut short ends the way it would have ended at its own bound (a stall, a lost
datagram, a quiet window that elapsed) and marks the budget as run out; the case then fails,
with the check's own message and :meth:`Budget.note` -- and if the check passed anyway (a
negative wait cut short proves nothing), with the budget's own verdict.  So a failing run,
whatever the defect, lasts at most the sum of its cases' budgets over the workers, plus the
servers' starts and stops (tests/test_speed.py adds them up).

Starting a server (``Server.start``) pauses the clock: that wait has its own bound
(``ready``), and it is counted with the servers' starts.

The budget is per case and starts afresh for each: one case's failure never shortens
another's waits, so no verdict depends on the order the cases run in.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time

_lock = threading.Lock()


class Budget:
    """The time one case may spend; :data:`NONE` outside a case (no deadline)."""

    def __init__(self, seconds: float, case: str = "") -> None:
        self.seconds, self.case = seconds, case
        self.deadline = time.monotonic() + seconds
        self.ran_out = False  #: a wait was cut short by the deadline
        self.where = ""  #: the helper whose wait it cut first
        self._paused = 0
        self._paused_at = 0.0

    def left(self) -> float:
        """Seconds until the deadline (infinite while paused or outside a case)."""
        if self._paused:
            return math.inf
        return self.deadline - time.monotonic()

    def until(self, deadline: float) -> float:
        """The earlier of ``deadline`` (a monotonic time) and the case's deadline."""
        return deadline if self._paused else min(deadline, self.deadline)

    def expired(self, where: str) -> bool:
        """True (and the budget marked as run out, by ``where``) once the deadline has passed."""
        if self._paused or time.monotonic() < self.deadline:
            return False
        self.mark(where)
        return True

    def cuts(self, deadline: float) -> bool:
        """Whether the case's deadline comes before ``deadline`` (a wait to ``deadline`` would
        be cut short)."""
        return not self._paused and self.deadline < deadline

    def mark(self, where: str) -> None:
        if not self.ran_out:
            self.ran_out, self.where = True, where

    def note(self) -> str:
        return f"(the case's time budget of {self.seconds:g} s ran out)"

    @contextlib.contextmanager
    def paused(self):
        """The clock stops meanwhile (a server starting: the ready bound governs that wait)."""
        with _lock:
            if not self._paused:
                self._paused_at = time.monotonic()
            self._paused += 1
        try:
            yield
        finally:
            with _lock:
                self._paused -= 1
                if not self._paused:
                    self.deadline += time.monotonic() - self._paused_at


class _Unlimited(Budget):
    def __init__(self) -> None:
        super().__init__(math.inf)

    def mark(self, where: str) -> None:  # outside a case nothing runs out
        pass


#: Outside a case (the project's own tests calling helpers, a fixture's setup): no deadline.
NONE = _Unlimited()
_current: Budget = NONE


def current() -> Budget:
    """The budget of the case running now (:data:`NONE` outside one)."""
    return _current


@contextlib.contextmanager
def running(seconds: float, case: str = ""):
    """Run a case's call under a budget of ``seconds``; yields the :class:`Budget`."""
    global _current
    budget, previous = Budget(seconds, case), _current
    _current = budget
    try:
        yield budget
    finally:
        _current = previous
