"""The load generator: worker processes, each an event loop driving its share of the connections.

Theory of operation
-------------------
The parent (:class:`Generator`) spawns ``processes`` workers and deals the connections out
evenly.  Each worker runs one event loop -- uvloop's where installed (``--generator-loop``),
else asyncio's own -- opens its connections (at most :data:`CONNECT_AT_ONCE` at a time, each
within ``connect_timeout``), says ``ready``, and waits for ``go`` with a start time ``t0`` on
the machine's monotonic clock (CLOCK_MONOTONIC, the same in every process).  From ``t0`` it
drives load; messages completed in ``[t0 + warmup, t0 + warmup + duration)`` are the measured
ones, and the parent reads the server's CPU time at those same two instants.  The load goes on
after the interval until the parent has taken its second reading and says ``stop`` (a server
whose connections had already closed would be read mid-teardown: a fork server's children
exiting, their CPU time moving to their parent's account).

Closed loop (the default; muduo's and evpp's ping-pong): each connection sends one message
of ``size`` bytes, waits until all ``size`` bytes of its echo are back, and sends the next.
The load is whatever the server (or the generator) can sustain; throughput and latency are
two views of the same run, and each latency is one message's own send-to-echo time, taken
with ``perf_counter_ns`` (never 1/throughput).

Open loop (``rate``): messages are sent on a fixed schedule -- ``rate`` a second in all,
round-robin over the connections -- whether or not earlier echoes are back, and each latency
runs from the message's *scheduled* send time, so a server that stalls is charged for every
message that should have gone out meanwhile (no coordinated omission).  The loop's timers
have a resolution of about 1 ms, so a message may leave up to ~1 ms late: that lag is part of
its latency and is reported (``send_lag_p99_us``).  A connection with more than
:data:`OPEN_LOOP_BACKLOG` bytes not yet sent skips its turn (counted as ``unsent``): the
server is not keeping up, and the point says so rather than buffering without bound.

What it costs (measured by each worker for the measured interval only): its CPU time
(``time.process_time``) and, on Linux, the time it was runnable but waiting for a CPU
(``run_delay`` in ``/proc/self/schedstat``).  A worker whose CPU time plus run delay is at
least :data:`SATURATED` of the wall time was never idle: it had work queued whenever it could
run, so the load, and the latencies, were limited by the generator, not by the server.  Such a
point is marked ``generator_saturated``.  Why 90 %: for a loop busy a fraction rho of the
time, a message arriving at random waits for about rho / (1 - rho) others to be handled
first; at 0.9 that is 9 handling times, as much as the server's own work for a fast server.

Every loop is bounded: connecting by ``connect_timeout``, the run by ``t0 + warmup + duration
+ DRAIN``; a worker also dies with the parent (PR_SET_PDEATHSIG) and ignores Ctrl-C, which
is the parent's to handle (it terminates the workers).
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import itertools
import os
import random
import resource
import signal
import socket
import struct
import subprocess
import sys
import time
from array import array
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

#: the folder that holds the echo_conformance package (the workers import it from there)
PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent

#: A generator process at least this busy (CPU time plus run-queue delay over wall time) was
#: the bottleneck (see the module docstring for why 0.9).
SATURATED = 0.90
#: Connections opened concurrently per worker (a burst of SYNs beyond the listen backlog is
#: dropped and retried only after 1 s).
CONNECT_AT_ONCE = 128
#: After the measured interval the load goes on until the parent, having read the server's
#: CPU time, says stop (so the server is still under load when it is read) -- or this long.
TAIL = 10.0
#: After the stop, how long the outstanding messages get to come back: DRAIN, or twice the
#: slowest echo of the measured interval where that is longer (a message in flight at the stop
#: waits behind as many others as one during the run), but never more than DRAIN_MAX.
DRAIN = 2.0
DRAIN_MAX = 10.0
#: Latency samples kept per worker; beyond, a uniform reservoir sample of them.
SAMPLE_CAP = 4_000_000
#: Open loop: a connection with this many bytes waiting to be sent skips its turn.
OPEN_LOOP_BACKLOG = 4 * 1024 * 1024
LOOPS = ("auto", "uvloop", "asyncio")
#: Open loop: the sending timer's period at most (messages due in between go out together).
TICK_NS = 1_000_000


class GeneratorError(Exception):
    """The generator could not run a point (connections refused, a worker died, ...)."""


@dataclass(frozen=True)
class Plan:
    host: str
    port: int
    connections: int
    size: int
    warmup: float
    duration: float
    processes: int
    loop: str = "auto"  # auto | uvloop | asyncio
    rate: float | None = None  # open loop: messages per second in all; None: closed loop
    connect_timeout: float = 30.0
    #: a test hook: CPU time burnt per echo received, making the generator the bottleneck on
    #: purpose (the report must say so); 0 in every real run.
    work_us: float = 0.0

    @property
    def mode(self) -> str:
        return "closed" if self.rate is None else "open"


def auto_processes(connections: int) -> int:
    """As many processes as the machine has cores, but no more than connections."""
    return max(1, min(connections, os.cpu_count() or 1))


def shares(connections: int, processes: int) -> list[int]:
    base, extra = divmod(connections, processes)
    return [base + (1 if i < extra else 0) for i in range(processes) if base + (1 if i < extra else 0)]


def loop_name(wanted: str) -> str:
    if wanted in ("auto", "uvloop"):
        try:
            import uvloop  # noqa: F401

            return "uvloop"
        except ImportError:
            if wanted == "uvloop":
                raise GeneratorError("--generator-loop uvloop: uvloop is not installed (pip install uvloop)")
    return "asyncio"


# --- what a worker measures ------------------------------------------------------------------

@dataclass
class WorkerResult:
    connected: int = 0
    round_trips: int = 0  # measured messages completed
    samples: array = field(default_factory=lambda: array("q"))  # ns, possibly a reservoir
    cpu_s: float = 0.0  # CPU time in the measured interval
    run_delay_s: float | None = None  # time runnable but not running, ditto (Linux)
    wall_s: float = 0.0
    lost: int = 0  # connections closed or reset by the server before the end
    stalled: int = 0  # messages still outstanding drain_s seconds after the load stopped
    held: int = 0  # of those, messages this worker's own loop sent only after the stop (see _sent_after)
    drain_s: float = DRAIN
    extra_bytes: int = 0  # bytes received beyond the echo of what was sent
    unsent: int = 0  # open loop: turns skipped because the connection's backlog was full
    send_lag: array = field(default_factory=lambda: array("q"))  # open loop: ns late, sampled
    error: str = ""

    @property
    def busy(self) -> float:
        return (self.cpu_s + (self.run_delay_s or 0.0)) / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def waiting(self) -> float:
        return (self.run_delay_s or 0.0) / self.wall_s if self.wall_s > 0 else 0.0


def _run_delay() -> float | None:
    try:
        with open("/proc/self/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


#: Offset of tcpi_last_data_sent (u32, ms) in Linux's struct tcp_info: 8 one-byte fields, then
#: rto, ato, snd_mss, rcv_mss, unacked, sacked, lost, retrans, fackets (u32 each).
_TCPI_LAST_DATA_SENT = 8 + 9 * 4


def _sent_after(transport, t_ns: int) -> bool:
    """Whether the last data this connection's socket sent left it after ``t_ns``
    (perf_counter_ns), by the kernel's own account (TCP_INFO's tcpi_last_data_sent: milliseconds
    since).  False where that cannot be read.

    Why: a closed-loop connection writes nothing after the stop, so a message outstanding at the
    end whose bytes left after the stop was held back by the generator's event loop, not by the
    server.  Seen with uvloop at 10,000 connections: now and then a few messages (up to 1,800 in
    one run) reached the socket only when the worker's loop was done waiting for their echoes,
    whereas the server echoed each within milliseconds of receiving it.  Those are reported as
    the generator's failure, never as the server's."""
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None or not hasattr(socket, "TCP_INFO"):
        return False
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    except OSError:
        return False
    if len(info) < _TCPI_LAST_DATA_SENT + 4:
        return False
    (ms_since,) = struct.unpack_from("I", info, _TCPI_LAST_DATA_SENT)
    return time.perf_counter_ns() - ms_since * 1_000_000 > t_ns


def drain_time(slowest_ns: int) -> float:
    """Seconds the messages outstanding at the stop get to come back (see DRAIN)."""
    return min(DRAIN_MAX, max(DRAIN, 2 * slowest_ns / 1e9))


class _Stats:
    """Shared by a worker's connections: the measured interval and what was measured in it."""

    def __init__(self, work_ns: int) -> None:
        self.work_ns = work_ns
        # the measured interval; the load runs from t0 until stop_ns, which the parent brings
        # forward (``stop``) once it has read the server's CPU time at the interval's end
        self.start_ns = self.end_ns = self.stop_ns = 0
        self.samples = array("q")
        self.count = 0
        self.slowest_ns = 0
        self.lost = self.extra = 0
        self.error = ""
        self.running = 0  # connections that have not finished their last message
        self.sending_done = False  # open loop: the schedule has ended
        self.all_done: asyncio.Future | None = None

    def arm(self, t0: float, plan: Plan, loop) -> int:
        """Set the measured interval from the parent's start time ``t0`` (on time.monotonic());
        return t0 on perf_counter_ns."""
        # the samples are on perf_counter_ns (both CLOCK_MONOTONIC on Linux, but convert through
        # an offset rather than rely on it)
        offset = time.perf_counter_ns() - time.monotonic_ns()
        t0_ns = int(t0 * 1e9) + offset
        self.start_ns = t0_ns + int(plan.warmup * 1e9)
        self.end_ns = self.start_ns + int(plan.duration * 1e9)
        self.stop_ns = self.end_ns + int(TAIL * 1e9)
        self.all_done = loop.create_future()
        return t0_ns

    def record(self, ns: int) -> None:
        self.count += 1
        self.slowest_ns = max(self.slowest_ns, ns)
        if len(self.samples) < SAMPLE_CAP:
            self.samples.append(ns)
        else:  # Algorithm R: every sample kept with the same probability
            j = random.randrange(self.count)
            if j < SAMPLE_CAP:
                self.samples[j] = ns

    def finished(self) -> None:
        self.running -= 1
        if self.running <= 0 and self.all_done is not None and not self.all_done.done():
            self.all_done.set_result(None)

    def burn(self) -> None:
        until = time.perf_counter_ns() + self.work_ns
        while time.perf_counter_ns() < until:
            pass


class _Connection(asyncio.Protocol):
    """Common to both modes: connection bookkeeping and failures."""

    def __init__(self, stats: _Stats, message: bytes) -> None:
        self.stats, self.message, self.size = stats, message, len(message)
        self.transport: asyncio.Transport | None = None
        self.active = False  # still counted in stats.running

    def connection_made(self, transport) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:  # asyncio and uvloop set it already; be explicit
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def _lose(self, why: str) -> None:
        if self.active:
            self.active = False
            self.stats.lost += 1
            self.stats.error = self.stats.error or why
            self.stats.finished()

    def eof_received(self):
        self._lose("the server closed a connection during the run")
        return None

    def connection_lost(self, exc) -> None:
        if exc is not None:
            self._lose(f"a connection was lost during the run: {exc}")
        else:
            self._lose("the server closed a connection during the run")


class ClosedLoop(_Connection):
    """One message outstanding: send, wait for all of its echo, send the next."""

    def start(self) -> None:
        self.active = True
        self.stats.running += 1
        self.pending = self.size
        self.sent_at = time.perf_counter_ns()
        self.transport.write(self.message)

    def data_received(self, data: bytes) -> None:
        self.pending -= len(data)
        if self.pending > 0:
            return
        now = time.perf_counter_ns()
        stats = self.stats
        if self.pending < 0:
            stats.extra -= self.pending
        if now >= stats.start_ns:
            if now < stats.end_ns:
                stats.record(now - self.sent_at)
            elif now >= stats.stop_ns:
                if self.active:
                    self.active = False
                    stats.finished()
                return
        if stats.work_ns:
            stats.burn()
        self.pending = self.size
        self.sent_at = time.perf_counter_ns()
        self.transport.write(self.message)


class OpenLoop(_Connection):
    """Messages sent on a schedule; each echo matched to its message by byte count (TCP keeps
    order), its latency taken from the message's scheduled send time."""

    def start(self) -> None:
        self.active = True
        self.stats.running += 1
        self.scheduled: deque[int] = deque()
        self.partial = 0

    def send(self, due_ns: int) -> bool:
        if self.transport.get_write_buffer_size() > OPEN_LOOP_BACKLOG:
            return False
        self.scheduled.append(due_ns)
        self.transport.write(self.message)
        return True

    def data_received(self, data: bytes) -> None:
        got = self.partial + len(data)
        now = time.perf_counter_ns()
        stats = self.stats
        while got >= self.size and self.scheduled:
            got -= self.size
            due = self.scheduled.popleft()
            if stats.start_ns <= now < stats.end_ns:
                stats.record(now - due)
            if stats.work_ns:
                stats.burn()
        if not self.scheduled and got:
            stats.extra += got
            got = 0
        self.partial = got
        if stats.sending_done and not self.scheduled and self.active:
            self.active = False
            stats.finished()


# --- the worker process ------------------------------------------------------------------------

def _prctl_pdeathsig() -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def worker_main(argv: list[str]) -> int:
    """A worker process (``python -m echo_conformance.bench._worker FD PARENT``): the plan and
    its share come in on the socket FD, the results go back on it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _prctl_pdeathsig()
    fd, parent = int(argv[0]), int(argv[1])
    if os.getppid() != parent:  # the parent is gone already
        return 0
    pipe = Connection(fd)
    if not pipe.poll(60):
        return 0
    plan, connections = pipe.recv()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass
    if loop_name(plan.loop) == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        result = loop.run_until_complete(_drive(loop, pipe, plan, connections))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which says so
        result = WorkerResult(error=f"{type(exc).__name__}: {exc}")
    finally:
        loop.close()
    try:
        os.set_blocking(pipe.fileno(), True)
        pipe.send(("result", result))
    except BrokenPipeError:  # the parent is gone
        pass
    return 0


async def _drive(loop, pipe, plan: Plan, count: int) -> WorkerResult:
    """A worker's share of one point: open its connections, say ready, wait for go, drive the
    load until the parent says stop, wait for the last echoes, and say what it measured."""
    result = WorkerResult()
    stats = _Stats(int(plan.work_us * 1000))
    conns, result.error = await _open_connections(loop, plan, count, stats)
    result.connected = len(conns)
    pipe.send(("ready", result.connected, result.error))
    t0 = None if result.error else _wait_for_go(pipe, plan)
    if t0 is None:
        _abort(conns)
        return result
    at = functools.partial(_call_at, loop)
    t0_ns = stats.arm(t0, plan, loop)
    loop.add_reader(pipe.fileno(), _on_parent, loop, pipe, stats)
    meter = _CPUMeter(at, stats.start_ns, stats.end_ns)
    _start_load(conns, plan, count, stats, t0_ns, result, at)
    await _wait_for_last_echoes(stats)
    loop.remove_reader(pipe.fileno())
    os.set_blocking(pipe.fileno(), True)  # uvloop's add_reader made it non-blocking
    meter.finish(result)
    _count_outstanding(conns, plan, stats, result)
    _abort(conns)
    result.round_trips, result.samples = stats.count, stats.samples
    result.lost, result.extra_bytes = stats.lost, stats.extra
    if stats.error and not result.error:
        result.error = stats.error
    return result


async def _open_connections(loop, plan: Plan, count: int, stats: _Stats) -> tuple[list[_Connection], str]:
    """Open ``count`` connections, CONNECT_AT_ONCE at a time; return those open and, if any
    failed, why."""
    message = os.urandom(plan.size)
    kind = ClosedLoop if plan.rate is None else OpenLoop
    limit = asyncio.Semaphore(CONNECT_AT_ONCE)

    async def open_one():
        async with limit:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(lambda: kind(stats, message), plan.host, plan.port),
                plan.connect_timeout)
            return protocol

    opened = await asyncio.gather(*(open_one() for _ in range(count)), return_exceptions=True)
    conns = [c for c in opened if isinstance(c, _Connection)]
    failures = [c for c in opened if not isinstance(c, _Connection)]
    if not failures:
        return conns, ""
    first = failures[0]
    return conns, f"{len(failures)} of {count} connections failed: {type(first).__name__}: {first or 'timed out'}"


def _wait_for_go(pipe, plan: Plan) -> float | None:
    """The start time the parent's ``go`` says (on time.monotonic()), or None if none came in time."""
    if not pipe.poll(plan.connect_timeout + 60):
        return None
    command, t0 = pipe.recv()
    return t0 if command == "go" else None


def _call_at(loop, ns: int, callback, *args) -> asyncio.TimerHandle:
    """Call ``callback(*args)`` at ``ns`` on perf_counter_ns."""
    return loop.call_later(max(0.0, (ns - time.perf_counter_ns()) / 1e9), callback, *args)


def _on_parent(loop, pipe, stats: _Stats) -> None:
    """The parent said stop (or is gone: EOF): end the load now, but not before the interval ends."""
    try:
        pipe.recv()
    except (EOFError, OSError):
        pass
    loop.remove_reader(pipe.fileno())
    stats.stop_ns = min(stats.stop_ns, max(time.perf_counter_ns(), stats.end_ns))


class _CPUMeter:
    """This worker's CPU time and run delay, read at both ends of the measured interval."""

    def __init__(self, at, start_ns: int, end_ns: int) -> None:
        self.readings: list[tuple[int, float, float | None]] = []
        at(start_ns, self.read)
        self._end = at(end_ns, self.read)

    def read(self) -> None:
        self.readings.append((time.perf_counter_ns(), time.process_time(), _run_delay()))

    def finish(self, result: WorkerResult) -> None:
        """Put what was measured into ``result``.  A loop saturated to the end may not have taken
        the second reading yet: it is taken now (it is timestamped)."""
        if len(self.readings) < 2:
            self._end.cancel()
            self.read()
        if len(self.readings) == 2:
            (w0, c0, d0), (w1, c1, d1) = self.readings
            result.wall_s, result.cpu_s = (w1 - w0) / 1e9, c1 - c0
            result.run_delay_s = None if d0 is None or d1 is None else d1 - d0


def _start_load(conns: list, plan: Plan, count: int, stats: _Stats, t0_ns: int, result: WorkerResult,
                at) -> None:
    """Closed loop: every connection sends its first message at t0.  Open loop: the schedule
    starts at t0."""
    if plan.rate is None:
        for c in conns:
            at(t0_ns, c.start)
        return
    for c in conns:
        c.start()
    # this worker's share of the rate: in proportion to its share of the connections
    _schedule_open_loop(conns, plan.rate * count / plan.connections, stats, t0_ns, result, at)


async def _wait_for_last_echoes(stats: _Stats) -> None:
    """Until every connection has its last echo after the stop.  Bounded: the stop comes at the
    latest TAIL after the interval, and the echoes get drain_time() more (the stop may come
    sooner while this waits, hence the short waits)."""
    while not stats.all_done.done():
        left = (stats.stop_ns - time.perf_counter_ns()) / 1e9 + drain_time(stats.slowest_ns)
        if left <= 0:
            break
        try:
            await asyncio.wait_for(asyncio.shield(stats.all_done), min(left, 0.05))
        except asyncio.TimeoutError:
            pass


def _count_outstanding(conns: list, plan: Plan, stats: _Stats, result: WorkerResult) -> None:
    """Count the messages left unanswered: those held back by this worker's own loop (closed loop:
    nothing is written after the stop, see _sent_after), and those the server stalled."""
    outstanding = [c for c in conns if c.active]
    if plan.rate is None:
        result.held = sum(1 for c in outstanding if _sent_after(c.transport, stats.stop_ns))
    result.stalled = len(outstanding) - result.held
    result.drain_s = drain_time(stats.slowest_ns)


def _abort(conns: list) -> None:
    """Reset every connection (RST: no TIME_WAIT left on this side between points)."""
    for c in conns:
        c.active = False
        if c.transport is not None:
            c.transport.abort()


def _schedule_open_loop(conns, rate: float, stats: _Stats, t0_ns: int, result: WorkerResult, at) -> None:
    """Send ``rate`` messages a second, round-robin over ``conns``."""
    interval = 1e9 / rate
    state = {"next": float(t0_ns), "turn": 0}

    def tick() -> None:
        now = time.perf_counter_ns()
        first = True
        while state["next"] <= now and state["next"] < stats.stop_ns:
            conn = conns[state["turn"] % len(conns)]
            state["turn"] += 1
            due = int(state["next"])
            if conn.active and not conn.send(due) and stats.start_ns <= due < stats.end_ns:
                result.unsent += 1
            if first and stats.start_ns <= due:
                if len(result.send_lag) < SAMPLE_CAP:
                    result.send_lag.append(now - due)
                first = False
            state["next"] += interval
        if state["next"] < stats.stop_ns:
            # Not sooner than TICK from now: a shorter timer rounds down to 0 in uvloop and the
            # loop would spin; what falls due meanwhile goes out together at the next tick.
            at(int(max(state["next"], now + TICK_NS)), tick)
        else:  # nothing more to send: connections finish once their echoes are back
            stats.sending_done = True
            for c in conns:
                if c.active and not c.scheduled:
                    c.active = False
                    stats.finished()

    at(t0_ns, tick)


# --- the parent side ------------------------------------------------------------------------------

@dataclass
class Measured:
    """What the generator measured for one point (all workers together)."""

    plan: Plan
    loop: str
    processes: int
    connected: int
    round_trips: int
    latencies_ns: list[int]  # sorted
    wall_s: float  # the measured interval (the longest worker's)
    cpu_s: float
    busiest: float  # max over workers of (CPU + run delay) / wall
    busiest_waiting: float  # that worker's run delay / wall
    run_delay_measured: bool
    lost: int
    stalled: int
    held: int  # outstanding at the end because the generator sent them only after the stop
    drain_s: float  # how long the messages outstanding at the stop got to come back
    extra_bytes: int
    unsent: int
    send_lag_ns: list[int]  # sorted
    errors: list[str]

    @property
    def saturated(self) -> bool:
        return self.busiest >= SATURATED

    @classmethod
    def combine(cls, plan: Plan, loop: str, results: list[WorkerResult]) -> "Measured":
        """All workers' results as one: counts added, latencies merged, the busiest worker's load."""
        latencies = sorted(itertools.chain.from_iterable(r.samples for r in results))
        lags = sorted(itertools.chain.from_iterable(r.send_lag for r in results))
        return cls(
            plan=plan, loop=loop, processes=len(results),
            connected=sum(r.connected for r in results),
            round_trips=sum(r.round_trips for r in results), latencies_ns=latencies,
            wall_s=max((r.wall_s for r in results), default=0.0),
            cpu_s=sum(r.cpu_s for r in results),
            busiest=max((r.busy for r in results), default=0.0),
            busiest_waiting=max(results, key=lambda r: r.busy).waiting if results else 0.0,
            run_delay_measured=all(r.run_delay_s is not None for r in results),
            lost=sum(r.lost for r in results), stalled=sum(r.stalled for r in results),
            held=sum(r.held for r in results),
            drain_s=max((r.drain_s for r in results), default=DRAIN),
            extra_bytes=sum(r.extra_bytes for r in results), unsent=sum(r.unsent for r in results),
            send_lag_ns=lags, errors=[r.error for r in results if r.error])


class Generator:
    """The worker processes for one point.  ``with Generator(plan) as g: g.connect();
    start, end = g.go(); ...; measured = g.collect()``; leaving the block ends every worker."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.loop = loop_name(plan.loop)
        self._workers: list[subprocess.Popen] = []
        self._pipes: list = []
        self._t0: float | None = None
        self._stopped = False

    def __enter__(self) -> "Generator":
        # Plain subprocesses rather than multiprocessing: a spawned multiprocessing child
        # re-imports the caller's __main__, which breaks any script without a main guard.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(PACKAGE_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
        try:
            for count in shares(self.plan.connections, self.plan.processes):
                ours, theirs = socket.socketpair()
                try:
                    proc = subprocess.Popen(
                        [sys.executable, "-m", "echo_conformance.bench._worker", str(theirs.fileno()),
                         str(os.getpid())], pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL)
                finally:
                    theirs.close()
                self._workers.append(proc)
                pipe = Connection(ours.detach())
                self._pipes.append(pipe)
                pipe.send((self.plan, count))
        except BaseException:
            self.close(at_once=True)
            raise
        return self

    def __exit__(self, kind, value, tb) -> None:
        self.close(at_once=kind is not None)

    def _receive(self, pipe, proc, until: float, what: str):
        while True:
            left = until - time.monotonic()
            if left <= 0:
                raise GeneratorError(f"a generator process did not {what} in time")
            if pipe.poll(min(left, 0.2)):
                try:
                    return pipe.recv()
                except (EOFError, OSError):
                    raise GeneratorError(f"a generator process exited before it could {what}") from None
            if proc.poll() is not None and not pipe.poll(0):
                raise GeneratorError(f"a generator process exited (status {proc.returncode}) before it "
                                     f"could {what}")

    def connect(self) -> int:
        """Wait until every worker has opened its connections; return how many are open."""
        until = time.monotonic() + self.plan.connect_timeout + 30  # + spawning the processes
        connected, errors = 0, []
        for pipe, proc in zip(self._pipes, self._workers):
            word, n, error = self._receive(pipe, proc, until, "open its connections")
            connected += n
            if error:
                errors.append(error)
        if errors:
            raise GeneratorError(errors[0])
        return connected

    def go(self, lead: float = 0.1) -> tuple[float, float]:
        """Start the load; return the measured interval on time.monotonic()."""
        self._t0 = time.monotonic() + lead
        for pipe in self._pipes:
            pipe.send(("go", self._t0))
        start = self._t0 + self.plan.warmup
        return start, start + self.plan.duration

    def stop(self) -> None:
        """End the load (call it once the server's CPU time at the interval's end is read)."""
        if self._stopped:
            return
        self._stopped = True
        for pipe in self._pipes:
            try:
                pipe.send(("stop",))
            except (BrokenPipeError, OSError):
                pass

    def collect(self) -> Measured:
        """Stop the load if it is still on, and gather what every worker measured."""
        assert self._t0 is not None
        self.stop()
        until = self._t0 + self.plan.warmup + self.plan.duration + TAIL + DRAIN_MAX + 30
        results = [self._receive(pipe, proc, until, "report")[1] for pipe, proc in zip(self._pipes, self._workers)]
        return Measured.combine(self.plan, self.loop, results)

    def close(self, at_once: bool = False) -> None:
        """End every worker: those that reported exit by themselves; after an error or
        Ctrl-C (``at_once``) they are terminated without waiting."""
        for pipe in self._pipes:
            try:
                pipe.close()
            except OSError:
                pass
        for proc in self._workers:
            try:
                proc.wait(timeout=0 if at_once else 5)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._workers, self._pipes = [], []
