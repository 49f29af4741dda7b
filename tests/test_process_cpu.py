"""``_process.cpu_seconds``: the CPU a process tree uses over a window, counted wherever in the
tree it was burnt -- a thread, a live child, a child that exited (reaped by its parent), a
grandchild reaped by the child -- and nothing for a tree that sleeps.  ``_process.runnable``:
a thread that spins is runnable all the window long, one that sleeps is not.

Each case starts a small tree (below), takes a reading, tells the tree to go, waits for it to
say it is done, and takes a second reading.  The burners stop at a fixed amount of their own
CPU time (``BURN``), so the expected difference does not depend on how busy the machine is;
a runnable thread is runnable whether it gets a core or waits for one, so neither does that.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from echo_conformance import _budget
from echo_conformance._process import busy_windows, cpu_seconds, runnable, runnable_in

BURN = 0.3  # CPU seconds each burner uses
TICK = 0.01  # the kernel's accounting unit per process (user and system each)

#: The tree: prepares what the mode needs, says "ready", waits for "go" on stdin, has BURN
#: CPU seconds burnt (or sleeps, or starts a thread that spins for good), says "done", then
#: waits to be killed.
TREE = r"""
import os, sys, threading, time

def burn(clock=time.process_time):
    end = clock() + BURN
    while clock() < end:
        pass

def spin():
    while True:
        pass

def forked(body):
    pid = os.fork()
    if pid == 0:
        body()
        os._exit(0)
    return pid

BURN, mode = float(sys.argv[1]), sys.argv[2]
if mode in ("child-lives", "grandchild-exits"):
    go_r, go_w = os.pipe()
    done_r, done_w = os.pipe()
    def child():
        os.read(go_r, 1)
        if mode == "child-lives":
            burn()
        else:
            os.waitpid(forked(burn), 0)
        os.write(done_w, b"x")
        time.sleep(3600)
    forked(child)
print("ready", flush=True)
sys.stdin.readline()
if mode == "sleeps":
    time.sleep(BURN)
elif mode == "thread":
    worker = threading.Thread(target=burn, args=(time.thread_time,))
    worker.start()
    worker.join()
elif mode == "child-exits":
    os.waitpid(forked(burn), 0)
elif mode == "spins":
    threading.Thread(target=spin, daemon=True).start()
else:
    os.write(go_w, b"x")
    os.read(done_r, 1)
print("done", flush=True)
time.sleep(3600)
"""

CASES = [
    # mode, CPU the window must show (seconds)
    ("sleeps", 0.0),
    ("thread", BURN),
    ("child-exits", BURN),
    ("child-lives", BURN),
    ("grandchild-exits", BURN),
]


@pytest.mark.parametrize("mode, expected", CASES)
def test_cpu_seconds_counts_the_whole_tree(mode, expected):
    with _tree(mode) as tree:
        before = cpu_seconds(tree.pid)
        _go(tree)
        used = cpu_seconds(tree.pid) - before
    # Python's own work around the burn (a fork, a thread's start, the pipes) is a few ms.
    assert expected - 2 * TICK <= used <= expected + 0.05, f"{mode}: {used:.3f} CPU s, expected {expected}"


WINDOW = 0.5


@pytest.mark.parametrize("mode, low, high", [
    # mode, the share of the window the tree must be runnable (at least, at most)
    ("sleeps", 0.0, 0.2),  # waking up, and waiting for a core on a busy machine: 8% seen
    ("spins", 0.8, 1.1),  # a thread that started in the window counts from zero
])
def test_runnable_counts_a_spinning_thread_however_busy_the_machine(mode, low, high):
    with _tree(mode) as tree:
        before, start = runnable(tree.pid), time.monotonic()
        _go(tree)
        time.sleep(WINDOW)  # the window is the measurement
        share = runnable_in(before, runnable(tree.pid)) / (time.monotonic() - start)
    assert low <= share <= high, f"{mode}: runnable {share:.0%} of the window"


@pytest.mark.parametrize("mode, budget, windows, ran_out", [
    # mode, the case's budget (s), the windows read, whether the budget ran out
    ("sleeps", 10.0, 1, False),  # the first quiet window ends the wait
    ("spins", 10.0, 3, False),  # never quiet: every window is read
    ("spins", 0.3, 1, True),  # the budget leaves room for one 0.2 s window
])
def test_busy_windows_end_at_the_first_quiet_window(mode, budget, windows, ran_out):
    with _tree(mode) as tree:
        _go(tree)
        with _budget.running(budget, "test") as running:
            found = busy_windows(tree.pid, pause=0.0, window=0.2, windows=3, below=0.4)
    assert len(found) == windows and running.ran_out == ran_out, found
    assert all(w.share >= 0.4 for w in found[:-1])
    assert (found[-1].share < 0.4) == (mode == "sleeps"), found


def test_busy_windows_of_a_gone_process_are_none():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert busy_windows(proc.pid, pause=0.0, window=0.1, windows=3, below=0.4) == []


@pytest.mark.parametrize("reading", [cpu_seconds, runnable])
def test_a_gone_process_raises(reading):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    with pytest.raises(psutil.NoSuchProcess):
        reading(proc.pid)


@contextlib.contextmanager
def _tree(mode: str):
    """The tree in ``mode``, ready.  Killed (its whole session) on the way out."""
    tree = subprocess.Popen([sys.executable, "-c", TREE, str(BURN), mode], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert tree.stdout.readline().strip() == "ready"
        yield tree
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(tree.pid, signal.SIGKILL)
        tree.wait()


def _go(tree: subprocess.Popen) -> None:
    """Tell the tree to go, and wait until it says it is done."""
    tree.stdin.write("go\n")
    tree.stdin.flush()
    assert tree.stdout.readline().strip() == "done"
