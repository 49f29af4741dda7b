"""Running the bench: which points each implementation gets, its server(s), and one point.

Each implementation is started once (through the suite's launch harness: a keeper process per
server, so none outlives the bench, Ctrl-C included) and measured at every point that applies
to it, one after the other; a relay is started in front of a fresh upstream (the fastest
baseline), which is also measured directly in the same run.  During a point's measured interval
the bench process itself only sleeps; it reads the server's CPU time (its whole process tree)
and the machine's at both ends.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field, replace

import psutil

from .._bounds import Bounds
from .._address import Address
from .._launch import LaunchError, Server, free_port
from ._baselines import fastest
from ._generator import SATURATED, Generator, GeneratorError, Measured, Plan, auto_processes
from ._point import CPU, Point, Ratios, Setup, Spread, Traffic

#: Pause between two points, for the server to close the previous point's connections ...
SETTLE = 0.3
#: ... and, for a server with a process per connection, at most this long for the previous
#: point's processes to exit (their exit would be counted in the next point's CPU time).
SETTLE_PROCESSES = 10.0


@dataclass(frozen=True)
class Settings:
    connections: tuple[int, ...]
    sizes: tuple[int, ...]
    duration: float
    warmup: float
    processes: int | None = None  # None: auto (one per core, at most one per connection)
    loop: str = "auto"
    rate: float | None = None  # open loop at this many messages a second in all
    work_us: float = 0.0  # test hook (see _generator.Plan)
    bounds: Bounds = field(default_factory=Bounds)

    @property
    def mode(self) -> str:
        return "closed" if self.rate is None else "open"


# --- which points ------------------------------------------------------------------------------

def points_for(impl, settings: Settings) -> tuple[list[tuple[int, int]], list[dict]]:
    """The (connections, size) points ``impl`` is measured at, and those skipped, with why."""
    points, skipped = [], []

    def skip(connections, size, reason):
        skipped.append({"implementation": impl.name, "connections": connections, "size": size,
                        "reason": reason})

    if "tcp" not in impl.transports:
        skip(None, None, "serves no TCP: the bench is TCP ping-pong")
        return points, skipped
    # Above what it holds (``Implementation.held_connections``: the suite's default unless it
    # declares more): a server that holds 10,000 connections is a claim to make, not to assume.
    limit = impl.held_connections
    for n in settings.connections:
        for size in settings.sizes:
            if impl.model == "serial" and n > 1:
                skip(n, size, "serial: it serves one client at a time, so every connection but one "
                              "would only wait")
            elif n > limit:
                declared = ("declares" if impl.connections or impl.capacity
                            else "does not declare more than the default of")
                skip(n, size, f"{declared} {limit:,} connections (--impl-connections N, or "
                              f"connections = N in a manifest)")
            else:
                points.append((n, size))
    return points, skipped


# --- the server side ---------------------------------------------------------------------------

#: (pid, start time) -> (user, system) CPU seconds: the process's own plus its reaped children's
TreeCPU = dict


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") and "SC_CLK_TCK" in os.sysconf_names else 100


def tree_cpu(pid: int) -> TreeCPU:
    """A reading of the CPU time of process ``pid`` and each of its live descendants: their
    own, and that of the children each has reaped (``children_*``).

    On Linux it reads ``/proc/*/stat`` once per process (one file holds the parent, the four
    times and the start time): a fork server's tree of 1,000 processes is read in a few tens of
    milliseconds, where psutil's several reads per process took a second on a loaded machine
    -- a second that would blur the interval measured.  Elsewhere, psutil."""
    if os.path.isdir("/proc/self"):
        reading = _proc_tree_cpu(pid)
        if reading is not None:
            return reading
    return _psutil_tree_cpu(pid)


def _proc_tree_cpu(pid: int) -> TreeCPU | None:
    children: dict[int, list[int]] = {}
    stats: dict[int, list[bytes]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rindex(b")") + 2:].split()  # after "pid (comm) ": state, ppid, ...
        n = int(entry)
        stats[n] = fields
        children.setdefault(int(fields[1]), []).append(n)
    if pid not in stats:
        raise psutil.NoSuchProcess(pid)
    reading: TreeCPU = {}
    todo = [pid]
    while todo:
        n = todo.pop()
        f = stats[n]
        try:  # utime stime cutime cstime are fields 14-17 of stat, starttime 22
            user, system = (int(f[11]) + int(f[13])) / _TICK, (int(f[12]) + int(f[14])) / _TICK
            reading[(n, int(f[19]))] = (user, system)
        except (IndexError, ValueError):
            return None
        todo.extend(children.get(n, ()))
    return reading


def _psutil_tree_cpu(pid: int) -> TreeCPU:
    root = psutil.Process(pid)
    reading: TreeCPU = {}
    for proc in [root, *root.children(recursive=True)]:
        try:
            with proc.oneshot():
                t = proc.cpu_times()
                reading[(proc.pid, proc.create_time())] = (t.user + t.children_user, t.system + t.children_system)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            if proc is root:
                raise psutil.NoSuchProcess(pid)
    return reading


def cpu_between(before: TreeCPU, after: TreeCPU) -> tuple[float, float]:
    """(user, system) CPU seconds the tree used between two readings.  A process reaped in
    between had its whole lifetime's CPU added to its parent's ``children_*``, so what it had
    used by the first reading is taken off again; one born in between counts from zero."""
    user = system = 0.0
    for key, (u1, s1) in after.items():
        u0, s0 = before.get(key, (0.0, 0.0))
        user, system = user + u1 - u0, system + s1 - s0
    for key, (u0, s0) in before.items():
        if key not in after:
            user, system = user - u0, system - s0
    return max(user, 0.0), max(system, 0.0)


def machine_cpu() -> float:
    """CPU seconds the whole machine has spent busy (not idle, not waiting for I/O), all cores."""
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)


class Subject:
    """An implementation's running server(s): the relay's upstream first, if it is one."""

    def __init__(self, impl, bounds: Bounds) -> None:
        self.impl, self.bounds = impl, bounds
        self.server: Server | None = None
        self.upstream: Server | None = None
        self.upstream_impl = fastest() if impl.kind == "relay" else None

    @property
    def address(self) -> Address:
        if self.impl.target is not None:
            return Address(*self.impl.target)
        assert self.server is not None
        return self.server.address

    @property
    def pid(self) -> int | None:
        return self.server.pid if self.server is not None else None

    def start(self) -> "Subject":
        if self.impl.target is not None:
            return self
        upstream_address = None
        try:
            if self.upstream_impl is not None:
                self.upstream = Server(self.upstream_impl, Address("127.0.0.1", free_port()), self.bounds).start()
                upstream_address = self.upstream.address
            self.server = Server(self.impl, Address("127.0.0.1", free_port()), self.bounds,
                                 upstream=upstream_address).start()
        except BaseException:
            self.stop()
            raise
        return self

    def tree_size(self) -> int | None:
        try:
            return len(tree_cpu(self.pid)) if self.pid else None
        except psutil.NoSuchProcess:
            return None

    def settle(self, processes: int | None) -> None:
        """Wait a moment, and until the server's tree is back to ``processes`` processes
        (bounded by SETTLE_PROCESSES)."""
        time.sleep(SETTLE)
        if processes is None:
            return
        deadline = time.monotonic() + SETTLE_PROCESSES
        while time.monotonic() < deadline:
            size = self.tree_size()
            if size is None or size <= processes:
                return
            time.sleep(0.05)  # polling /proc: there is no event for "a child exited"

    def alive(self) -> bool:
        if self.impl.target is not None:
            return True
        return all(s is None or s.alive() for s in (self.server, self.upstream))

    def stop(self) -> None:
        for server in (self.server, self.upstream):
            if server is not None:
                server.stop()


# --- one point -----------------------------------------------------------------------------------

def _percentile(sorted_ns: list[int], q: float) -> float | None:
    """Nearest-rank percentile, in microseconds."""
    if not sorted_ns:
        return None
    rank = max(1, -(-len(sorted_ns) * q // 100))  # ceil(n * q / 100)
    return sorted_ns[int(rank) - 1] / 1000


def _sleep_until(instant: float) -> None:
    left = instant - time.monotonic()
    if left > 0:
        time.sleep(left)


def measure(subject: Subject, connections: int, size: int, settings: Settings) -> Point:
    """Run one point.  A point that could not be run has ``error`` set and no numbers."""
    processes = min(settings.processes or auto_processes(connections), connections)
    setup = _setup(subject, connections, size, settings, processes)
    plan = Plan(host=subject.address.host, port=subject.address.port, connections=connections, size=size,
                warmup=settings.warmup, duration=settings.duration, processes=processes,
                loop=settings.loop, rate=settings.rate, connect_timeout=settings.bounds.crowd * 3,
                work_us=settings.work_us)
    try:
        measured, usage = _load(subject, plan)
    except GeneratorError as exc:
        return Point(setup, error=str(exc))
    except psutil.NoSuchProcess:
        return Point(setup, error="the server exited during the point")
    traffic = _traffic(measured, settings, size)
    return Point(setup, traffic, _cpu(usage, measured, traffic.round_trips_per_s), error=_problems(measured))


def _setup(subject: Subject, connections: int, size: int, settings: Settings, processes: int) -> Setup:
    impl = subject.impl
    return Setup(implementation=impl.name, kind=impl.kind, model=impl.model, connections=connections, size=size,
                 mode=settings.mode, duration_s=settings.duration, warmup_s=settings.warmup,
                 generator_processes=processes, offered_rate=settings.rate,
                 upstream=subject.upstream_impl.name if subject.upstream_impl is not None else None)


@dataclass(frozen=True)
class CPUReading:
    """The CPU time at one end of the measured interval, and when it was read."""

    at: float  # time.monotonic()
    server: TreeCPU | None
    upstream: TreeCPU | None
    machine: float


@dataclass(frozen=True)
class Usage:
    """The CPU time used in the measured interval: (user, system) seconds of the server's tree
    and of its upstream's (None where not known), and the machine's busy seconds."""

    wall: float
    server: tuple[float, float] | None
    upstream: tuple[float, float] | None
    machine: float

    @classmethod
    def between(cls, before: CPUReading, after: CPUReading) -> "Usage":
        return cls(wall=after.at - before.at,
                   server=None if before.server is None else cpu_between(before.server, after.server),
                   upstream=None if before.upstream is None else cpu_between(before.upstream, after.upstream),
                   machine=after.machine - before.machine)


def _read_cpu(server_pid: int | None, upstream_pid: int | None) -> CPUReading:
    # Reading a tree of 1,000 processes takes a few ms: the reading is timed at the middle of
    # the time it took.
    began = time.monotonic()
    server = tree_cpu(server_pid) if server_pid else None
    upstream = tree_cpu(upstream_pid) if upstream_pid else None
    machine = machine_cpu()
    return CPUReading((began + time.monotonic()) / 2, server, upstream, machine)


def _load(subject: Subject, plan: Plan) -> tuple[Measured, Usage]:
    """Drive one point's load; read the CPU time at both ends of its measured interval while the
    load is on (the bench itself only sleeps in between)."""
    server_pid = subject.pid
    upstream_pid = subject.upstream.pid if subject.upstream is not None else None
    with Generator(plan) as generator:
        generator.connect()
        start, end = generator.go()
        _sleep_until(start)
        before = _read_cpu(server_pid, upstream_pid)
        _sleep_until(end)
        after = _read_cpu(server_pid, upstream_pid)
        generator.stop()  # only now: the server was under load for both readings
        measured = generator.collect()
    return measured, Usage.between(before, after)


def _traffic(measured: Measured, settings: Settings, size: int) -> Traffic:
    """The generator's part of a point: throughput, latencies, its own effort, what it saw fail."""
    rate = measured.round_trips / settings.duration  # messages are counted by their completion time in the interval
    lat = measured.latencies_ns
    open_loop = settings.rate is not None
    return Traffic(
        generator_loop=measured.loop, round_trips=measured.round_trips, round_trips_per_s=rate,
        mib_per_s=rate * size / 2**20, samples=len(lat), p50_us=_percentile(lat, 50), p90_us=_percentile(lat, 90),
        p99_us=_percentile(lat, 99), p999_us=_percentile(lat, 99.9), max_us=lat[-1] / 1000 if lat else None,
        generator_cpu_percent=100 * measured.cpu_s / measured.wall_s if measured.wall_s else None,
        generator_busy_percent=100 * measured.busiest,
        generator_wait_percent=100 * measured.busiest_waiting if measured.run_delay_measured else None,
        generator_saturated=measured.saturated, lost_connections=measured.lost, stalled_messages=measured.stalled,
        unsent=measured.unsent if open_loop else None,
        send_lag_p99_us=_percentile(measured.send_lag_ns, 99) if open_loop else None,
    )


def _cpu(usage: Usage, measured: Measured, rate: float) -> CPU:
    """The CPU part of a point: the server's (in all, and per round trip), its upstream's, the machine's."""
    wall = usage.wall
    if wall <= 0:
        return CPU()

    def per_rt(seconds: float | None) -> float | None:
        return 1e6 * seconds / wall / rate if seconds is not None and rate else None

    user, system = usage.server if usage.server is not None else (None, None)
    total = None if usage.server is None else user + system
    return CPU(server_cpu_us_per_rt=per_rt(total), server_user_us_per_rt=per_rt(user),
               server_system_us_per_rt=per_rt(system),
               server_cpu_percent=None if total is None else 100 * total / wall,
               upstream_cpu_us_per_rt=per_rt(None if usage.upstream is None else sum(usage.upstream)),
               machine_cpu_percent=100 * usage.machine / wall, other_cpu_percent=_other_cpu_percent(usage, measured))


def _other_cpu_percent(usage: Usage, measured: Measured) -> float | None:
    """What else ran during the interval: the machine's CPU use less the server's, its
    upstream's and the generator's (known only where the server's is)."""
    if usage.server is None or not measured.wall_s:
        return None
    ours = sum(usage.server) / usage.wall + sum(usage.upstream or ()) / usage.wall + measured.cpu_s / measured.wall_s
    return max(0.0, 100 * (usage.machine / usage.wall - ours))


def _problems(measured: Measured) -> str | None:
    """Why the point failed, if it did: every problem the generator saw, the first error first."""
    problems = []
    if measured.errors:
        problems.append(measured.errors[0])
    if measured.stalled:
        problems.append(f"{measured.stalled} message(s) not echoed within {measured.drain_s:.1f} s after the load "
                        "stopped")
    if measured.held:
        problems.append(f"the generator's event loop ({measured.loop}) sent {measured.held} message(s) only after "
                        "the load stopped: a failure of the generator, not of the server (try "
                        "--generator-loop asyncio)")
    if measured.extra_bytes:
        problems.append(f"{measured.extra_bytes:,} bytes came back beyond the echo")
    if measured.unsent:
        problems.append(f"{measured.unsent:,} scheduled message(s) not sent: the server did not keep up "
                        "with the offered rate")
    if not measured.round_trips:
        problems.append("no round trip completed in the measured interval")
    return "; ".join(problems) or None


# --- the whole run --------------------------------------------------------------------------------

def _say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


def run(impls: list, settings: Settings, progress=_say) -> tuple[list[Point], list[dict], list[dict]]:
    """Measure every point of every implementation; return (points, skipped, failures)."""
    points, skipped, failures = [], [], []
    for impl in impls:
        todo, skips = points_for(impl, settings)
        skipped += skips
        for s in skips:
            if s["connections"] is None:
                progress(f"{impl.name}: skipped ({s['reason']})")
        if not todo:
            continue
        subject = Subject(impl, settings.bounds)
        try:
            subject.start()
        except LaunchError as exc:
            failures.append({"implementation": impl.name, "error": str(exc)})
            progress(f"{impl.name}: could not be started:\n{exc}")
            continue
        try:
            points += _measure_each(subject, todo, settings, progress)
        finally:
            subject.stop()
    return points, skipped, failures


def _measure_each(subject: Subject, todo: list[tuple[int, int]], settings: Settings, progress) -> list[Point]:
    """Measure the started ``subject`` at each (connections, size) of ``todo``, one after the other,
    letting the server settle in between."""
    points = []
    idle = subject.tree_size()
    for connections, size in todo:
        if subject.alive():
            point = measure(subject, connections, size, settings)
        else:
            point = Point(_setup(subject, connections, size, settings, 0), error="the server is no longer running")
        points.append(point)
        progress(describe(point))
        subject.settle(idle)
    return points


def run_rounds(impls: list, settings: Settings, repeat: int,
               progress=_say) -> tuple[list[Point], list[dict], list[dict]]:
    """run() `repeat` times, each with freshly started servers, and keep one run per point:
    the median (see median_point).

    Why whole rounds rather than N measurements in a row: on a shared machine much of the
    spread between two runs of one point comes from where the scheduler put the processes
    (the generator's and the server's on the same CPU or not), and that holds for as long as
    the processes live.  Restarting everything samples it anew."""
    rounds = []
    for number in range(1, repeat + 1):
        if repeat > 1:
            progress(f"run {number} of {repeat}")
        rounds.append(run(impls, settings, progress))
    points: dict[tuple, list[Point]] = {}
    for round_points, _, _ in rounds:
        for p in round_points:
            points.setdefault(p.key, []).append(p)
    failures = {f["implementation"]: f for _, _, fs in rounds for f in fs}
    return [median_point(runs) for runs in points.values()], rounds[0][1], list(failures.values())


def median_point(runs: list[Point]) -> Point:
    """One point for several runs of it: the run with the median server CPU per round trip
    (the median throughput where the server's CPU is not known), whole, so that its numbers
    stay consistent with each other; plus how many runs measured it and their spread.  A run
    that failed makes the point fail: a failure is never outvoted."""
    measured = [p for p in runs if p.measured and not p.error]
    if not measured:
        return replace(runs[0], spread=Spread(repeats=0))
    known = all(p.cpu.server_cpu_us_per_rt is not None for p in measured)
    measured.sort(key=(lambda p: p.cpu.server_cpu_us_per_rt) if known else (lambda p: -p.traffic.round_trips_per_s))
    rts = [p.traffic.round_trips_per_s for p in measured]
    cpus = [p.cpu.server_cpu_us_per_rt for p in measured] if known else None
    spread = Spread(repeats=len(measured), round_trips_per_s_range=(min(rts), max(rts)),
                    server_cpu_us_per_rt_range=(min(cpus), max(cpus)) if cpus else None)
    median = measured[(len(measured) - 1) // 2]
    failed = len(runs) - len(measured)
    if not failed:
        return replace(median, spread=spread)
    first = next(p for p in runs if not p.measured or p.error)
    return replace(median, spread=spread,
                   error=f"{failed} of {len(runs)} runs failed: {first.error or 'nothing was echoed'}")


def describe(p: Point) -> str:
    """One line of progress: the point's throughput, latency and server CPU, or why it failed."""
    head = f"{p.setup.implementation}: {p.setup.connections:,} connection(s), {p.setup.size:,} B"
    if not p.measured:
        return f"{head}: {p.error}"
    text = f"{head}: {p.traffic.round_trips_per_s:,.0f} round trips/s, p99 {p.traffic.p99_us:,.0f} us"
    if p.cpu.server_cpu_us_per_rt is not None:
        text += f", server {p.cpu.server_cpu_us_per_rt:.1f} us CPU/round trip"
    if p.traffic.generator_saturated:
        text += f" [generator saturated: {p.traffic.generator_busy_percent:.0f}% busy]"
    if p.error:
        text += f" ({p.error})"
    return text


def compare(points: list[Point], baseline: str | None) -> list[Point]:
    """The points with their ratios: to the baseline at the same connections and size, and for a
    relay to its upstream measured directly."""
    by_key = {p.key: p for p in points}

    def ratios(p: Point) -> Ratios:
        ref = by_key.get((baseline, p.setup.connections, p.setup.size)) if baseline else None
        direct = by_key.get((p.setup.upstream, p.setup.connections, p.setup.size)) if p.setup.upstream else None
        return Ratios(baseline=baseline if ref else None,
                      cpu_vs_baseline=_ratio(p.cpu.server_cpu_us_per_rt, ref and ref.cpu.server_cpu_us_per_rt),
                      throughput_vs_baseline=_ratio(p.traffic.round_trips_per_s, ref and ref.traffic.round_trips_per_s),
                      throughput_vs_upstream_direct=_ratio(p.traffic.round_trips_per_s,
                                                           direct and direct.traffic.round_trips_per_s))

    return [replace(p, ratios=ratios(p)) for p in points]


def _ratio(a, b):
    return a / b if a is not None and b else None


__all__ = ["Settings", "points_for", "run", "run_rounds", "median_point", "compare", "measure", "Subject",
           "tree_cpu", "SATURATED"]
