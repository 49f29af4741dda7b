"""Evidence: what a case observed, as small facts a diagnosis can reason over.

Theory of operation
-------------------
The wire trace records what happened for a person to read; the evidence records the same
observations as data, for ``_diagnosis`` to reason over.  A fact is a plain dict with a
``fact`` kind and a few numbers: per exchange, how many bytes went each way, how what came
back differs from what was sent and how the wait ended; per check, what it measured (a count
that grew, a client left waiting, a datagram cut short).  The client helpers record their
facts themselves (:func:`stream`, :func:`quiet`, ...); a check adds its own with
:func:`observe`.  The plugin starts a new :class:`Evidence` with each case's call and puts
it in the case's report when the case fails.  Evidence never decides a verdict.

Bounded: a case keeps its first :data:`HEAD` facts and, after them, only the notable ones
(something went wrong) up to :data:`LIMIT`; the rest are counted.
"""

from __future__ import annotations

import threading
import time

from ._per_case import PerCase

# --- the kinds of fact, and their fields --------------------------------------------------
#: one exchange on a connection: ``sent``, ``want`` (bytes awaited), ``got``, ``ended`` (how the
#: wait ended: ``_outcomes``), ``half_closed`` (the client had shut down its write side),
#: ``paused`` (seconds the client read nothing after its half-close), ``pushed`` (bytes it had
#: pushed unread before), ``first`` (the connection's first exchange), ``elapsed``, ``cmp``
#: (:func:`compare`), ``newline_cut`` (what came back ends where a line ends and what is
#: missing holds no newline), ``who``
STREAM = "stream"
#: a quiet window: ``got`` (bytes that arrived), ``head``, ``sent_before`` (bytes the client had
#: sent on the connection), ``got_before``, ``ended``, ``window``
QUIET = "quiet"
#: a push without reading: ``pushed``, ``limit``, ``blocked`` (sending stopped before the limit)
PUSH = "push"
#: many connections read at once: ``clients``, ``complete``, ``partial``, ``none``, ``closed``
CROWD = "crowd"
#: a connection attempt that failed: ``how`` (refused, timeout, other), ``opened_before``
CONNECT_FAILED = "connect-failed"
#: the client reset a connection (SO_LINGER 0)
ABORT = "abort"
#: one datagram asked: ``size``, ``verdict`` (answered, lost, wrong), ``got`` (its answer's size),
#: ``cmp`` (of the answer with the datagram)
DATAGRAM = "datagram"
#: the server process exited during the case: ``status``, ``output`` (its last lines)
EXITED = "exited"
#: the server printed during the case (``output``: its last lines): a traceback, a warning
OUTPUT = "output"

#: the report property a failing case's facts go in (report.json: the case's ``evidence``)
PROPERTY = "evidence"
HEAD = 24
LIMIT = 64


def compare(expected: bytes, got: bytes, *, window: int = 16, search: int = 1 << 18) -> dict:
    """How ``got`` -- what came back, possibly cut short -- differs from ``expected``:
    ``{"kind": ..., "at": offset, "n": count, "bytes": repr}`` with kind

    * ``exact``: equal;
    * ``short``: ``got`` is a proper prefix of ``expected`` (``n`` bytes missing at ``at``);
    * ``long``: ``expected`` is a proper prefix of ``got`` (``n`` extra bytes at ``at``);
    * ``inserted``: ``got`` is ``expected`` with ``n`` bytes inserted at ``at``: after them it
      goes on as expected (for 64 bytes, or to its end; more may differ further on);
    * ``deleted``: ``got`` is ``expected`` with ``n`` bytes (at most ``search``) deleted at ``at``;
    * ``replaced``: from ``at`` on, ``got`` lines up with ``expected`` but ``n`` bytes differ;
    * ``other``.

    Fast on long streams: blocks are compared with ``==`` and ``find``."""
    if got == expected:
        return {"kind": "exact"}
    at = _first_difference(expected, got)
    if at == len(got):
        return {"kind": "short", "at": at, "n": len(expected) - at}
    if at == len(expected):
        return {"kind": "long", "at": at, "n": len(got) - at, "bytes": repr(got[at:at + window])}
    rest = len(got) - at
    # inserted k bytes: what follows them continues the expected stream from ``at`` (a server
    # that inserts at every write inserts again further on)
    for k in range(1, min(window, rest - 1) + 1):
        tail = got[at + k:at + k + 64]
        if tail == expected[at:at + len(tail)]:
            return {"kind": "inserted", "at": at, "n": k, "bytes": repr(got[at:at + k])}
    # deleted k bytes at the very end of what was sent (b"\r\n" echoed as b"\n")
    for k in range(1, min(window, len(expected) - at) + 1):
        if got[at:] == expected[at + k:]:
            return {"kind": "deleted", "at": at, "n": k, "bytes": repr(expected[at:at + k])}
    # deleted k bytes: ``got`` goes on with the expected stream k bytes further on (at least
    # 4 bytes must line up: fewer would be found anywhere in random data)
    probe = got[at:at + min(rest, 64)]
    k = expected.find(probe, at + 1, at + 1 + search + len(probe)) if len(probe) >= 4 else -1
    if k > at and got[at:] == expected[k:k + rest]:
        return {"kind": "deleted", "at": at, "n": k - at, "bytes": repr(expected[at:at + min(window, k - at)])}
    # replaced: the same length from ``at`` on, some bytes differ
    span = min(rest, len(expected) - at, search)
    differ = sum(1 for a, b in zip(expected[at:at + span], got[at:at + span]) if a != b)
    if differ <= max(1, span // 4):
        return {"kind": "replaced", "at": at, "n": differ, "bytes": repr(got[at:at + window])}
    return {"kind": "other", "at": at, "n": rest, "bytes": repr(got[at:at + window])}


def _first_difference(expected: bytes, got: bytes) -> int:
    n = min(len(expected), len(got))
    lo, step = 0, 1 << 16
    while lo < n and expected[lo:lo + step] == got[lo:lo + step]:
        lo += step
    hi = min(n, lo + step)
    while lo < hi and expected[lo] == got[lo]:
        lo += 1
    return lo


def newline_cut(expected: bytes, got: bytes) -> bool:
    """What came back is cut where a line ends (or is empty) and the rest holds no newline: a
    server that echoes whole lines only would leave exactly this."""
    if not expected.startswith(got) or len(got) >= len(expected):
        return False
    return (not got or got.endswith(b"\n")) and b"\n" not in expected[len(got):]


#: ways a server turns the bytes it echoes into others, told by what came back
TRANSFORMS = (
    ("crlf", lambda b: b.replace(b"\r\n", b"\n")),  # text mode's universal newlines
    ("upper", bytes.upper),
    ("lower", bytes.lower),
    ("utf8-replace", lambda b: b.decode("utf-8", "replace").encode("utf-8")),  # decoded, re-encoded
)


def transform(expected: bytes, got: bytes) -> str | None:
    """The name of the transformation that turns ``expected`` into what came back (a prefix of
    it: the echo may be cut short), if one of :data:`TRANSFORMS` does and the bytes differ."""
    expected = expected[:2 * len(got) + 16]  # enough to cover what came back, whatever the turn
    for name, turn in TRANSFORMS:
        changed = turn(expected)
        if changed != expected and got and changed.startswith(got) and not expected.startswith(got):
            return name
    return None


def stream_fact(expected: bytes | None, got: bytes, **fields) -> dict:
    """A :data:`STREAM` fact for an exchange that awaited ``expected`` (or only a count)."""
    fact = {"fact": STREAM, "got": len(got), **fields}
    if expected is not None:
        fact["cmp"] = compare(expected, got)
        kind = fact["cmp"]["kind"]
        if kind == "short":
            fact["newline_cut"] = newline_cut(expected, got)
        elif kind not in ("exact", "long") and (name := transform(expected, got)):
            fact["transform"] = name
    return fact


# --- recording ------------------------------------------------------------------------------

class Evidence:
    """The facts of one case (thread-safe: the fake upstream records from its own thread)."""

    def __init__(self) -> None:
        self.facts: list[dict] = []
        self.dropped = 0
        self._lock = threading.Lock()

    def add(self, fact: dict) -> None:
        with self._lock:
            if len(self.facts) < HEAD or (len(self.facts) < LIMIT and notable(fact)):
                self.facts.append(fact)
            else:
                self.dropped += 1

    def snapshot(self) -> list[dict]:
        with self._lock:
            return list(self.facts)


def notable(fact: dict) -> bool:
    """Something went wrong in it: the facts kept once a case has many."""
    kind = fact["fact"]
    if kind == STREAM:
        return fact.get("ended") != "complete" or fact.get("cmp", {}).get("kind", "exact") != "exact"
    if kind == QUIET:
        return bool(fact.get("got"))
    if kind == DATAGRAM:
        return fact.get("verdict") != "answered"
    return kind not in (ABORT,)


_case: PerCase[Evidence] = PerCase(Evidence)
start, stop, current = _case.start, _case.stop, _case.current  # new evidence for each case


def observe(fact: str, **fields) -> None:
    """Record a fact of the case running now (nothing outside a case)."""
    evidence = _case.now
    if evidence is not None:
        evidence.add({"fact": fact, **fields})


# --- what the client helpers record ---------------------------------------------------------

def counts(sock) -> tuple[int, int]:
    """(bytes sent, bytes received) on ``sock`` so far, as its trace lane counts them."""
    lane = getattr(sock, "_trace_lane", None)
    return (lane.sent, lane.received) if lane is not None else (0, 0)


class Exchange:
    """What an exchange on ``sock`` starts from: ``Exchange(sock, ...)`` before it,
    ``.ended(out)`` after it."""

    def __init__(self, sock, *, want: int, expected: bytes | None, half_close: bool, until_eof: bool,
                 others: int = 0) -> None:
        self.sock, self.want, self.expected, self.others = sock, want, expected, others
        self.sent_before, self.got_before = counts(sock)
        shut_at = getattr(sock, "_shut_at", None)
        self.half_closed = half_close or shut_at is not None
        self.paused = round(time.monotonic() - shut_at, 2) if shut_at is not None else 0.0
        self.until_eof = until_eof

    def ended(self, out) -> None:
        """Record the exchange's :data:`STREAM` fact (``out``: its ``_client.Exchanged``)."""
        if _case.now is None:
            return
        # half-closed only if the FIN went out: an exchange that ended first never sent it
        self.half_closed = self.half_closed and getattr(self.sock, "_shut_at", None) is not None
        expected = self.expected[:max(self.want, len(out.received))] if self.expected is not None else None
        fact = stream_fact(expected, out.received, sent=out.sent, want=self.want, ended=out.ended,
                           elapsed=round(out.elapsed, 3), first=self.sent_before == self.got_before == 0)
        if expected is not None and self.want <= 16:
            fact["head"] = repr(expected[:16])
        if self.others:
            fact["others"] = self.others
        if out.cut:
            fact["cut"] = True
        if self.half_closed:
            fact["half_closed"] = True
            if self.paused >= 0.1:
                fact["paused"] = self.paused
            shut_at = getattr(self.sock, "_shut_at", None)
            if shut_at is not None and out.ended in ("eof", "reset"):
                fact["after_fin"] = round(max(0.0, time.monotonic() - shut_at), 3)
        if self.sent_before > self.got_before:
            fact["pushed"] = self.sent_before - self.got_before
        if self.until_eof:
            fact["until_eof"] = True
        _case.now.add(fact)


def echoed(expected: bytes, got: bytes, **fields) -> None:
    """What came back on a connection, compared with what should have (a check's own
    reading, outside an exchange)."""
    if _case.now is not None:
        _case.now.add(stream_fact(expected, got, want=len(expected), **fields))


def quiet(sock, out, *, window: float, before: tuple[int, int]) -> None:
    """A quiet window on ``sock`` ended (``out``: its ``Exchanged``; ``before``: the counts then)."""
    observe(QUIET, got=len(out.received), head=repr(out.received[:16]) if out.received else "",
            sent_before=before[0], got_before=before[1], ended=out.ended, window=window)


def pushed(sent: int, *, limit: int, blocked: bool, reset: bool, cut: bool) -> None:
    """A push without reading ended: ``blocked`` (sending stopped before the limit), or the
    connection was ``reset``, or the case's budget ``cut`` it short."""
    extra = {"reset": True} if reset else {"cut": True} if cut else {}
    observe(PUSH, pushed=sent, limit=limit, blocked=blocked and not reset and not cut, **extra)


#: how many of a crowd's wrong echoes get a stream fact each
CROWD_EXAMPLES = 3


def crowd(expect: list[int], got: list[bytes], *, matching: list[bytes] | None, closed: list[bool]) -> None:
    """Many connections read at once; given what each should get back (``matching``), the
    first few that did not get it are recorded as stream facts too."""
    observe(CROWD, clients=len(expect), complete=sum(len(g) >= e for g, e in zip(got, expect)),
            none=sum(not g for g, e in zip(got, expect) if e))
    if _case.now is None or matching is None:
        return
    wrong = [i for i, (g, m) in enumerate(zip(got, matching)) if g != m][:CROWD_EXAMPLES]
    for i in wrong:
        _case.now.add(stream_fact(matching[i], got[i], want=len(matching[i]), ended="eof" if closed[i] else "stalled",
                                  others=len(expect) - 1))


def connect_failed(exc: BaseException, opened_before: int) -> None:
    how = "refused" if isinstance(exc, ConnectionRefusedError) else "timeout" if isinstance(exc, TimeoutError) \
        else type(exc).__name__
    observe(CONNECT_FAILED, how=how, opened_before=opened_before)


def datagram(answer) -> None:
    fact = {"size": len(answer.sent), "verdict": answer.verdict, "tries": answer.tries}
    if answer.got is not None:
        fact["got"] = len(answer.got)
        if answer.verdict != "answered":
            fact["cmp"] = compare(answer.sent, answer.got)
    observe(DATAGRAM, **fact)
