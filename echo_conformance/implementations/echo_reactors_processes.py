"""Reactors-in-processes TCP echo server: N worker processes, each a poll loop (nginx).

Model 10 (one loop per process). The parent opens one listening socket per
worker, all bound to the same port with SO_REUSEPORT, forks N workers (--workers,
default one per CPU) and then only supervises. Each worker runs a reactor on
its own socket; the kernel spreads new connections over the sockets by a hash
of the addresses, so no two workers ever compete for a connection (no
thundering herd, no accept lock) and nothing is shared but the port.

Clients block each other only within one process: a slow handler delays the
other connections of its worker. The cost: N processes (no GIL between them,
so N CPUs' worth of Python), and no shared state -- a connection lives and
dies in one worker.

The traps of SO_REUSEPORT, and what this server does about them:
- Each socket has its own accept queue. Had each worker bound its own socket,
  the connections waiting in a dying worker's queue would be reset with it.
  Here the parent holds every socket (nginx does the same): a dead worker's
  queue waits for its replacement, which inherits the same socket. (On stop
  they are reset; Linux >= 5.14 can instead move them to the other sockets of
  the group: sysctl net.ipv4.tcp_migrate_req=1.)
- Any process of the same user may bind the same port with SO_REUSEPORT, and
  a second server started there by mistake would silently get a share of the
  connections. So the parent first binds the port once without it: that fails
  with "Address already in use" if anything listens there.
The parent replaces a worker that dies, and on SIGTERM/SIGINT stops and reaps
every worker before it exits: no zombie, and nothing left listening.
RFC 862: any data received is sent back until the calling user terminates the connection.
"""

import ctypes
import logging
import os
import signal
import socket
import sys
import time

from . import _common as common
from ._reactor import Acceptor, EchoConnection, Reactor

log = logging.getLogger("echo_reactors_processes")

STOP = {signal.SIGTERM, signal.SIGINT}
WATCH = STOP | {signal.SIGCHLD}
# A worker that dies this young is failing, not unlucky: replace it only after
# a pause, so the parent does not become a fork loop.
YOUNG = 1.0
RESPAWN_PAUSE = 1.0
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


# --- the listening sockets ----------------------------------------------------

def listen_all(host, port, count):
    """`count` listening sockets on host:port, in one SO_REUSEPORT group."""
    family, sockaddr = common.resolve(host, port)
    # Refuse a port that something listens on already (see the docstring):
    # without SO_REUSEPORT this bind fails if any socket is listening there.
    # SO_REUSEADDR still lets it past the TIME_WAIT of a previous run.
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(sockaddr)
    listeners = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            listeners.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind(sockaddr)
            sock.listen(common.BACKLOG)
            sockaddr = sock.getsockname()  # with --port 0, the rest join the first's port
    except BaseException:
        for sock in listeners:
            sock.close()
        raise
    return listeners


# --- a worker: one reactor on its own socket ------------------------------------

def worker(listener):
    reactor = Reactor()
    Acceptor(reactor, listener, lambda sock: EchoConnection(reactor, sock))
    reactor.run()


def die_with_parent(parent):
    """Linux: have the kernel SIGKILL this worker when the parent dies, however
    it dies (even by SIGKILL, when it cannot stop its workers itself). An
    orphaned worker would go on serving the port, sharing it with the next run."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux
        pass
    if os.getppid() != parent:  # the parent died before we asked
        os._exit(0)


def spawn(listeners, slot):
    """Fork the worker for listeners[slot]; return its pid. Called with WATCH
    blocked, so no signal can run parent code in the child between fork() and
    its own handlers."""
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    try:
        # A worker keeps SIGTERM's and SIGINT's default action: it dies at
        # once, wherever it is; the kernel closes its sockets.
        for signum in STOP:
            signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, WATCH)
        die_with_parent(parent)
        for i, sock in enumerate(listeners):
            if i != slot:
                sock.close()  # our copies only: the parent keeps them open
        worker(listeners[slot])
    except BaseException:
        log.exception("worker %d failed", os.getpid())
    finally:
        # Never return into the parent's code: its `finally` would stop our
        # siblings (we hold a copy of its table of workers).
        os._exit(1)


# --- the parent: a supervisor ---------------------------------------------------

def describe(status):
    code = os.waitstatus_to_exitcode(status)
    return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"


def supervise(listeners, workers):
    """Keep a worker on every socket until a stop signal arrives.

    Signals are blocked and taken here with sigwaitinfo(), in one place: no
    handler can interrupt the parent between a fork() and recording the
    child's pid, and a SIGCHLD is never lost while we fork.
    """
    idle = set(range(len(listeners)))  # slots whose worker must be (re)started
    pause_until = 0.0
    while True:
        now = time.monotonic()
        if idle and now >= pause_until:
            for slot in sorted(idle):
                workers[spawn(listeners, slot)] = (slot, now)
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
            log.warning("worker %d (pid %d) %s; replacing it", slot, pid, describe(status))
            idle.add(slot)
            if time.monotonic() - started < YOUNG:
                pause_until = time.monotonic() + RESPAWN_PAUSE


def stop(workers):
    """SIGTERM every worker and reap it: none outlives us holding the port."""
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


def serve(args):
    # Block before listening: the harness may send SIGTERM as soon as the port accepts.
    signal.pthread_sigmask(signal.SIG_BLOCK, WATCH)
    listeners = listen_all(args.host, args.port, args.workers)
    workers = {}  # pid -> (slot, start time)
    try:
        supervise(listeners, workers)
    finally:
        stop(workers)
        for sock in listeners:
            sock.close()


def main():
    args = common.parse_args(__doc__, default_port=2007, count=("--workers", os.cpu_count() or 1, "worker processes"))
    return common.run(serve, args)


if __name__ == "__main__":
    sys.exit(main())
