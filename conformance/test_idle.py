"""Idle CPU: a server with nothing to do waits for work instead of polling for it.

Theory of operation
-------------------
Each case starts a server of its own, sets a scene and leaves it alone: a warm-up client has a
few KiB echoed, half-closes and reads to EOF (so a handler that spins once its client has gone
is caught), then, for ``tcp.idle.silent-clients``, ``SILENT_CLIENTS`` more connect and are each
echoed once (through a relay: to the upstream and back, so its upstream connections are open),
then fall silent.  After ``Bounds.idle_pause`` the server's whole process tree is read over
consecutive ``Bounds.idle_window`` windows (``_process.busy_windows``): the first window in which
its threads were runnable -- on a CPU, or waiting in a run queue for one -- less than
``IDLE_SHARE`` of one core passes; ``IDLE_WINDOWS`` in a row at or above it fail.  Runnable time,
not CPU time: a spinning server is runnable all the time, however little CPU a loaded machine
gives it.  Of the scene only the warm-up's echo is judged: an idle server counts only once shown
serving (a dead or silent one idles too); the rest is the echo cases' to judge.

Two TCP cases, each on a server of its own and run in parallel with the rest, rather than one
that sets both scenes (which would cost a correct server two pauses and two windows, 1.4 s):
a loop that polls its listener or a timer spins in both, but a handler that polls its own
connection spins only while one is open (``tests/faulty/relay_spins_while_connected.py``
passes the first and fails the second).  Both apply to relays: the silent clients of a relay
are connected through to an idle upstream, so no relay.idle case is needed.  A UDP server has
no connection to hold: ``udp.idle.no-peer`` judges it after one datagram.

What is not seen: a process that escapes the server's tree (double-forked, reparented to the
keeper), as for the memory and leak cases; and, where the kernel keeps no schedstat, a spinner
that a loaded machine gives less than ``IDLE_SHARE`` of CPU (``_bounds.IDLE_SHARE``).
"""

from __future__ import annotations

import contextlib

from echo_conformance.check import (ANSWERED, IDLE_SHARE, IDLE_WINDOWS, SHOULD, TRIES, ask, busy_windows, case,
                                    connect, exchange, gather, observe, pseudo_random, require, served, step,
                                    udp_socket)

#: What the warm-up client has echoed before it half-closes.
WARM_UP = 4 * 1024
#: The clients connected (and echoed once) and then silent in tcp.idle.silent-clients.
SILENT_CLIENTS = 8

NOT_FATAL = ("no client is affected, but a loop that polls instead of waiting takes a core from the machine "
             "(battery, neighbours, a throttled container)")


def _budget(warm_up):
    """A case's budget: its warm-up's longest wait (``warm_up(bounds)``: a server that never
    closes, a lost datagram), the pause and every window, and 0.5 s for the readings and the
    clients' connections: 4.7 s (TCP), 5.2 s (UDP).  A correct server needs 0.7-1.0 s from its
    warm-up to the verdict, loaded (load 14-80, the other core busy); a spinner 2.2-2.5 s."""
    return lambda bounds, connections: (warm_up(bounds) + bounds.idle_pause + IDLE_WINDOWS * bounds.idle_window
                                        + 0.5 * bounds.scale)


IDLE = dict(level=SHOULD, defect=NOT_FATAL, budget=_budget(lambda bounds: bounds.progress))
REQUIREMENT = (f"the server's processes are runnable (on a CPU or waiting for one) less than {IDLE_SHARE:.0%} of "
               "one core's time: it waits for work (select/poll/epoll, blocking calls) instead of polling for it.")


def _warm_up(address, bounds) -> None:
    """One client has ``WARM_UP`` bytes echoed, half-closes, and reads until the server closes
    (or its progress bound: not judged here, the half-close cases do), then leaves.  The echo is
    required: an idle server is judged only once shown serving (a dead or silent one idles too)."""
    payload = pseudo_random(25, WARM_UP)
    with step("the warm-up client"), connect(address, bounds) as sock:
        served(sock, bounds, payload, "the warm-up client")
        exchange(sock, [], count=0, bounds=bounds, half_close=True, until_eof=True)


def _judge(server, bounds, scene: str, clients: int) -> None:
    """Read the tree over idle windows (``busy_windows``) and judge the last one."""
    windows = busy_windows(server.pid, pause=bounds.idle_pause, window=bounds.idle_window, windows=IDLE_WINDOWS,
                           below=IDLE_SHARE)
    idle = bool(windows) and windows[-1].share < IDLE_SHARE
    if windows:
        shown = windows[-1] if idle else min(windows, key=lambda w: w.share)
        observe("idle-cpu", percent=round(100 * shown.share, 1), cpu=round(100 * shown.cpu, 1), clients=clients,
                window=round(shown.seconds, 3))
    exited = "" if server.alive() else f"; then the server exited (status {server.exit_code})"
    require(idle,
            expected=f"{scene}, the server's processes runnable (on a CPU or waiting for one) less than "
                     f"{IDLE_SHARE:.0%} of one core's time in one of {IDLE_WINDOWS} windows of {bounds.idle_window:g} s "
                     f"after a {bounds.idle_pause:g} s pause: waiting for work, not polling for it",
            observed=lambda: (f"at or above it in each of the {len(windows)} windows read: "
                              + ", ".join(w.describe() for w in windows) if windows else "no window read") + exited)


@case("tcp.idle.no-client", f"With no client connected (one was echoed, half-closed and left), {REQUIREMENT}",
      **IDLE)
def test_tcp_idle_no_client(impl, launch, bounds):
    server = launch()
    _warm_up(server.address, bounds)
    _judge(server, bounds, "with no client connected", clients=0)


@case("tcp.idle.silent-clients", f"With {SILENT_CLIENTS} clients connected, each echoed once and then silent "
      f"(through a relay: to an idle upstream), {REQUIREMENT}", **IDLE)
def test_tcp_idle_silent_clients(impl, launch, bounds):
    server = launch()
    _warm_up(server.address, bounds)
    # A serial server serves one client at a time, a pool its capacity: the rest wait, silent too.
    at_once = 1 if impl.model == "serial" else min(SILENT_CLIENTS, impl.capacity or SILENT_CLIENTS)
    with contextlib.ExitStack() as clients:
        socks = []
        for i in range(SILENT_CLIENTS):
            with step(f"connecting silent client {i + 1} of {SILENT_CLIENTS}"):
                socks.append(clients.enter_context(connect(server.address, bounds)))
        with step("the silent clients' one echo each"):
            for sock in socks[:at_once]:
                sock.sendall(b"?")
            gather(socks[:at_once], [1] * at_once, within=bounds.progress, bounds=bounds)  # not judged: echo cases do
        _judge(server, bounds, f"with {SILENT_CLIENTS} silent clients connected", clients=SILENT_CLIENTS)


@case("udp.idle.no-peer", f"With no datagram to answer (one was, and was echoed), {REQUIREMENT}", transport="udp",
      kinds=("echo",), level=SHOULD, defect=NOT_FATAL, budget=_budget(lambda bounds: TRIES * bounds.udp_answer))
def test_udp_idle_no_peer(impl, launch, bounds):
    server = launch()
    with udp_socket(server.address) as sock:
        answer = ask(sock, server.address, b"idle?", wait=bounds.udp_answer)
    # judged only once shown serving: a dead or silent server idles too
    require(answer.verdict == ANSWERED, expected="the datagram is answered with itself", observed=answer.describe)
    _judge(server, bounds, "with no datagram to answer", clients=0)
