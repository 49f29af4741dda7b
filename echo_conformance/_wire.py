"""What happened on the wire: a bounded, always-on record of every check's connections.

The shared client helpers (``_client``, ``_udp``) and the fake upstream (``_upstream``)
record here, never the checks themselves: per connection (a *lane*), timestamped events --
connect (or refused), bytes sent and received (counts, stream offsets and the first few
bytes, never whole payloads), our shutdown, the peer's EOF, a reset, close -- and the waits
the bounds judged (a stall that ran out, a quiet window that elapsed).  The sockets record
their own traffic (:class:`TracedSocket`); each helper, when it returns, reports what it
waited for and how that ended (:func:`exchanged`, :func:`shortfalls`, :func:`filled`,
:func:`asked`), with explicit arguments.  The plugin starts a new :class:`Recorder` when a
check's call begins; the report side (``_report.annotate``) puts a failing case's trace in
its report, and ``_timeline`` draws it.

The trace observes; it never decides: nothing here is read by a verdict.

Which connection a case failed on: each helper's wait that ended in something other than
success (an exchange short of its bytes or wrong, a quiet window that got data or was
closed, a connect that failed, a crowd member short of its count, a push that never
blocked, a datagram lost or answered wrong) makes the lanes it waited on *suspect*; the
last such wait's lanes are the case's suspects.  When the case fails with a violation (a
verdict on what it saw), the plugin calls :func:`case_failed`: those lanes are the ones it
*failed* on (the trace's ``failed``), which the renderers always show, marked.  A wait of
the check as a whole (on the fake upstream) is lane -1.  A check's verdict follows its last
wait that went wrong; a violation no wait saw (memory, the process's exit) marks the last
one that went wrong before it, if any: the mark says no more than that.

Bounded: consecutive chunks in one direction on one connection are merged into one *run*
(its byte count, chunk count and time span) while they follow each other within
:data:`MERGE_GAP`; a datagram socket merges only datagrams with nothing in between.  A case
keeps its first :data:`HEAD` and last :data:`TAIL` events; those in between are counted
(``omitted``) with the time span they covered, so a Hypothesis check shows its first example
and the final replay of the failing one.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass

from . import _outcomes
from ._per_case import PerCase

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
                 "eof", "reset", "closed", "aborting", "role", "suspect")

    def __init__(self, recorder: "Recorder", index: int, label: str, datagram: bool, role: str = "client") -> None:
        self.recorder, self.index, self.label, self.datagram, self.role = recorder, index, label, datagram, role
        self.sent = self.received = 0
        self.run_out: Event | None = None
        self.run_in: Event | None = None
        self.last: Event | None = None
        self.eof = self.reset = self.closed = self.aborting = False
        self.suspect = False  #: a helper's wait on it ended in something other than success


class Recorder:
    """The events of one case, bounded (see the module's docstring).  Thread-safe: the fake
    upstream records from its own thread."""

    def __init__(self, head: int = HEAD, tail: int = TAIL, clock=time.monotonic) -> None:
        self.clock = clock  #: monotonic seconds (a test may give its own)
        self.t0 = clock()
        self.lock = threading.Lock()
        self.lanes: list[tuple[str, str, bool, str]] = []  # (label, role, datagram, where)
        self._lanes: list[Lane] = []
        self._numbers: dict[str, int] = {}
        self._head_cap = head
        self.head: list[Event] = []
        self.tail: deque[Event] = deque(maxlen=tail)
        self.omitted = 0
        self.omitted_from: float | None = None
        self.omitted_until: float | None = None
        #: called with (event, label) for every new event (not for a run growing): the demo's live view
        self.listeners: list = []
        #: the lanes of the last wait that did not succeed (-1: the check as a whole)
        self.suspects: tuple[int, ...] = ()
        #: the lanes the case failed on (:meth:`fail`), once it has
        self.failed: tuple[int, ...] = ()

    def now(self) -> float:
        return self.clock() - self.t0

    def lane(self, role: str, *, datagram: bool = False, where: str = "") -> Lane:
        with self.lock:
            number = self._numbers[role] = self._numbers.get(role, 0) + 1
            label = f"{role} {number}"
            self.lanes.append((label, role, datagram, where))
            lane = Lane(self, len(self.lanes) - 1, label, datagram, role)
            self._lanes.append(lane)
            return lane

    def connections(self, *, open_only: bool = False) -> int:
        """How many client connections the case has opened (and not closed, with ``open_only``)."""
        with self.lock:
            return sum(1 for lane in self._lanes if lane.role == "client" and not (open_only and lane.closed))

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

    def suspect(self, lanes: list[Lane | None]) -> None:
        """A wait on ``lanes`` (None: the check as a whole) ended in something other than
        success: they are the case's suspects now."""
        with self.lock:
            for lane in lanes:
                if lane is not None:
                    lane.suspect = True
            self.suspects = tuple(sorted({-1 if lane is None else lane.index for lane in lanes}))

    def fail(self) -> tuple[int, ...]:
        """The case failed (a violation): the suspects are the lanes it failed on."""
        with self.lock:
            self.failed = self.suspects
            return self.failed

    def snapshot(self) -> dict:
        """The trace as JSON-ready data (the form the renderers and report.json take): the
        lanes that have events (and those the case failed on), each with its byte totals
        (and ``suspect`` if a wait on it went wrong); ``failed``: the lanes the case failed on."""
        with self.lock:
            events = [e.as_dict() for e in [*self.head, *self.tail]]
            used = sorted({e["lane"] for e in events if e["lane"] >= 0} | {i for i in self.failed if i >= 0})
            lanes = []
            for i in used:
                label, role, datagram, where = self.lanes[i]
                state = self._lanes[i]
                lane = {"id": i, "label": label, "role": role, "sent": state.sent, "received": state.received}
                if datagram:
                    lane["datagram"] = True
                if where:
                    lane["where"] = where
                if state.suspect:
                    lane["suspect"] = True
                lanes.append(lane)
            trace = {"lanes": lanes, "events": events, "connections": len(self.lanes),
                     "roles": dict(self._numbers), "omitted": self.omitted}
            if self.omitted:
                trace["omitted_span"] = [round(self.omitted_from, 6), round(self.omitted_until, 6)]
            if self.failed:
                trace["failed"] = list(self.failed)
            return trace


def _head(chunk) -> str:
    if chunk is None:
        return ""
    return repr(bytes(chunk[:HEAD_BYTES]))  # a slice: no buffer export left behind (a bytearray stays resizable)


# --- the current recorder (one per process: a check runs in one thread) --------------------

_case: PerCase[Recorder] = PerCase(Recorder)
start, stop, current = _case.start, _case.stop, _case.current  # a new trace for each case


def connections() -> int:
    """How many client connections the case running now has opened."""
    return _case.now.connections() if _case.now is not None else 0


def case_failed() -> tuple[int, ...]:
    """The case running now failed with a violation: the lanes of its last unsuccessful wait
    are the ones it failed on (the plugin's call; none if no wait went wrong)."""
    return _case.now.fail() if _case.now is not None else ()


def open_connections() -> int:
    """How many of them are open now (the evidence: was a connection alone with the server?)."""
    return _case.now.connections(open_only=True) if _case.now is not None else 0


# --- recording: the helpers' hooks ---------------------------------------------------------

class TracedSocket(socket.socket):
    """A socket that records its traffic in the lane it was given (:func:`connected`,
    :func:`opened`); until then, and with no trace running, it is a plain socket."""

    _trace_lane: Lane | None = None

    def send(self, data, flags=0):
        lane = self._trace_lane
        if lane is None:
            return super().send(data, flags)
        n = _noting_resets(lane, super().send, data, flags)
        lane.recorder.data(lane, SEND, n, data)
        return n

    def sendall(self, data, flags=0):
        lane = self._trace_lane
        if lane is None:
            return super().sendall(data, flags)
        _noting_resets(lane, super().sendall, data, flags)
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
        data = _noting_resets(lane, super().recv, bufsize, flags)
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
        if how in (socket.SHUT_WR, socket.SHUT_RDWR):
            self._shut_at = time.monotonic()  # the evidence's: how long the client read after its FIN
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


def _noting_resets(lane: Lane, call, *args):
    """``call(*args)``, a socket operation on ``lane``: a reset it fails with is recorded."""
    try:
        return call(*args)
    except OSError as exc:
        _failed(lane, exc)
        raise


def _failed(lane: Lane, exc: OSError) -> None:
    if isinstance(exc, _RESETS) and not lane.reset:
        lane.reset = True
        lane.recorder.mark(lane, RESET, type(exc).__name__)


def _lane_of(sock) -> Lane | None:
    return getattr(sock, "_trace_lane", None)


def connected(sock: socket.socket, *, since: float, attempts: int = 1) -> None:
    """``sock`` (a :class:`TracedSocket`) is connected; its connect() began at ``since``."""
    recorder = _case.now
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
    recorder = _case.now
    if recorder is None or not isinstance(exc, OSError):
        return
    lane = recorder.lane("client")
    if isinstance(exc, TimeoutError):
        recorder.mark(lane, BOUND, "no handshake: the connect ran out of time", t=since, until=time.monotonic())
    else:
        recorder.mark(lane, REFUSED, "" if isinstance(exc, ConnectionRefusedError) else type(exc).__name__)
    recorder.suspect([lane])


def opened(sock: socket.socket, role: str = "peer") -> None:
    """A datagram socket (a :class:`TracedSocket`) to trace from now on."""
    recorder = _case.now
    if recorder is None or not isinstance(sock, TracedSocket):
        return
    try:
        where = f"port {sock.getsockname()[1]}"
    except OSError:
        where = ""
    sock._trace_lane = recorder.lane(role, datagram=True, where=where)


def accepted(role: str = "upstream") -> Lane | None:
    """A connection the suite's own server (the fake upstream) accepted: its lane, or None."""
    recorder = _case.now
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
    recorder = _case.now
    if recorder is not None:
        recorder.mark(None, kind, note, t=since, until=time.monotonic())
        if kind == BOUND:
            recorder.suspect([None])



# --- what the helpers waited for, and how it ended -------------------------------------------

def exchanged(sock, out, *, matching: bytes | None = None, wanted: int | None = None) -> None:
    """``_client.exchange`` (``wanted``: the bytes it waited for) or ``listen_quietly`` on
    ``sock`` ended as ``out`` (an ``Exchanged``): record the wait that ran out (a stall, a
    slow echo, the exchange bound), the quiet window that elapsed, or the wrong byte the
    exchange stopped at (its offset, given ``matching``); and whether it went wrong."""
    lane = _lane_of(sock)
    if lane is None:
        return
    end = time.monotonic()
    if out.ended == _outcomes.STALLED and out.stall is not None:
        since = max(end - out.elapsed, min(end - out.stall, _last_activity(lane)))
        lane.recorder.mark(lane, BOUND, f"no byte moved for {out.stall:g} s: the wait ran out", t=since, until=end)
    elif out.ended == _outcomes.STALLED:
        got = f"{len(out.received):,} B arrived" if out.received else "nothing arrived"
        lane.recorder.mark(lane, WINDOW, f"listened {out.elapsed:.2f} s: {got}", t=end - out.elapsed, until=end)
    elif out.ended == _outcomes.SLOW:
        lane.recorder.mark(lane, BOUND, f"too slow: {len(out.received):,} B in {out.elapsed:.2f} s "
                                        "(behind the per-MiB rate)", t=end - out.elapsed, until=end)
    elif out.ended == _outcomes.TIMEOUT:
        lane.recorder.mark(lane, BOUND, f"the exchange bound ran out after {out.elapsed:.2f} s",
                           t=end - out.elapsed, until=end)
    elif out.ended == _outcomes.WRONG:
        at = _first_difference(out.received, matching) if matching is not None else None
        lane.recorder.mark(lane, WRONG, "a byte differs from the one sent" + (f" (offset {at:,})" if at is not None else ""))
    if not _succeeded(out, matching, wanted):
        lane.recorder.suspect([lane])


def _succeeded(out, matching: bytes | None, wanted: int | None) -> bool:
    """Whether an exchange got what it waited for (all of it, then EOF if it read until EOF),
    or a quiet window stayed quiet (``out.stall`` is None: no stall bound) and open."""
    if out.cut:
        return False  # cut short by the case's budget: the case fails on that
    if out.stall is None:
        return out.ended == _outcomes.STALLED and not out.received
    if out.ended == _outcomes.COMPLETE:
        return True
    if wanted is None and matching is not None:
        wanted = len(matching)
    return (out.ended == _outcomes.EOF and wanted is not None and len(out.received) >= wanted
            and (matching is None or out.received == matching))


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


def shortfalls(socks, wanted: list[int], got: list[int], *, since: float, unit: str) -> None:
    """``_client.gather`` or ``_udp.collect``, waiting since ``since`` (monotonic), wanted
    ``wanted[i]`` bytes or datagrams (``unit``) on ``socks[i]`` and got ``got[i]``: each socket
    short of what it wanted, and not closed or reset, waited in vain."""
    if _case.now is None:
        return
    end = time.monotonic()
    short = []
    for sock, want, have in zip(socks, wanted, got):
        lane = _lane_of(sock)
        if lane is not None and have < want:
            short.append(lane)
            if not lane.eof and not lane.reset:
                lane.recorder.mark(lane, BOUND, f"waited {end - since:.2f} s for {want:,} {unit}: got {have:,}",
                                   t=since, until=end)
    if short:
        short[0].recorder.suspect(short)


def filled(sock, sent: int, *, limit: int, settle: float) -> None:
    """``_client.fill_without_reading`` sent ``sent`` bytes of at most ``limit`` on ``sock``:
    short of the limit (and not reset), the sender settled -- sending made no progress for
    ``settle`` seconds.  A push that never blocked (the server took everything) or was reset
    went wrong, if anything did (the checks judge it)."""
    lane = _lane_of(sock)
    if lane is None:
        return
    if settle and sent < limit and not lane.reset:
        end = time.monotonic()
        lane.recorder.mark(lane, WINDOW, f"sending blocked for {settle:g} s after {sent:,} B (buffers full)",
                           t=end - settle, until=end)
    else:
        lane.recorder.suspect([lane])


def aborting(sock) -> None:
    """``_client.abort`` is about to close ``sock`` with SO_LINGER 0: its close is a reset
    (ABORT), not a FIN."""
    lane = _lane_of(sock)
    if lane is not None:
        lane.aborting = True


def asked(sock, answer) -> None:
    """``_udp.ask`` on ``sock`` ended as ``answer`` (an ``Answer``): a datagram lost, or
    answered wrong."""
    lane = _lane_of(sock)
    if lane is None:
        return
    end = time.monotonic()
    if answer.verdict == _outcomes.LOST:
        lane.recorder.mark(lane, BOUND, f"no answer to the {len(answer.sent):,}-B datagram in "
                                        f"{answer.elapsed:.2f} s ({answer.tries} sends)",
                           t=end - answer.elapsed, until=end)
    elif answer.verdict == _outcomes.WRONG:
        got = len(answer.got or b"")
        lane.recorder.mark(lane, WRONG, f"the answer ({got:,} B) is not the datagram sent ({len(answer.sent):,} B)")
    if answer.verdict != _outcomes.ANSWERED:
        lane.recorder.suspect([lane])
