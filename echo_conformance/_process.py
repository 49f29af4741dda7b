"""Looking at a server's process tree (psutil): descriptors, threads, children, memory, CPU."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import psutil

from . import _budget
from ._keeper import descendants


@dataclass(frozen=True)
class Snapshot:
    processes: int  # the server and its live descendants
    zombies: int  # descendants that exited and were never reaped
    fds: int
    threads: int
    rss: int  # bytes, summed over the tree

    def growth(self, baseline: "Snapshot") -> dict[str, int]:
        """How many processes, zombies, fds and threads more than ``baseline`` (those that grew)."""
        counts = {"processes": (self.processes, baseline.processes), "zombie(s)": (self.zombies, baseline.zombies),
                  "open fds": (self.fds, baseline.fds), "threads": (self.threads, baseline.threads)}
        return {name: now - then for name, (now, then) in counts.items() if now > then}

    def count(self, name: str) -> int:
        """One of the counts, by the name ``growth`` gives it."""
        return {"processes": self.processes, "zombie(s)": self.zombies, "open fds": self.fds,
                "threads": self.threads}[name]

    def within(self, baseline: "Snapshot", allowance: int) -> bool:
        """No count more than ``allowance`` above ``baseline``'s (``_bounds.leak_allowance``)."""
        return all(grown <= allowance for grown in self.growth(baseline).values())

    def describe(self) -> str:
        return (f"{self.processes} process(es), {self.zombies} zombie(s), {self.fds} open fds, "
                f"{self.threads} threads, {self.rss / 2**20:.1f} MiB RSS")


def snapshot(pid: int) -> Snapshot:
    root = psutil.Process(pid)
    # Not root.children(): psutil finds children by reading every process's stat on the
    # machine, and checks poll this every 50 ms while a run has hundreds of processes.
    procs = [root, *_processes(descendants(pid))]
    live = zombies = fds = threads = rss = 0
    for proc in procs:
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                zombies += 1
                continue
            with proc.oneshot():
                fds += proc.num_fds()
                threads += proc.num_threads()
                rss += proc.memory_info().rss
            live += 1
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            pass
    return Snapshot(live, zombies, fds, threads, rss)


def wait_for(pid: int, done, within: float) -> Snapshot | None:
    """Poll the tree (up to ``within``, and no longer than the case's budget allows) until
    ``done(snapshot)``; return the last snapshot, or None if the server process is gone."""
    deadline = time.monotonic() + within
    budget = _budget.current()
    while True:
        try:
            now = snapshot(pid)
        except psutil.NoSuchProcess:
            return None
        if done(now) or time.monotonic() > deadline or budget.expired("wait_for"):
            return now
        time.sleep(0.05)  # polling /proc: there is no event for "a thread ended"


def settle(pid: int, baseline: Snapshot, allowance: int, within: float, stall: float) -> Snapshot | None:
    """Wait (up to ``within``) for the tree's process, zombie, fd and thread counts to come
    within ``allowance`` of ``baseline``'s -- servers release per-connection resources
    asynchronously -- or until they have not come down for ``stall`` seconds: a release under
    way keeps bringing them down, a leak stays where it is."""
    least, since = None, time.monotonic()

    def done(now: Snapshot) -> bool:
        nonlocal least, since
        if now.within(baseline, allowance):
            return True
        excess = sum(now.growth(baseline).values())
        if least is None or excess < least:
            least, since = excess, time.monotonic()
        return time.monotonic() - since >= stall

    return wait_for(pid, done, within)


def steady(pid: int, within: float, window: float) -> Snapshot | None:
    """The tree's counts once they have stopped changing for ``window`` seconds
    (``Bounds.steady_window``), or after ``within``, whichever comes first; None if the server
    process is gone.  Used for a baseline after warm-up, when per-connection resources are
    still being released."""
    last, since = None, time.monotonic()

    def done(now: Snapshot) -> bool:
        nonlocal last, since
        key = (now.processes, now.zombies, now.fds, now.threads)
        if key != last:
            last, since = key, time.monotonic()
            return False
        return time.monotonic() - since >= window

    return wait_for(pid, done, within)


def memory(pid: int) -> int:
    """The tree's memory in bytes: the sum of each process's proportional set size (PSS), so
    pages that forked children share copy-on-write count once, not once per process (RSS
    would make a prefork server's 64 idle children look like 64 copies of the parent)."""
    total = 0
    for proc in [psutil.Process(pid), *_processes(descendants(pid))]:
        try:
            info = proc.memory_full_info()
            total += getattr(info, "pss", info.rss)
        except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
            pass
    return total


def _processes(pids: list[int]) -> list[psutil.Process]:
    procs = []
    for pid in pids:
        try:
            procs.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            pass
    return procs


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system, every thread) the tree of ``pid`` has used so far, for
    differences over a window (``cpu_seconds(pid)`` at its end less at its start).

    Each process counts its own time and the time of the children it has reaped: the kernel
    adds a child's total (its own and what it reaped in turn) to the parent's "children" time
    when the parent waits for it, so CPU used in the window by a child that exits before the
    window ends is still counted, by its parent, however briefly the child lived.  A reap
    between the reading of a parent and of its child would count the child twice (or not at
    all), so the tree is read twice and read again while the two readings disagree on which
    processes there are or on what any of them has reaped (a reap is rare; at most a few
    retries).  What is not counted: a child reaped by a process outside the tree (an orphan the
    keeper reaps) or never waited for (SIGCHLD ignored: the kernel discards its times).
    Resolution: the kernel's clock tick (10 ms) per process, user and system each.  Raises
    ``psutil.NoSuchProcess`` when ``pid`` is gone."""
    table = _cpu_table(pid)
    for _ in range(5):
        again = _cpu_table(pid)
        agree = again.keys() == table.keys() and all(again[p][1] == table[p][1] for p in table)
        table = again
        if agree:
            break
    return sum(own + reaped for own, reaped in table.values())


def _cpu_table(pid: int) -> dict[int, tuple[float, float]]:
    """pid -> (its own CPU seconds, its reaped children's) for ``pid`` and its descendants."""
    table = {}
    for proc in [psutil.Process(pid), *_processes(descendants(pid))]:
        try:
            t = proc.cpu_times()
        except psutil.NoSuchProcess:
            if proc.pid == pid:
                raise
            continue
        table[proc.pid] = (t.user + t.system, t.children_user + t.children_system)
    return table


def runnable(pid: int) -> dict[int, float]:
    """Seconds each live thread of the tree of ``pid`` has been runnable so far -- on a CPU, or
    waiting in a run queue for one (``/proc/PID/task/TID/schedstat``, Linux) -- keyed by
    thread id; for :func:`runnable_in`.  Empty where the kernel does not keep these.

    A thread that spins is runnable all the time, whether it gets a core or waits for one,
    while its CPU time shrinks with every other process that wants the core; only time a
    hypervisor takes from the virtual CPU (steal) is missing.  A thread that sleeps in a wait
    is neither; one that wakes now and then is runnable a little longer on a busy machine,
    as it waits its turn each time.  Raises ``psutil.NoSuchProcess`` when ``pid`` is gone."""
    found = {}
    for process in [pid, *descendants(pid)]:
        try:
            tids = os.listdir(f"/proc/{process}/task")
        except OSError:  # gone meanwhile
            if process == pid:
                raise psutil.NoSuchProcess(pid) from None
            continue
        for tid in tids:
            try:
                with open(f"/proc/{process}/task/{tid}/schedstat") as f:
                    on_cpu, queued = f.read().split()[:2]
            except (OSError, ValueError):  # ended meanwhile, or no schedstat
                continue
            found[int(tid)] = (int(on_cpu) + int(queued)) / 1e9
    return found


def runnable_in(before: dict[int, float], after: dict[int, float]) -> float:
    """Runnable seconds between two :func:`runnable` readings: each thread's growth; a thread
    that started in between counts from zero, one that ended in between is not counted (its
    CPU still is, in :func:`cpu_seconds`: a thread that spins does not end)."""
    return sum(seconds - before.get(tid, 0.0) for tid, seconds in after.items())


@dataclass(frozen=True)
class Busy:
    """What a tree used over one window, as shares of one core: the time its threads were
    runnable (None where the kernel keeps no schedstat) and the CPU time it got."""

    seconds: float
    runnable: float | None
    cpu: float

    @property
    def share(self) -> float:
        """The figure a bound judges: the runnable share, else (no schedstat) the CPU share."""
        return self.cpu if self.runnable is None else self.runnable

    def describe(self) -> str:
        cpu = f"CPU {self.cpu:.0%}"
        return cpu if self.runnable is None else f"runnable {self.runnable:.0%} ({cpu})"


def busy_windows(pid: int, *, pause: float, window: float, windows: int, below: float) -> list[Busy]:
    """After ``pause`` seconds, read the tree of ``pid`` over consecutive windows of ``window``
    seconds, and return them once one shows a share (:attr:`Busy.share`) below ``below`` (it is
    the last), once ``windows`` have not, once the case's budget runs out (marked as run out) or
    once the process is gone.  A positive wait: a correct server's burst after work ends, and its
    first quiet window ends the wait; a server that spins never has one."""
    budget = _budget.current()
    time.sleep(max(0.0, min(pause, budget.left())))  # no event says "done with the last work"
    found: list[Busy] = []
    try:
        start, cpu, ready = time.monotonic(), cpu_seconds(pid), runnable(pid)
        while len(found) < windows:
            if budget.left() < window:
                budget.mark("an idle window")
                break
            time.sleep(window)  # the window is the measurement
            now, cpu_now, ready_now = time.monotonic(), cpu_seconds(pid), runnable(pid)
            wall = now - start
            found.append(Busy(wall, runnable_in(ready, ready_now) / wall if ready_now else None,
                              (cpu_now - cpu) / wall))
            if found[-1].share < below:
                break
            start, cpu, ready = now, cpu_now, ready_now
    except psutil.NoSuchProcess:
        pass
    return found
