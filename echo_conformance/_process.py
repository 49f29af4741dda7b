"""Looking at a server's process tree (psutil): descriptors, threads, children, memory."""

from __future__ import annotations

import time
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Snapshot:
    processes: int  # the server and its live descendants
    zombies: int  # descendants that exited and were never reaped
    fds: int
    threads: int
    rss: int  # bytes, summed over the tree

    def back_to(self, baseline: "Snapshot") -> bool:
        """No more processes, fds or threads than ``baseline``, and no zombie."""
        return (self.processes <= baseline.processes and self.zombies == 0
                and self.fds <= baseline.fds and self.threads <= baseline.threads)

    def describe(self) -> str:
        return (f"{self.processes} process(es), {self.zombies} zombie(s), {self.fds} open fds, "
                f"{self.threads} threads, {self.rss / 2**20:.1f} MiB RSS")


def snapshot(pid: int) -> Snapshot:
    root = psutil.Process(pid)
    procs = [root]
    try:
        procs += root.children(recursive=True)
    except psutil.NoSuchProcess:
        pass
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
    """Poll the tree (up to ``within``) until ``done(snapshot)``; return the last snapshot,
    or None if the server process is gone."""
    deadline = time.monotonic() + within
    while True:
        try:
            now = snapshot(pid)
        except psutil.NoSuchProcess:
            return None
        if done(now) or time.monotonic() > deadline:
            return now
        time.sleep(0.05)  # polling /proc: there is no event for "a thread ended"


def settle(pid: int, baseline: Snapshot, within: float) -> Snapshot | None:
    """Wait (up to ``within``) for the tree to return to ``baseline``'s process, fd and
    thread counts with no zombie -- servers release per-connection resources
    asynchronously."""
    return wait_for(pid, lambda now: now.back_to(baseline), within)
