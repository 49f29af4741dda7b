"""Conformance cases: a stable ID, a one-line requirement and a level, per check.

A check is a test function declared with :func:`echo_conformance.check.case` (through
:func:`declare`, which records the case and what it applies to); the plugin parametrizes it
over the matching implementations.  A check reports a violation by raising
:class:`Violation` (via :func:`require`), whose message says what was expected and what was
observed.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from ._bounds import Bounds

MUST, SHOULD = "MUST", "SHOULD"

# What a MUST-level case guards against: a case is MUST only for one of these; any other
# strictness is SHOULD (reported, not fatal without --strict-should).
RFC862 = "RFC 862 behaviour"
DATA = "lost or corrupted data"
MISDELIVERY = "misdelivered data"
HANG = "a hang"
GROWTH = "unbounded resource growth"
PROMISE = "a broken declared promise"
GUARDS = (RFC862, DATA, MISDELIVERY, HANG, GROWTH, PROMISE)


@dataclass(frozen=True)
class Case:
    id: str
    requirement: str
    level: str = MUST
    models: tuple[str, ...] = ("serial", "concurrent")
    kinds: tuple[str, ...] = ("echo", "relay")
    transport: str = "tcp"
    #: the check starts, stops or inspects the server process (impossible with --target);
    #: derived by :func:`declare` from the check taking the ``launch`` fixture
    needs_process: bool = False
    #: the check runs on a server of its own rather than the one shared per worker
    fresh_server: bool = False
    #: a relay is tested on a fresh server in front of an upstream that echoes each chunk
    #: ``Bounds.upstream_delay`` late: what the relay does with its client's EOF then always
    #: comes before the echo of the last data (half-close cases: a relay that closes at the
    #: client's EOF loses that echo in every run, not only when it is quicker than the echo)
    delayed_upstream: bool = False
    #: the IP version the case talks over: "ipv4" (127.0.0.1) or "ipv6" (::1, for servers that
    #: declare it)
    ip: str = "ipv4"
    #: the case applies only to implementations that declare a capacity (a fixed pool)
    needs_capacity: bool = False
    #: MUST cases: which of GUARDS the case guards against
    guards: str = ""
    #: the concrete defect it catches (MUST), or why a failure is not fatal (SHOULD)
    defect: str = ""
    #: the check takes seconds, not milliseconds: it is scheduled first, so that parallel
    #: workers do not end the run waiting on one that drew a heavy check last
    heavy: bool = False
    #: the case's time budget (``_budget``), declared beside the case from its module's own
    #: constants: seconds at --timeout-scale 1 (stretched by it), or ``lambda bounds,
    #: connections: ...`` (the run's scaled bounds, the connections the server holds at once)
    #: returning scaled seconds; None: ``Bounds.case_budget``.  Its comment says what a correct
    #: server needs ("quiet": the project's 2-core machine alone; "loaded": its load at 8-46)
    budget: float | Callable[[Bounds, int], float] | None = None

    def budget_for(self, bounds: Bounds, connections: int) -> float:
        """The case's time budget in seconds, under the run's (scaled) ``bounds``, for a server
        that holds ``connections`` at once."""
        if self.budget is None:
            return bounds.case_budget
        if callable(self.budget):
            return self.budget(bounds, connections)
        return self.budget * bounds.scale

    def applies_to(self, impl) -> str | None:
        """None if the case applies to ``impl``, else the reason it does not."""
        unmet = self.unmet(impl)
        return unmet[2] if unmet else None

    def unmet(self, impl) -> tuple[str, object, str] | None:
        """None if the case applies to ``impl``; else the first declaration that keeps it from
        applying: ``(field, value, reason)``, where ``value`` (of ``_registry.DECLARATIONS``'
        ``field``) would make it apply ("N": any capacity)."""
        if impl.kind not in self.kinds:
            return "kind", self.kinds[0], f"{self.id} applies to {'/'.join(self.kinds)} servers, not {impl.kind}"
        if impl.model not in self.models:
            return "model", self.models[0], f"{self.id} applies to the {'/'.join(self.models)} model, not {impl.model}"
        if self.transport not in impl.transports:
            return ("transports", (*impl.transports, self.transport),
                    f"{self.id} needs {self.transport.upper()}; {impl.name} declares {','.join(impl.transports)}")
        if self.ip == "ipv6" and not impl.ipv6:
            return "ipv6", True, f"{self.id} needs IPv6; {impl.name} does not declare ipv6"
        if self.needs_capacity and impl.capacity is None:
            return "capacity", "N", f"{self.id} applies to servers that declare a capacity; {impl.name} declares none"
        return None

CASES: dict[str, Case] = {}


def declare(case_id: str, requirement: str, **options):
    """Declare the decorated test function as conformance case ``case_id``.  A check that
    takes the ``launch`` fixture starts servers of its own: it needs the process (so it is
    skipped under --target), and a shared or fresh ``endpoint`` means nothing to it."""

    def decorate(fn):
        uses_launch = "launch" in inspect.signature(fn).parameters
        if uses_launch and options.get("fresh_server"):
            raise ValueError(f"{case_id}: fresh_server applies to the endpoint fixture, not to launch")
        if "needs_process" in options:
            raise ValueError(f"{case_id}: needs_process is derived (a check that takes launch needs it)")
        spec = Case(case_id, requirement, needs_process=uses_launch, **options)
        if spec.level == MUST and spec.guards not in GUARDS:
            raise ValueError(f"{case_id}: a MUST case names what it guards against, one of {GUARDS}")
        if not spec.defect:
            raise ValueError(f"{case_id}: name the defect it catches (MUST) or why failing is not fatal (SHOULD)")
        if case_id in CASES and CASES[case_id] is not getattr(fn, "conformance_case", None):
            raise ValueError(f"duplicate conformance case ID {case_id}")
        CASES[case_id] = spec
        fn.conformance_case = spec
        return fn

    return decorate


def twin(fn, case_id: str, requirement: str, **changes):
    """The same check under another case ID and declarations (e.g. over IPv6)."""
    spec = replace(fn.conformance_case, id=case_id, requirement=requirement, **changes)
    if case_id in CASES:
        raise ValueError(f"duplicate conformance case ID {case_id}")

    @functools.wraps(fn)
    def check(*args, **kwargs):
        return fn(*args, **kwargs)

    check.__name__ = "test_" + case_id.replace(".", "_").replace("-", "_")
    check.conformance_case = CASES[case_id] = spec
    return check


class Violation(AssertionError):
    """A server did not do what a case requires."""

    def __init__(self, expected: str, observed: str) -> None:
        super().__init__(f"expected: {expected}\nobserved: {observed}")
        self.expected, self.observed = expected, observed


def require(condition: bool, *, expected: str, observed) -> None:
    """Raise a :class:`Violation` unless ``condition``; ``observed`` may be a callable, so
    expensive descriptions are only built on failure."""
    if not condition:
        raise Violation(expected, observed() if callable(observed) else observed)


@contextlib.contextmanager
def step(what: str):
    """Name the step a check is in (``with step("connecting client 2"): ...``): an OSError
    or other unexpected exception raised inside carries it as ``conformance_step``, so the
    verdict says where it happened.  The innermost step wins."""
    try:
        yield
    except Exception as exc:
        if getattr(exc, "conformance_step", None) is None:
            try:
                exc.conformance_step = what
            except AttributeError:  # pragma: no cover - exceptions that refuse attributes
                pass
        raise
