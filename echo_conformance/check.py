"""What a check imports: the one module of the suite that the modules of ``conformance/`` use.

Writing a check
---------------
A check is a function ``test_*`` in its module (``conformance/test_*.py``: one module per
group of case IDs), declared as a case with :func:`case`::

    from echo_conformance.check import HANG, case, roundtrip

    @case("tcp.echo.unbuffered", "Data without a trailing newline is echoed while the connection "
          "stays open.", guards=HANG, defect="data held back until a newline: the client waits forever")
    def test_tcp_echo_unbuffered(impl, endpoint, bounds):
        roundtrip(endpoint, bounds, [b"hello"])

* The case: a stable ID (reports and known-failure files name it), the requirement in one
  sentence, and for a MUST case what it guards against (one of ``GUARDS``: ``RFC862``, ``DATA``,
  ``MISDELIVERY``, ``HANG``, ``GROWTH``, ``PROMISE``) and the defect it catches; a SHOULD case
  (``level=SHOULD``) says why a failure is not fatal.  Whom it applies to and how it runs are
  options (``models``, ``kinds``, ``transport``, ``ip``, ``fresh_server``, ``budget``, ...: the
  fields of ``_cases.Case``); ``twin`` repeats a check under another ID (e.g. over IPv6), with
  its budget unless it declares another.
* The fixtures: ``impl`` (what the server declares: model, capacity...), ``endpoint`` (the
  address of a running server, shared by the checks of one worker unless ``fresh_server``),
  ``launch`` (a check that takes it starts servers of its own, and is skipped under --target),
  ``bounds`` (the run's :class:`Bounds`, stretched by --timeout-scale) and ``check_budget``.
* Talking to the server: only with the client below (``connect``, ``exchange``,
  ``listen_quietly``, ``fill_without_reading``, ``gather``...; ``udp_socket`` and ``ask`` for
  UDP).  Each wait is bounded by a field of ``bounds`` and says how it ended (``COMPLETE``,
  ``EOF``, ``RESET``, ``STALLED``...).  A check waits for no time of its own: a new time is a
  field of ``Bounds`` (``_bounds.py``), with what it bounds and its margin; a case that needs
  more than ``Bounds.case_budget`` declares its own (``budget=`` seconds, or ``lambda bounds,
  connections: ...``, from the module's constants), with what a correct server needs.
* The verdict: ``require(condition, expected=..., observed=...)`` fails the case with what was
  expected and what was observed (``observed`` may be a callable: it is built on failure
  only); ``describe_stream`` is the usual byte-stream difference, ``roundtrip`` and ``served``
  the usual "it gets its echo", ``caught_up`` "what it pushed unread comes back once it reads".
  A pass rests on something the server did, never on silence alone: a dead server is silent
  too (``tests/test_controls.py``).  ``with step("..."):`` names where an unexpected error came from.
* The evidence: the client helpers record what each exchange saw (``_evidence``); a check
  records what it measured itself with ``observe(kind, **fields)`` (a count that grew, a
  client left waiting), so that ``_diagnosis`` can name the mistake behind a failure.
* A property check: ``@given`` below ``@case``; it takes ``check_budget`` and runs each example
  in ``with check_budget.example(key):``.  ``case`` gives it the suite's Hypothesis settings and
  its budget for after a failure (``_expect.CheckBudget``); a state machine runs with
  ``check_settings()``.
* The proof: a deliberately faulty server in ``tests/faulty`` that the check catches, with the
  case in its ``must_fail`` list in ``tests/faulty/manifest.toml``; and every bundled server
  still passes.
"""

from __future__ import annotations

from ._address import Address
from ._bounds import IDLE_SHARE, IDLE_WINDOWS, LEAK_PER_CONNECTION, PACE, Bounds, leak_allowance
from ._cases import (DATA, GROWTH, GUARDS, HANG, MISDELIVERY, MUST, PROMISE, RFC862, SHOULD, Violation, declare,
                     require, step, twin)
from ._client import (MSG_MORE, Exchanged, MiB, abort, burst, chunked, connect, exchange, fill_without_reading, gather,
                      listen_quietly, pseudo_random)
from ._diff import describe_stream
from ._evidence import echoed, observe
from ._expect import RAN_OUT, READ_BACK, CheckBudget, Pace, caught_up, property_check, roundtrip, served
from ._hypothesis import check_settings
from ._launch import LaunchError
from ._outcomes import ANSWERED, COMPLETE, EOF, LOST, RESET, SLOW, STALLED, TIMEOUT, WRONG
from ._process import busy_windows, memory, settle, steady, wait_for
from ._registry import DEFAULT_CONNECTIONS
from ._udp import MAX_IPV4, TRIES, ask, collect, multiset_difference, size_list, udp_socket
from ._upstream import ANSWER, CLOSE, ECHO, REFUSE, FakeUpstream


def case(case_id: str, requirement: str, **options):
    """Declare the decorated check as conformance case ``case_id`` (``_cases.declare`` checks
    the options), with what a property check needs (``_expect.property_check``)."""
    declaration = declare(case_id, requirement, **options)
    return lambda check: declaration(property_check(check))


__all__ = [
    # declaring a case
    "case", "twin", "MUST", "SHOULD", "GUARDS", "RFC862", "DATA", "MISDELIVERY", "HANG", "GROWTH", "PROMISE",
    # the verdict, and the evidence a diagnosis reads
    "require", "step", "Violation", "describe_stream", "roundtrip", "served", "caught_up", "READ_BACK", "observe", "echoed",
    # the TCP client, and how its waits end
    "connect", "exchange", "listen_quietly", "fill_without_reading", "burst", "gather", "abort", "chunked",
    "pseudo_random", "Exchanged", "COMPLETE", "EOF", "RESET", "STALLED", "SLOW", "WRONG", "TIMEOUT", "RAN_OUT",
    "MiB", "MSG_MORE",
    # the UDP client
    "udp_socket", "ask", "collect", "multiset_difference", "size_list", "ANSWERED", "LOST", "MAX_IPV4", "TRIES",
    # property checks
    "CheckBudget", "check_settings", "Pace",
    # bounds and leaks
    "Bounds", "LEAK_PER_CONNECTION", "leak_allowance", "PACE", "IDLE_SHARE", "IDLE_WINDOWS",
    # the server's process tree, and servers a check starts
    "memory", "settle", "steady", "wait_for", "busy_windows", "Address", "LaunchError", "DEFAULT_CONNECTIONS",
    # the fake upstream relays are tested against
    "FakeUpstream", "ECHO", "CLOSE", "REFUSE", "ANSWER",
]
