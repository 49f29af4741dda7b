"""Looking at a server's process tree (psutil): descriptors, threads, children, memory."""

from __future__ import annotations

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


def settle(pid: int, baseline: Snapshot, allowance: int, within: float) -> Snapshot | None:
    """Wait (up to ``within``) for the tree's process, zombie, fd and thread counts to come
    within ``allowance`` of ``baseline``'s -- servers release per-connection resources
    asynchronously."""
    return wait_for(pid, lambda now: now.within(baseline, allowance), within)


def steady(pid: int, within: float, window: float) -> Snapshot | None:
    """The tree's counts once they have stopped changing for ``window`` seconds
    (``Bounds.steady_window``), or after ``within``, whichever comes first; None if the server
    process is gone.  Used for a baseline after warm-up, when per-connection resources are
    still being released."""
    deadline = time.monotonic() + within
    last = None
    since = time.monotonic()
    while True:
        try:
            now = snapshot(pid)
        except psutil.NoSuchProcess:
            return None
        key = (now.processes, now.zombies, now.fds, now.threads)
        if last is None or key != last:
            last, since = key, time.monotonic()
        elif time.monotonic() - since >= window or time.monotonic() > deadline:
            return now
        time.sleep(0.05)  # polling /proc: there is no event for "a descriptor was closed"


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
