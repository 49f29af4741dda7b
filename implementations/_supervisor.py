"""The parent of the multi-process reference servers (echo_prefork, echo_reactors_processes):
fork a worker for each slot, replace one that dies, stop and reap them all on SIGTERM/SIGINT.

How it stays correct:
- The parent blocks SIGTERM, SIGINT and SIGCHLD (block_signals) before its port accepts
  anything, and takes them with sigwaitinfo() in supervise(), in one place: no handler can run
  between a fork() and recording the child's pid, and a SIGCHLD is never lost while it forks.
- A worker keeps SIGTERM's and SIGINT's default action: it dies at once, wherever it is, and the
  kernel closes its sockets. It also asks the kernel to SIGKILL it when the parent dies, however
  the parent dies (even by SIGKILL, when it cannot stop its workers itself): an orphaned worker
  would go on serving the port, and a restart could not bind it or would share it.
- A worker never returns into the parent's code: the parent's `finally` would stop the worker's
  siblings (the worker holds a copy of the parent's table of workers).
- A worker that dies young is failing, not unlucky: it is replaced only after a pause, so the
  parent does not become a fork loop.
"""

import ctypes
import logging
import os
import signal
import time

log = logging.getLogger("supervisor")

STOP = {signal.SIGTERM, signal.SIGINT}
WATCH = STOP | {signal.SIGCHLD}
YOUNG = 1.0          # seconds: a worker that dies younger than this is failing
RESPAWN_PAUSE = 1.0  # seconds to wait before replacing it
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def block_signals():
    """Call first, before listening: the harness may send SIGTERM as soon as the port accepts."""
    signal.pthread_sigmask(signal.SIG_BLOCK, WATCH)


def fork_worker(work):
    """Fork a worker that runs work() and exits; return its pid. Call with the signals blocked."""
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    try:
        for signum in STOP:
            signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, WATCH)
        _die_with_parent(parent)
        work()
    except BaseException:
        log.exception("worker %d failed", os.getpid())
    finally:
        os._exit(1)


def _die_with_parent(parent):
    """Linux: have the kernel SIGKILL this worker when the parent dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux
        pass
    if os.getppid() != parent:  # the parent died before we asked
        os._exit(0)


def supervise(slots, start, workers):
    """Keep a worker in each slot until a stop signal arrives.

    start(slot) forks a worker for that slot and returns its pid. workers maps pid -> (slot,
    start time): the workers running, those started before the call included; the caller
    stops what is left in it (stop()).
    """
    idle = set(slots) - {slot for slot, _ in workers.values()}  # slots whose worker must start
    pause_until = 0.0
    while True:
        now = time.monotonic()
        if idle and now >= pause_until:
            for slot in sorted(idle):
                workers[start(slot)] = (slot, now)
            idle.clear()
        if idle:  # replacements paused: wake when they may start
            info = signal.sigtimedwait(WATCH, pause_until - now)
            if info is None:
                continue
        else:
            info = signal.sigwaitinfo(WATCH)
        if info.si_signo in STOP:
            log.debug("%s received, stopping %d workers", signal.Signals(info.si_signo).name,
                      len(workers))
            return
        # SIGCHLD: several workers may have died for one signal; reap them all.
        while workers:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            slot, started = workers.pop(pid)
            log.warning("worker %d (pid %d) %s; replacing it", slot, pid, _describe(status))
            idle.add(slot)
            if time.monotonic() - started < YOUNG:
                pause_until = time.monotonic() + RESPAWN_PAUSE


def _describe(status):
    code = os.waitstatus_to_exitcode(status)
    return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"


def stop(workers):
    """SIGTERM every worker and reap it: none outlives the parent holding the port."""
    for pid in workers:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:  # already dead, not yet reaped
            pass
    for pid in workers:  # a worker not yet past its SIG_UNBLOCK dies right there
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    workers.clear()
