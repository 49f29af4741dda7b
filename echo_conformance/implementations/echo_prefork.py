"""Prefork TCP echo server: N worker processes accept on one inherited listening socket.

Model 3 (prefork): the parent binds the listening socket, forks N workers
that inherit it, listens (so "ready" means all N are there) and then only
supervises. Each worker runs the iterative server's loop -- accept,
echo until the client leaves, accept the next -- so N clients are served at
once and client N+1 waits: not refused, its connection completes in the
kernel's listen backlog and is served, with everything it sent meanwhile, as
soon as a worker is free. Its capacity is N, fixed (declare it: `capacity`).
It costs N processes from the start, busy or idle, instead of a fork per
connection (echo_fork); one crashing worker loses only its own client.

Does every idle worker wake for each new connection (the thundering herd)?
Not here. On Linux, processes blocked in accept() on a shared socket sleep as
exclusive waiters (since 2.6): a connection wakes one of them. The herd is for
workers that wait in select/poll/epoll on the shared listener: all of them
wake, one wins the accept(), the others get EAGAIN -- hence Apache's accept
mutex, EPOLLEXCLUSIVE (Linux 4.5) and SO_REUSEPORT (3.9: a socket and queue
per worker). These workers block in accept() itself (Python calls accept4()
directly on a socket without a timeout), so they need no lock.

The parent replaces a worker that dies, and on SIGTERM/SIGINT stops and reaps
every worker before it exits: no zombie, and no orphan left holding the port.
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

log = logging.getLogger("echo_prefork")

WORKERS = 64  # the suite's tcp.concurrent.many connects 64 clients at once
STOP = {signal.SIGTERM, signal.SIGINT}
WATCH = STOP | {signal.SIGCHLD}
# A worker that dies this young is failing, not unlucky: replace it only after
# a pause, so the parent does not become a fork loop.
YOUNG = 1.0
RESPAWN_PAUSE = 1.0
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


# --- a worker: the iterative server -----------------------------------------

def worker(listener):
    while True:
        try:
            conn, peer = listener.accept()
        except OSError as exc:  # e.g. EMFILE: try again, without spinning
            log.warning("accept: %s", exc)
            time.sleep(0.1)
            continue
        log.debug("connection from %s (worker %d)", peer, os.getpid())
        with conn:
            try:
                # On half-close recv() returns b"" once every earlier byte has
                # been echoed; sendall blocks only this worker (backpressure).
                while data := conn.recv(65536):
                    conn.sendall(data)
            except OSError as exc:  # reset by the client, broken pipe
                log.debug("%s: %s", peer, exc)
        log.debug("closed %s", peer)


def die_with_parent(parent):
    """Linux: have the kernel SIGKILL this worker when the parent dies, however
    it dies (even by SIGKILL, when it cannot stop its workers itself). Orphaned
    workers would go on accepting on the port, and a restart could not bind it."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux
        pass
    if os.getppid() != parent:  # the parent died before we asked
        os._exit(0)


def spawn(listener, gate=None):
    """Fork a worker; return its pid. Called with WATCH blocked, so no signal
    can run parent code in the child between fork() and its own handlers.
    gate: a pipe (read end, write end) whose EOF the first workers wait for."""
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    try:
        # A worker keeps SIGTERM's and SIGINT's default action: it dies at
        # once, even inside recv()/sendall(); it has nothing to clean up.
        for signum in STOP:
            signal.signal(signum, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, WATCH)
        die_with_parent(parent)
        if gate:
            os.close(gate[1])
            os.read(gate[0], 1)  # b"" once the parent listens and closes its end
            os.close(gate[0])
        worker(listener)
    except BaseException:
        log.exception("worker %d failed", os.getpid())
    finally:
        # Never return into the parent's code: its `finally` would stop our
        # siblings (we hold a copy of its list of children).
        os._exit(1)


# --- the parent: a supervisor -------------------------------------------------

def describe(status):
    code = os.waitstatus_to_exitcode(status)
    return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"


def supervise(listener, workers, children):
    """Keep `workers` workers running until a stop signal arrives.

    Signals are handled synchronously: blocked, and taken with sigwaitinfo()
    here, in one place -- no handler can interrupt the parent between a fork()
    and recording the child's pid, and a worker that dies meanwhile is reaped
    at the next wait.
    """
    pause_until = 0.0
    while True:
        now = time.monotonic()
        if now >= pause_until:
            while len(children) < workers:
                children[spawn(listener)] = now
        if len(children) < workers:  # replacements paused: wake when they may start
            info = signal.sigtimedwait(WATCH, pause_until - now)
            if info is None:
                continue
        else:
            info = signal.sigwaitinfo(WATCH)
        if info.si_signo in STOP:
            log.debug("%s received, stopping %d workers", signal.Signals(info.si_signo).name,
                      len(children))
            return
        # SIGCHLD: several children may have died for one signal; reap them all.
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            started = children.pop(pid, now)
            log.warning("worker %d %s; replacing it", pid, describe(status))
            if time.monotonic() - started < YOUNG:
                pause_until = time.monotonic() + RESPAWN_PAUSE


def stop(children):
    """SIGTERM every worker and reap it: none outlives us holding the port."""
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:  # already dead, not yet reaped
            pass
    for pid in children:  # a worker not yet past its SIG_UNBLOCK dies right there
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    children.clear()


def bind(host, port):
    """common.listen() without the listen(): a bound socket that accepts nothing yet."""
    family, sockaddr = common.resolve(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # before bind()
    try:
        sock.bind(sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


def serve(args):
    # Block before listening: the harness may send SIGTERM as soon as the port accepts.
    signal.pthread_sigmask(signal.SIG_BLOCK, WATCH)
    children = {}  # pid -> start time
    with bind(args.host, args.port) as listener:
        try:
            # The whole pool first, then listen(): the port accepts connections
            # only once N workers are there to take them -- ready means at full
            # capacity, and in its steady state (N + 1 processes).
            gate = os.pipe()
            for _ in range(args.workers):
                children[spawn(listener, gate)] = time.monotonic()
            os.close(gate[0])
            listener.listen(common.BACKLOG)
            os.close(gate[1])  # EOF: the workers go to accept()
            supervise(listener, args.workers, children)
        finally:
            stop(children)


def main():
    args = common.parse_args(__doc__, default_port=2007, count=("--workers", WORKERS, "worker processes = clients served at once"))
    return common.run(serve, args)


if __name__ == "__main__":
    sys.exit(main())
