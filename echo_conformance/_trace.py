"""What happened on the wire: a bounded, always-on trace of every check's connections.

The shared client helpers (``_client``, ``_udp``) and the fake upstream (``_upstream``)
record here, never the checks themselves: per connection (a *lane*), timestamped events --
connect (or refused), bytes sent and received (counts, stream offsets and the first few
bytes, never whole payloads), our shutdown, the peer's EOF, a reset, close -- and the waits
the bounds judged (a stall that ran out, a quiet window that elapsed).  The plugin starts a
new :class:`Recorder` when a check's call begins and, when the case fails (or is an
expected failure), puts the trace in the report: as JSON (report.json), as a few lines of
text (the terminal, under the failure message) and as an SVG timeline (report.html).

The trace observes; it never decides: nothing here is read by a verdict.

Bounded: consecutive chunks in one direction on one connection are merged into one *run*
(its byte count, chunk count and time span) while they follow each other within
:data:`MERGE_GAP`; a datagram socket merges only datagrams with nothing in between.  A case
keeps its first :data:`HEAD` and last :data:`TAIL` events; those in between are counted
(``omitted``) with the time span they covered, so a Hypothesis check shows its first example
and the final replay of the failing one.

The renderers (:func:`text`, :func:`svg`) are pure functions of the trace's JSON form.
"""

from __future__ import annotations

import bisect
import functools
import json
import math
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from html import escape

from ._verdict import DETAILED  # the verdicts whose case carries its trace

# --- the data model ------------------------------------------------------------------------

CONNECT = "connect"  #: our connect() completed (``until``: when; ``t``: when it began)
REFUSED = "refused"  #: our connect() failed (refused, or another error: ``note``)
ACCEPT = "accept"  #: the fake upstream accepted a connection (the relay's)
SEND = "send"  #: bytes sent (``n``, from stream offset ``at``; ``head``: the first bytes)
RECV = "recv"  #: bytes received
SHUTDOWN = "shutdown"  #: we shut our side down (``note``: which; the write side is our FIN)
EOF = "eof"  #: the peer's orderly close (FIN) seen: recv() returned nothing
RESET = "reset"  #: the connection was reset (seen as ECONNRESET, EPIPE or ECONNABORTED)
ABORT = "abort"  #: we closed with SO_LINGER 0: the peer sees a reset
CLOSE = "close"  #: we closed the socket
BOUND = "bound"  #: a positive wait that ran out (``t`` to ``until``): the stall the bound judged
WINDOW = "window"  #: a negative wait that elapsed (a quiet window, a sender that settled)
WRONG = "wrong"  #: a helper stopped at data that differs from what was sent
KINDS = (CONNECT, REFUSED, ACCEPT, SEND, RECV, SHUTDOWN, EOF, RESET, ABORT, CLOSE, BOUND, WINDOW, WRONG)
#: the events a lane is shown for first when there are too many lanes to show them all
NOTABLE = (BOUND, WRONG, REFUSED, RESET)

#: Chunks in one direction that follow each other within this many seconds make one run.
MERGE_GAP = 0.05
#: Events kept per case: the first HEAD and the last TAIL.
HEAD, TAIL = 80, 320
#: Bytes kept of each run's first chunk.
HEAD_BYTES = 16

#: How the client helpers' Exchanged.ended reads (the same strings as ``_client``'s constants,
#: which import this module; tests/test_trace.py checks they agree).
_STALLED, _SLOW, _TIMEOUT, _WRONG = "stalled", "slow", "timeout", "wrong"
#: How ``_udp.Answer.verdict`` reads.
_LOST, _WRONG_ANSWER = "lost", "wrong"

_RESETS = (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


@dataclass(slots=True)
class Event:
    t: float  #: seconds since the trace began
    lane: int  #: the connection's lane, or -1: the check as a whole (a wait on no one connection)
    kind: str
    n: int = 0  #: bytes (SEND, RECV)
    at: int = 0  #: the stream offset of the run's first byte
    until: float | None = None  #: the end of a run, of a wait, of a connect
    count: int = 1  #: chunks or datagrams in the run
    head: str = ""  #: the first bytes of the run, as a bytes literal
    note: str = ""

    def as_dict(self) -> dict:
        d = {"t": round(self.t, 6), "lane": self.lane, "kind": self.kind}
        if self.kind in (SEND, RECV):
            d.update(n=self.n, at=self.at)
            if self.count != 1:
                d["count"] = self.count
            if self.head:
                d["head"] = self.head
        if self.until is not None and round(self.until, 6) != d["t"]:
            d["until"] = round(self.until, 6)
        if self.note:
            d["note"] = self.note
        return d


class Lane:
    """One connection (or datagram socket) of a trace: its label and running counts."""

    __slots__ = ("recorder", "index", "label", "datagram", "sent", "received", "run_out", "run_in", "last",
                 "eof", "reset", "closed", "aborting")

    def __init__(self, recorder: "Recorder", index: int, label: str, datagram: bool) -> None:
        self.recorder, self.index, self.label, self.datagram = recorder, index, label, datagram
        self.sent = self.received = 0
        self.run_out: Event | None = None
        self.run_in: Event | None = None
        self.last: Event | None = None
        self.eof = self.reset = self.closed = self.aborting = False


class Recorder:
    """The events of one case, bounded (see the module's docstring).  Thread-safe: the fake
    upstream records from its own thread."""

    def __init__(self, head: int = HEAD, tail: int = TAIL, clock=time.monotonic) -> None:
        self.clock = clock  #: monotonic seconds (a test may give its own)
        self.t0 = clock()
        self.lock = threading.Lock()
        self.lanes: list[tuple[str, str, bool, str]] = []  # (label, role, datagram, where)
        self._numbers: dict[str, int] = {}
        self._head_cap = head
        self.head: list[Event] = []
        self.tail: deque[Event] = deque(maxlen=tail)
        self.omitted = 0
        self.omitted_from: float | None = None
        self.omitted_until: float | None = None
        #: called with (event, label) for every new event (not for a run growing): the demo's live view
        self.listeners: list = []

    def now(self) -> float:
        return self.clock() - self.t0

    def lane(self, role: str, *, datagram: bool = False, where: str = "") -> Lane:
        with self.lock:
            number = self._numbers[role] = self._numbers.get(role, 0) + 1
            label = f"{role} {number}"
            self.lanes.append((label, role, datagram, where))
            return Lane(self, len(self.lanes) - 1, label, datagram)

    def _add(self, event: Event, lane: Lane | None) -> None:
        # under self.lock
        if lane is not None:
            lane.last = event
        if len(self.head) < self._head_cap:
            self.head.append(event)
        else:
            if len(self.tail) == self.tail.maxlen:
                gone = self.tail[0]
                self.omitted += 1
                if self.omitted_from is None:
                    self.omitted_from = gone.t
                self.omitted_until = max(self.omitted_until or 0.0, gone.until or gone.t)
            self.tail.append(event)
        for listener in self.listeners:
            listener(event, lane.label if lane is not None else "")

    def data(self, lane: Lane, kind: str, n: int, chunk) -> None:
        now = self.now()
        with self.lock:
            if kind == SEND:
                at, lane.sent, run = lane.sent, lane.sent + n, lane.run_out
            else:
                at, lane.received, run = lane.received, lane.received + n, lane.run_in
            if (run is not None and now - run.until <= MERGE_GAP
                    and (not lane.datagram or lane.last is run)):
                run.n += n
                run.until = now
                run.count += 1
                return
            event = Event(now, lane.index, kind, n=n, at=at, until=now, head=_head(chunk))
            if kind == SEND:
                lane.run_out = event
            else:
                lane.run_in = event
            self._add(event, lane)

    def mark(self, lane: Lane | None, kind: str, note: str = "", *, t: float | None = None,
             until: float | None = None) -> None:
        """A non-data event (``t`` and ``until``: monotonic times; default now)."""
        now = self.now()
        start = now if t is None else t - self.t0
        end = None if until is None else until - self.t0
        with self.lock:
            if lane is not None:
                lane.run_out = lane.run_in = None
            self._add(Event(start, lane.index if lane is not None else -1, kind, until=end, note=note), lane)

    def snapshot(self) -> dict:
        """The trace as JSON-ready data (the form the renderers and report.json take)."""
        with self.lock:
            events = [e.as_dict() for e in [*self.head, *self.tail]]
            used = sorted({e["lane"] for e in events if e["lane"] >= 0})
            lanes = []
            for i in used:
                label, role, datagram, where = self.lanes[i]
                lane = {"id": i, "label": label, "role": role}
                if datagram:
                    lane["datagram"] = True
                if where:
                    lane["where"] = where
                lanes.append(lane)
            trace = {"lanes": lanes, "events": events, "connections": len(self.lanes),
                     "roles": dict(self._numbers), "omitted": self.omitted}
            if self.omitted:
                trace["omitted_span"] = [round(self.omitted_from, 6), round(self.omitted_until, 6)]
            return trace


def _head(chunk) -> str:
    if chunk is None:
        return ""
    return repr(bytes(chunk[:HEAD_BYTES]))  # a slice: no buffer export left behind (a bytearray stays resizable)


# --- the current recorder (one per process: a check runs in one thread) --------------------

_current: Recorder | None = None


def start() -> Recorder:
    """A new trace, for the case that begins now."""
    global _current
    _current = Recorder()
    return _current


def stop() -> None:
    global _current
    _current = None


def current() -> Recorder | None:
    return _current


# --- recording: the helpers' hooks ---------------------------------------------------------

class TracedSocket(socket.socket):
    """A socket that records its traffic in the lane it was given (:func:`connected`,
    :func:`opened`); until then, and with no trace running, it is a plain socket."""

    _trace_lane: Lane | None = None

    def send(self, data, flags=0):
        lane = self._trace_lane
        if lane is None:
            return super().send(data, flags)
        try:
            n = super().send(data, flags)
        except OSError as exc:
            _failed(lane, exc)
            raise
        lane.recorder.data(lane, SEND, n, data)
        return n

    def sendall(self, data, flags=0):
        lane = self._trace_lane
        if lane is None:
            return super().sendall(data, flags)
        try:
            super().sendall(data, flags)
        except OSError as exc:
            _failed(lane, exc)
            raise
        lane.recorder.data(lane, SEND, len(data), data)

    def sendto(self, data, *args):
        lane = self._trace_lane
        if lane is None:
            return super().sendto(data, *args)
        n = super().sendto(data, *args)
        lane.recorder.data(lane, SEND, n, data)
        return n

    def recv(self, bufsize, flags=0):
        lane = self._trace_lane
        if lane is None or flags & socket.MSG_PEEK:
            return super().recv(bufsize, flags)
        try:
            data = super().recv(bufsize, flags)
        except OSError as exc:
            _failed(lane, exc)
            raise
        if data:
            lane.recorder.data(lane, RECV, len(data), data)
        elif not lane.eof and not lane.datagram:
            lane.eof = True
            lane.recorder.mark(lane, EOF)
        return data

    def recvfrom(self, bufsize, flags=0):
        lane = self._trace_lane
        if lane is None or flags & socket.MSG_PEEK:
            return super().recvfrom(bufsize, flags)
        data, source = super().recvfrom(bufsize, flags)
        lane.recorder.data(lane, RECV, len(data), data)
        return data, source

    def shutdown(self, how):
        super().shutdown(how)
        lane = self._trace_lane
        if lane is not None:
            lane.recorder.mark(lane, SHUTDOWN, _SHUTDOWN.get(how, str(how)))

    def close(self):
        lane = self._trace_lane
        if lane is not None and not lane.closed:
            lane.closed = True
            lane.recorder.mark(lane, ABORT if lane.aborting else CLOSE)
        super().close()


_SHUTDOWN = {socket.SHUT_WR: "FIN", socket.SHUT_RD: "read side", socket.SHUT_RDWR: "both sides, FIN"}


def _failed(lane: Lane, exc: OSError) -> None:
    if isinstance(exc, _RESETS) and not lane.reset:
        lane.reset = True
        lane.recorder.mark(lane, RESET, type(exc).__name__)


def _lane_of(sock) -> Lane | None:
    return getattr(sock, "_trace_lane", None)


def connected(sock: socket.socket, *, since: float, attempts: int = 1) -> None:
    """``sock`` (a :class:`TracedSocket`) is connected; its connect() began at ``since``."""
    recorder = _current
    if recorder is None or not isinstance(sock, TracedSocket):
        return
    try:
        host, port = sock.getsockname()[:2]
        where = f"from port {port}"
    except OSError:
        where = ""
    lane = recorder.lane("client", where=where)
    sock._trace_lane = lane
    recorder.mark(lane, CONNECT, f"{attempts} SYNs sent" if attempts > 1 else "", t=since,
                  until=time.monotonic())


def connect_failed(exc: BaseException, *, since: float) -> None:
    """Our connect() failed: refused (or another error), or no handshake in time."""
    recorder = _current
    if recorder is None or not isinstance(exc, OSError):
        return
    lane = recorder.lane("client")
    if isinstance(exc, TimeoutError):
        recorder.mark(lane, BOUND, "no handshake: the connect ran out of time", t=since, until=time.monotonic())
    else:
        recorder.mark(lane, REFUSED, "" if isinstance(exc, ConnectionRefusedError) else type(exc).__name__)


def opened(sock: socket.socket, role: str = "peer") -> None:
    """A datagram socket (a :class:`TracedSocket`) to trace from now on."""
    recorder = _current
    if recorder is None or not isinstance(sock, TracedSocket):
        return
    try:
        where = f"port {sock.getsockname()[1]}"
    except OSError:
        where = ""
    sock._trace_lane = recorder.lane(role, datagram=True, where=where)


def accepted(role: str = "upstream") -> Lane | None:
    """A connection the suite's own server (the fake upstream) accepted: its lane, or None."""
    recorder = _current
    if recorder is None:
        return None
    lane = recorder.lane(role)
    recorder.mark(lane, ACCEPT)
    return lane


def data(lane: Lane | None, kind: str, n: int, chunk=None) -> None:
    """Bytes sent or received on ``lane`` by a socket that is not a TracedSocket."""
    if lane is not None and n >= 0:
        lane.recorder.data(lane, kind, n, chunk)


def received(lane: Lane | None, chunk: bytes) -> None:
    """What a recv() by a socket that is not a TracedSocket returned: bytes, or EOF."""
    if lane is None:
        return
    if chunk:
        lane.recorder.data(lane, RECV, len(chunk), chunk)
    else:
        mark(lane, EOF)


def failed(lane: Lane | None, exc: OSError) -> None:
    """A socket operation on ``lane`` failed: a reset, if it was one."""
    if lane is not None:
        _failed(lane, exc)


def mark(lane: Lane | None, kind: str, note: str = "") -> None:
    """A non-data event on ``lane`` (the fake upstream's EOF seen, reset, close)."""
    if lane is None:
        return
    if kind == EOF:
        if lane.eof:
            return
        lane.eof = True
    if kind == RESET:
        if lane.reset:
            return
        lane.reset = True
    if kind in (CLOSE, ABORT):
        if lane.closed:
            return
        lane.closed = True
    lane.recorder.mark(lane, kind, note)


def waited(since: float, note: str, *, kind: str = BOUND) -> None:
    """A wait of the check as a whole (no one connection) that ran out, from ``since`` to now."""
    recorder = _current
    if recorder is not None:
        recorder.mark(None, kind, note, t=since, until=time.monotonic())


# --- the helpers' decorators: what their waits ended in ------------------------------------

def judged(helper):
    """For ``exchange`` and ``listen_quietly`` (``helper(sock, ...) -> Exchanged``): record the
    wait that ran out, or the wrong byte the exchange stopped at."""

    @functools.wraps(helper)
    def run(sock, *args, **kwargs):
        out = helper(sock, *args, **kwargs)
        lane = _lane_of(sock)
        if lane is None:
            return out
        end = time.monotonic()
        if out.ended == _STALLED and out.stall is not None:
            since = max(end - out.elapsed, min(end - out.stall, _last_activity(lane)))
            lane.recorder.mark(lane, BOUND, f"no byte moved for {out.stall:g} s: the wait ran out",
                               t=since, until=end)
        elif out.ended == _STALLED:
            got = f"{len(out.received):,} B arrived" if out.received else "nothing arrived"
            lane.recorder.mark(lane, WINDOW, f"listened {out.elapsed:.2f} s: {got}", t=end - out.elapsed, until=end)
        elif out.ended == _SLOW:
            lane.recorder.mark(lane, BOUND, f"too slow: {len(out.received):,} B in {out.elapsed:.2f} s "
                                            "(behind the per-MiB rate)", t=end - out.elapsed, until=end)
        elif out.ended == _TIMEOUT:
            lane.recorder.mark(lane, BOUND, f"the exchange bound ran out after {out.elapsed:.2f} s",
                               t=end - out.elapsed, until=end)
        elif out.ended == _WRONG:
            matching = kwargs.get("matching")
            at = _first_difference(out.received, matching) if matching is not None else None
            lane.recorder.mark(lane, WRONG, "a byte differs from the one sent" + (f" (offset {at:,})" if at is not None else ""))
        return out

    return run


def _last_activity(lane: Lane) -> float:
    """When the lane last saw an event (monotonic), or -inf."""
    last = lane.last
    if last is None:
        return -math.inf
    return lane.recorder.t0 + (last.until if last.until is not None else last.t)


def _first_difference(got: bytes, expected: bytes) -> int | None:
    """The offset of the first byte of ``got`` that differs from ``expected`` (or lies beyond it)."""
    n = min(len(got), len(expected))
    if got[:n] == expected[:n]:
        return n if len(got) > len(expected) else None
    lo, hi = 0, n  # got[:lo] == expected[:lo]; they differ within [lo, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if got[lo:mid] == expected[lo:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def gathered(helper):
    """For ``gather(socks, expect, ...) -> list[bytes]``: each socket that did not get all
    it expected (and was not closed or reset) waited in vain."""

    @functools.wraps(helper)
    def run(socks, expect, *args, **kwargs):
        start = time.monotonic()
        got = helper(socks, expect, *args, **kwargs)
        if _current is not None:
            end = time.monotonic()
            for sock, want, have in zip(socks, expect, got):
                lane = _lane_of(sock)
                if lane is not None and len(have) < want and not lane.eof and not lane.reset:
                    lane.recorder.mark(lane, BOUND, f"waited {end - start:.2f} s for {want:,} B: got {len(have):,}",
                                       t=start, until=end)
        return got

    return run


def filled(helper):
    """For ``fill_without_reading(sock, *, limit, settle, ...) -> int``: a sender that
    settled (sending made no progress for ``settle`` seconds)."""

    @functools.wraps(helper)
    def run(sock, *args, **kwargs):
        sent = helper(sock, *args, **kwargs)
        lane = _lane_of(sock)
        settle = kwargs.get("settle")
        if lane is not None and settle and sent < kwargs.get("limit", math.inf) and not lane.reset:
            end = time.monotonic()
            lane.recorder.mark(lane, WINDOW, f"sending blocked for {settle:g} s after {sent:,} B (buffers full)",
                               t=end - settle, until=end)
        return sent

    return run


def aborts(helper):
    """For ``abort(sock)``: its close is a reset (ABORT), not a FIN."""

    @functools.wraps(helper)
    def run(sock, *args, **kwargs):
        lane = _lane_of(sock)
        if lane is not None:
            lane.aborting = True
        return helper(sock, *args, **kwargs)

    return run


def asked(helper):
    """For ``_udp.ask(sock, address, data, ...) -> Answer``: a datagram lost, or answered wrong."""

    @functools.wraps(helper)
    def run(sock, address, payload, *args, **kwargs):
        answer = helper(sock, address, payload, *args, **kwargs)
        lane = _lane_of(sock)
        if lane is not None:
            end = time.monotonic()
            if answer.verdict == _LOST:
                lane.recorder.mark(lane, BOUND, f"no answer to the {len(payload):,}-B datagram in "
                                                f"{answer.elapsed:.2f} s ({answer.tries} sends)",
                                   t=end - answer.elapsed, until=end)
            elif answer.verdict == _WRONG_ANSWER:
                got = len(answer.got or b"")
                lane.recorder.mark(lane, WRONG, f"the answer ({got:,} B) is not the datagram sent ({len(payload):,} B)")
        return answer

    return run


def collected(helper):
    """For ``_udp.collect(socks, expect, ...) -> list[list[bytes]]``: sockets short of answers."""

    @functools.wraps(helper)
    def run(socks, expect, *args, **kwargs):
        start = time.monotonic()
        got = helper(socks, expect, *args, **kwargs)
        if _current is not None:
            end = time.monotonic()
            for sock, want, have in zip(socks, expect, got):
                lane = _lane_of(sock)
                if lane is not None and len(have) < want:
                    lane.recorder.mark(lane, BOUND, f"waited {end - start:.2f} s for {want} answers: got {len(have)}",
                                       t=start, until=end)
        return got

    return run


# --- the report's side ---------------------------------------------------------------------

#: the report section (terminal) and user property (report.json) the trace goes in
SECTION, PROPERTY = "on the wire", "trace"


def annotate(report, outcome: str) -> None:
    """Give a failing (or expected-failing) phase's report its trace: a JSON user property
    and a text section, which the terminal shows under the failure message.  After the
    teardown the case's trace is over."""
    recorder = _current
    try:
        if recorder is not None and outcome in DETAILED and report.when in ("call", "teardown"):
            trace = recorder.snapshot()
            if trace["events"]:
                shown = text(trace)
                report.user_properties.append((PROPERTY, json.dumps(trace, separators=(",", ":"))))
                report.sections.append((SECTION, shown))
    except Exception as exc:  # noqa: BLE001 - the trace only observes: it never costs a verdict
        report.sections.append((SECTION, f"(no timeline: {type(exc).__name__}: {exc})"))
    finally:
        if report.when == "teardown":
            stop()


# --- rendering: shared -----------------------------------------------------------------------

def _size(n: int) -> str:
    return f"{n:,} B"


def describe(event: dict, lanes: dict[int, dict] | None = None) -> str:
    """One event in a few words (without its time)."""
    k, note = event["kind"], event.get("note", "")
    datagram = bool(lanes and lanes.get(event["lane"], {}).get("datagram"))
    if k in (SEND, RECV):
        verb = "sent" if k == SEND else "got"
        n, count = event["n"], event.get("count", 1)
        if datagram:
            what = (f"a {_size(n)} datagram" if count == 1 else f"{count} datagrams ({_size(n)})")
        else:
            what = _size(n) + (f" in {count} chunks" if count > 1 else "")
        head = event.get("head", "")
        if head and n <= HEAD_BYTES and "\\x" not in head:  # readable bytes only: binary is noise here
            what += f" {head}"
        return f"{verb} {what}"
    if k in (BOUND, WINDOW):
        return f"[{_span(event)}: {note}]"
    words = {CONNECT: "connect", REFUSED: "connect refused", ACCEPT: "accepted", SHUTDOWN: "shutdown",
             EOF: "EOF (the peer's FIN)", RESET: "reset (RST)", ABORT: "abort (our RST)", CLOSE: "close",
             WRONG: "wrong"}[k]
    return f"{words} ({note})" if note else words


def _span(event: dict) -> str:
    return f"{event['t']:.3f}-{event.get('until', event['t']):.3f} s"


def pick_lanes(trace: dict, limit: int) -> list[dict]:
    """The lanes to show, at most ``limit``: those with a notable event (a wait that ran
    out, a wrong byte, a refusal, a reset) first -- but at most ``limit - 1`` of them, so that
    one that went well is there to compare -- then the first ones; in lane order."""
    lanes = trace["lanes"]
    if len(lanes) <= limit:
        return list(lanes)
    notable = {e["lane"] for e in trace["events"] if e["kind"] in NOTABLE}
    chosen = [l for l in lanes if l["id"] in notable][: max(1, limit - 1)]
    chosen += [l for l in lanes if l not in chosen][: limit - len(chosen)]
    return sorted(chosen, key=lambda l: l["id"])


def text(trace: dict, *, max_lanes: int = 6, per_lane: int = 9) -> str:
    """The trace in a few lines: one per connection (at most ``max_lanes``, each with at
    most ``per_lane`` events), times in seconds since the check began."""
    lanes = pick_lanes(trace, max_lanes)
    by_id = {l["id"]: l for l in trace["lanes"]}
    events = trace["events"]
    whole = any(e["lane"] == -1 for e in events)
    width = max([len(l["label"]) for l in lanes] + [len("(check)") if whole else 0])
    roles = trace.get("roles") or {"client": trace["connections"]}
    what = ", ".join(_count(n, _NOUNS.get(role, role)) for role, n in roles.items())
    lines = [f"timeline, in seconds since the check began ({what}, "
             f"{_count(len(events) + trace.get('omitted', 0), 'event')}):"]
    rows = [(l["id"], l["label"]) for l in lanes]
    if whole:
        rows.append((-1, "(check)"))
    for lane_id, label in rows:
        mine = [e for e in events if e["lane"] == lane_id]
        words = [f"{e['t']:.3f} {describe(e, by_id)}" if e["kind"] not in (BOUND, WINDOW) else describe(e, by_id)
                 for e in mine]
        if len(words) > per_lane:
            keep = per_lane // 2
            words = [*words[:keep], f"... {len(words) - per_lane + 1} more ...", *words[-(per_lane - keep - 1):]]
        lines.append(f"  {label.ljust(width)}  " + "  ".join(words))
    hidden = trace["connections"] - len(lanes)
    notes = []
    if hidden > 0:
        notes.append(f"{_count(hidden, 'more connection')} not shown")
    if trace.get("omitted"):
        a, b = trace["omitted_span"]
        notes.append(f"{trace['omitted']:,} events between {a:.3f} and {b:.3f} s not kept")
    if notes:
        lines.append("  (" + "; ".join(notes) + ")")
    return "\n".join(lines)


#: what the text form calls each role's lanes
_NOUNS = {"client": "client connection", "upstream": "upstream connection", "peer": "UDP socket"}


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


# --- rendering: the SVG timeline -------------------------------------------------------------

COLOURS = {SEND: "#2f6feb", RECV: "#1a7f37", CONNECT: "#57606a", ACCEPT: "#57606a", REFUSED: "#b42318",
           SHUTDOWN: "#8250df", EOF: "#1f2328", RESET: "#b42318", ABORT: "#b42318", CLOSE: "#57606a",
           WRONG: "#b42318", BOUND: "#b42318", WINDOW: "#6e7781"}
LEGEND = ((SEND, "bytes sent"), (RECV, "bytes received"), (CONNECT, "connect / accept"),
          (SHUTDOWN, "our shutdown (FIN)"), (EOF, "EOF seen"), (RESET, "reset, abort or refused"),
          (CLOSE, "close"), (WRONG, "wrong data"), (BOUND, "a bound that ran out"), (WINDOW, "a quiet window"))
#: the legend entry a kind is shown under
_LEGEND_OF = {ACCEPT: CONNECT, ABORT: RESET, REFUSED: RESET}


class _Scale:
    """Time to x.  Every gap between two consecutive instants of the trace (an event, the end
    of a run or of a wait) gets a width that grows with the log of its length: equal gaps
    stay equal, a burst of millisecond events gets room to be seen, and a 2 s wait still
    looks long.  The span whose events were not kept is a break of fixed width."""

    BREAK = 26.0

    def __init__(self, instants: list[float], x0: float, x1: float, gap: tuple[float, float] | None) -> None:
        points = sorted(set(instants))
        if gap:
            points = sorted(set([t for t in points if not gap[0] < t < gap[1]] + list(gap)))
        if len(points) < 2:
            points = [points[0] if points else 0.0, (points[0] if points else 0.0) + 1e-3]
        span = points[-1] - points[0]
        tau = max(span / 1000, 2e-4)
        weights = []
        self.breaks: list[float] = []
        for a, b in zip(points, points[1:]):
            weights.append(None if gap and (a, b) == tuple(gap) else math.log1p((b - a) / tau))
        fixed = self.BREAK * sum(w is None for w in weights)
        unit = (x1 - x0 - fixed) / (sum(w for w in weights if w is not None) or 1.0)
        self.times, self.xs = [points[0]], [x0]
        for (a, b), w in zip(zip(points, points[1:]), weights):
            x = self.xs[-1] + (self.BREAK if w is None else w * unit)
            if w is None:
                self.breaks.append((self.xs[-1] + x) / 2)
            self.times.append(b)
            self.xs.append(x)

    def __call__(self, t: float) -> float:
        times, xs = self.times, self.xs
        if t <= times[0]:
            return xs[0]
        if t >= times[-1]:
            return xs[-1]
        i = bisect.bisect_right(times, t)
        a, b = times[i - 1], times[i]
        return xs[i - 1] + (xs[i] - xs[i - 1]) * (t - a) / (b - a or 1.0)

    def ticks(self, min_px: float = 48.0) -> list[tuple[float, str]]:
        """Round times, as many as fit at least ``min_px`` apart (the spacing follows the
        warp); the first instant always."""
        lo, hi = self.times[0], self.times[-1]
        out: list[tuple[float, str]] = [(self.xs[0], _tick_label(lo))]
        for step in sorted({_nice((hi - lo) / n) for n in (2, 4, 8, 16, 32, 64)}, reverse=True):
            k = math.ceil(lo / step - 1e-9)
            while k * step <= hi + 1e-9:
                t = k * step
                x = self(t)
                if all(abs(x - ox) >= min_px for ox, _ in out) and all(abs(x - b) > 14 for b in self.breaks):
                    out.append((x, _tick_label(t, step)))
                k += 1
        return sorted(out)


def _nice(raw: float) -> float:
    """The round step just above ``raw``: 1 or 5 times a power of ten (steps of one family,
    so ticks of different steps together still read as round numbers)."""
    raw = max(raw, 1e-6)
    power = 10 ** math.floor(math.log10(raw))
    return next((m * power for m in (1, 5) if raw <= m * power * (1 + 1e-9)), 10 * power)


def _tick_label(t: float, step: float = 0.0) -> str:
    if abs(t) < 1e-9:
        return "0"
    if t < 1:
        return f"{round(t * 1000, 3):g} ms"
    return f"{round(t, 3):g} s"


def _fit(text: str, px: float, char: float = 5.6) -> str:
    room = int(px / char)
    if len(text) <= room:
        return text
    return text[: max(0, room - 1)] + "…" if room > 3 else ""


def svg(trace: dict, *, width: int = 760, max_lanes: int = 12, caption: tuple[str, ...] = (),
        standalone: bool = False, attrs: dict | None = None) -> str:
    """The trace as an SVG timeline: one lane per connection (and per upstream connection),
    bytes out above the lane's line and in below it as marks along time, connect, FIN, EOF,
    reset and close as symbols, each wait the bounds judged as a shaded interval, a legend.
    Every mark is a ``<g class="mark" data-lane data-kind>`` with a ``<title>`` (its time
    and description).  ``standalone``: a file of its own (fixed size, white background);
    else it scales to its container's width."""
    lanes = pick_lanes(trace, max_lanes)
    shown = {l["id"] for l in lanes}
    by_id = {l["id"]: l for l in trace["lanes"]}
    events = [e for e in trace["events"] if e["lane"] in shown or e["lane"] == -1]
    left, right, top, lane_h = 112.0, 14.0, 30.0, 34.0
    instants = [t for e in events for t in (e["t"], e.get("until", e["t"]))]
    scale = _Scale(instants, left + 6, width - right - 6,
                   tuple(trace["omitted_span"]) if trace.get("omitted") else None)
    row = {l["id"]: i for i, l in enumerate(lanes)}
    body_h = max(1, len(lanes)) * lane_h
    out: list[str] = []

    # axis and grid
    out.append(f'<g class="axis" font-size="10" fill="#57606a">')
    for x, label in scale.ticks():
        out.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{top + body_h}" stroke="#eaeef2"/>'
                   f'<text x="{x:.1f}" y="{top - 10}" text-anchor="middle">{escape(label)}</text>')
    for x in scale.breaks:
        out.append(f'<path d="M{x - 5:.1f} {top - 4} l5 -6 l5 6" fill="none" stroke="#57606a"/>'
                   f'<rect x="{x - 6:.1f}" y="{top}" width="12" height="{body_h}" fill="#f6f8fa"/>')
    out.append("</g>")

    # the waits of the check as a whole, behind everything
    for e in events:
        if e["lane"] == -1 and e["kind"] in (BOUND, WINDOW):
            out.append(_interval(e, scale, top, body_h, by_id, whole=True))

    for l in lanes:
        cy = top + row[l["id"]] * lane_h + lane_h / 2
        mine = [e for e in events if e["lane"] == l["id"]]
        out.append(f'<g class="lane" data-lane="{l["id"]}" data-label="{escape(l["label"], quote=True)}">')
        if row[l["id"]] % 2:
            out.append(f'<rect x="0" y="{cy - lane_h / 2:.1f}" width="{width}" height="{lane_h}" fill="#f6f8fa" '
                       'fill-opacity="0.6"/>')
        where = f' ({l["where"]})' if l.get("where") else ""
        out.append(f'<text class="lane-label" x="{left - 8}" y="{cy + 4:.1f}" text-anchor="end" font-size="11" '
                   f'fill="#1f2328">{escape(l["label"])}<title>{escape(l["label"] + where)}</title></text>')
        if mine:
            a = scale(min(e["t"] for e in mine))
            b = scale(max(e.get("until", e["t"]) for e in mine))
            out.append(f'<line x1="{a:.1f}" y1="{cy:.1f}" x2="{max(b, a + 1):.1f}" y2="{cy:.1f}" stroke="#8c959f" '
                       'stroke-width="1.5"/>')
        for e in mine:  # intervals first, marks on top
            if e["kind"] in (BOUND, WINDOW):
                out.append(_interval(e, scale, cy - lane_h / 2 + 2, lane_h - 4, by_id))
        last_x = -math.inf
        for e in mine:
            if e["kind"] in (BOUND, WINDOW):
                continue
            x = scale(e["t"])
            if e["kind"] not in (SEND, RECV):
                x = min(max(x, last_x + 8), width - right)  # symbols at the same instant side by side
                last_x = x
            out.append(_mark(e, x, scale, cy, by_id))
        out.append("</g>")

    # legend, notes, caption
    y = top + body_h + 18
    kinds = {_LEGEND_OF.get(e["kind"], e["kind"]) for e in events}
    legend = [(k, label) for k, label in LEGEND if k in kinds]
    x = 8.0
    out.append('<g class="legend" font-size="10" fill="#57606a">')
    for k, label in legend:
        w = 18 + len(label) * 5.4 + 12
        if x + w > width:
            x, y = 8.0, y + 15
        out.append(_legend_symbol(k, x + 6, y - 3) + f'<text x="{x + 16:.1f}" y="{y:.1f}">{escape(label)}</text>')
        x += w
    out.append("</g>")
    notes = ["time runs left to right; an idle stretch is drawn shorter than its share of the time "
             "(each gap's width grows with its logarithm)"]
    hidden = trace["connections"] - len(lanes)
    if hidden > 0:
        notes.append(f"{_count(hidden, 'more connection')} not drawn")
    if trace.get("omitted"):
        a, b = trace["omitted_span"]
        notes.append(f"{trace['omitted']:,} events between {a:.3f} and {b:.3f} s not kept (the break in the axis)")
    for line in notes:
        y += 15
        out.append(f'<text class="note" x="8" y="{y:.1f}" font-size="10" fill="#57606a">{escape(line)}</text>')
    for i, line in enumerate(caption):
        y += 17
        weight = ' font-weight="600"' if i == len(caption) - 1 and len(caption) > 1 else ""
        out.append(f'<text class="caption" x="8" y="{y:.1f}" font-size="12" fill="#1f2328"{weight}>'
                   f'{escape(line)}</text>')
    height = math.ceil(y + 8)
    extra = "".join(f' {k}="{escape(str(v), quote=True)}"' for k, v in (attrs or {}).items())
    size = f' width="{width}" height="{height}"' if standalone else ""
    label = f"timeline of {_count(len(lanes), 'connection')}: " + "; ".join(
        f"{l['label']}: {sum(1 for e in events if e['lane'] == l['id'])} events" for l in lanes)
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {width} {height}"{size} '
            f'role="img" aria-label="{escape(label, quote=True)}" data-lanes="{len(lanes)}" '
            f'data-events="{len(events)}" data-omitted="{trace.get("omitted", 0)}"{extra} '
            'font-family="system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif">')
    background = f'<rect width="{width}" height="{height}" fill="#ffffff"/>' if standalone else ""
    return head + background + "".join(out) + "</svg>"


def _title(e: dict, by_id: dict) -> str:
    who = by_id.get(e["lane"], {}).get("label", "the check")
    when = _span(e) if "until" in e else f"{e['t']:.3f} s"
    extra = ""
    if e["kind"] in (SEND, RECV):
        extra = f" from offset {e['at']:,}" + (f", starting {e['head']}" if e.get("head") else "")
    return f"<title>{escape(f'{when}: {who}: {describe(e, by_id)}{extra}')}</title>"


def _interval(e: dict, scale: _Scale, y: float, h: float, by_id: dict, whole: bool = False) -> str:
    a, b = scale(e["t"]), scale(e.get("until", e["t"]))
    w = max(b - a, 2.0)
    bound = e["kind"] == BOUND
    fill, stroke = ("#f9c9c6", "#b42318") if bound else ("#d8dee4", "#6e7781")
    label = _fit(e.get("note", ""), w - 6)
    text_y = y + (10 if whole else h - 3)
    return (f'<g class="mark" data-lane="{e["lane"]}" data-kind="{e["kind"]}" data-t="{e["t"]}">'
            f'<rect x="{a:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}" fill-opacity="0.55" '
            f'stroke="{stroke}" stroke-dasharray="3 2" stroke-width="0.8"/>'
            + (f'<text x="{a + 3:.1f}" y="{text_y:.1f}" font-size="9" fill="{stroke}">{escape(label)}</text>'
               if label else "")
            + _title(e, by_id) + "</g>")


def _mark(e: dict, x: float, scale: _Scale, cy: float, by_id: dict) -> str:
    k, c = e["kind"], COLOURS[e["kind"]]
    if k in (SEND, RECV):
        b = scale(e.get("until", e["t"]))
        w = max(b - x, 2.5)
        y = cy - 11 if k == SEND else cy + 3
        shape = f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="8" fill="{c}"/>'
    elif k in (CONNECT, ACCEPT):
        fill = c if k == CONNECT else "#ffffff"
        shape = f'<circle cx="{x:.1f}" cy="{cy:.1f}" r="4" fill="{fill}" stroke="{c}" stroke-width="1.5"/>'
    elif k == SHUTDOWN:  # our FIN: a triangle pointing away from us
        shape = f'<path d="M{x - 4:.1f} {cy - 5:.1f} L{x + 4:.1f} {cy:.1f} L{x - 4:.1f} {cy + 5:.1f} Z" fill="#ffffff" stroke="{c}" stroke-width="1.5"/>'
    elif k == EOF:  # the peer's FIN: a triangle pointing at us
        shape = f'<path d="M{x + 4:.1f} {cy - 5:.1f} L{x - 4:.1f} {cy:.1f} L{x + 4:.1f} {cy + 5:.1f} Z" fill="{c}"/>'
    elif k in (RESET, ABORT, REFUSED, WRONG):
        r = 4.5
        shape = (f'<path d="M{x - r:.1f} {cy - r:.1f} L{x + r:.1f} {cy + r:.1f} M{x - r:.1f} {cy + r:.1f} '
                 f'L{x + r:.1f} {cy - r:.1f}" stroke="{c}" stroke-width="2.2"/>')
        if k == WRONG:
            shape = (f'<path d="M{x:.1f} {cy - 6:.1f} L{x + 6:.1f} {cy:.1f} L{x:.1f} {cy + 6:.1f} L{x - 6:.1f} '
                     f'{cy:.1f} Z" fill="#ffffff" stroke="{c}" stroke-width="1.8"/>')
    else:  # close
        shape = f'<rect x="{x - 1.2:.1f}" y="{cy - 7:.1f}" width="2.4" height="14" fill="{c}"/>'
    return (f'<g class="mark" data-lane="{e["lane"]}" data-kind="{k}" data-t="{e["t"]}">{shape}'
            f'{_title(e, by_id)}</g>')


def _legend_symbol(kind: str, x: float, cy: float) -> str:
    if kind in (BOUND, WINDOW):
        fill, stroke = ("#f9c9c6", "#b42318") if kind == BOUND else ("#d8dee4", "#6e7781")
        return (f'<rect x="{x - 6:.1f}" y="{cy - 5:.1f}" width="12" height="10" fill="{fill}" stroke="{stroke}" '
                'stroke-dasharray="3 2" stroke-width="0.8"/>')
    e = {"kind": kind, "lane": -2, "t": 0.0}
    if kind in (SEND, RECV):
        return f'<rect x="{x - 5:.1f}" y="{cy - 4:.1f}" width="10" height="8" fill="{COLOURS[kind]}"/>'
    inner = _mark(e, x, lambda t: x, cy, {})
    return inner.replace('class="mark"', 'class="legend-symbol"', 1).split("<title>")[0] + "</g>"
