"""Lifecycle of servers the suite starts: ready, stop on SIGTERM, restart on the same port."""

from __future__ import annotations

import signal
import socket
import time

from echo_conformance.check import (HANG, SHOULD, Address, LaunchError, Violation, case, connect, observe,
                                    require, roundtrip, served, step)


def _refused(address: Address, bounds) -> bool:
    try:
        socket.create_connection((address.host, address.port), timeout=bounds.port_probe).close()
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    return False


def _port_freed(address: Address, bounds, within: float) -> bool:
    """True once a connection to ``address`` is refused (no socket listens there any more),
    within ``within`` seconds: a worker the stopped process leaves behind may take a moment to
    close its copy of the listener, but one that keeps it makes clients wait forever."""
    deadline = time.monotonic() + within
    while not _refused(address, bounds):
        if time.monotonic() > deadline:
            return False
        time.sleep(bounds.port_poll)  # polling the port: no event says "the last listener closed"
    return True


def _port_window(bounds, took: float) -> float:
    """How long after its exit a server that exited ``took`` s after SIGTERM has to free its
    port: what is left of ``sigterm_exit``, and ``port_freed`` at least."""
    return max(bounds.port_freed, bounds.sigterm_exit - took)


@case("lifecycle.ready", "A started server accepts a connection within the ready bound, and echoes the first "
      "message sent on it.",
      guards=HANG, defect="a server that never starts serving (the launch contract: no other check can run)")
def test_lifecycle_ready(impl, launch, bounds):
    start = time.monotonic()
    try:
        server = launch()
    except LaunchError as exc:
        observe("ready", took=None, bound=bounds.ready)
        require(False, expected=f"ready within {bounds.ready:g} s", observed=str(exc))
    took = time.monotonic() - start
    if took > bounds.ready:
        observe("ready", took=took, bound=bounds.ready)
    roundtrip(server.address, bounds, [b"hello"])
    require(took <= bounds.ready, expected=f"ready within {bounds.ready:g} s", observed=f"took {took:.2f} s")


#: Ways a process may end on SIGTERM that count as a clean stop: exit status 0, death by
#: the signal itself (what a server gets that keeps SIGTERM's default action), or the
#: shell's 128+N for it (socat, shell wrappers).  systemd counts SIGHUP, SIGINT, SIGTERM and
#: SIGPIPE deaths as clean exits too; of those, only SIGTERM is sent here.
CLEAN_STOP = {0, -signal.SIGTERM, 128 + signal.SIGTERM}


def _describe_status(code: int | None) -> str:
    if code is None:
        return "no exit status (still running)"
    if code < 0:
        return f"killed by signal {-code} ({signal.Signals(-code).name})"
    return f"exit status {code}" + (f" (128 + {signal.Signals(code - 128).name})" if 128 < code < 160 else "")


def _stop_with_client(launch, bounds, after=None):
    """Start a server, connect and be echoed, send SIGTERM with the client still connected;
    ``after(server, took)`` runs while that client is still connected.  Return (server,
    seconds it took to exit or None, what ``after`` returned).  An exit counts only as the
    answer to SIGTERM of a server that served: the client was echoed and the process was still
    running when the signal went."""
    server = launch()
    with connect(server.address, bounds) as sock:
        served(sock, bounds, b"hello", "a client of the server, before SIGTERM,")
        require(not server.dead(within=bounds.confirm), expected="the server still runs when SIGTERM is sent",
                observed=lambda: f"it had exited on its own ({_describe_status(server.exit_code)})")
        took = server.terminate()
        seen = after(server, took) if after is not None else None
    return server, took, seen


@case("lifecycle.sigterm", "On SIGTERM, even with a client connected (and echoed), the server stops within a "
      "few seconds and frees its port (how it exits, and whether children finish their own connections "
      "first, is its choice).", guards=HANG,
      defect="a server that cannot be stopped, or leaves a listener that accepts connections nobody serves",
      # The exit within ``sigterm_exit``, the port freed within what is left of it: a server that
      # exits just in time passes; a correct one needs 0.1-0.6 s.
      budget=lambda bounds, connections: bounds.sigterm_exit + 1.0 * bounds.scale)
def test_lifecycle_sigterm(impl, launch, bounds):
    # The port is probed while the client is still connected: a child process that goes on
    # serving that client may do so, but if it kept its copy of the listening socket, new
    # clients are accepted into a backlog nobody serves, and a restart cannot bind; once the
    # client leaves and the child exits, that would no longer show.
    def freed(server, took):
        return took is not None and _port_freed(server.address, bounds, _port_window(bounds, took))

    server, took, port_freed = _stop_with_client(launch, bounds, after=freed)
    observe("sigterm", exited_after=took, port_freed=port_freed, grace=bounds.sigterm_exit)
    require(took is not None and took <= bounds.sigterm_exit,
            expected=f"exit within {bounds.sigterm_exit:g} s of SIGTERM",
            observed="still running after the grace period" if took is None else f"exited after {took:.2f} s")
    left = _port_window(bounds, took)
    require(port_freed,
            expected=f"nothing listens on {server.address} within {bounds.sigterm_exit:g} s of SIGTERM, "
                     "while a client of the stopped server is still connected",
            observed=f"{left:.2f} s after the server process exited, with its client still connected, a "
                     "connection is still accepted there (a child process that serves that client kept "
                     "the listening socket?)")


@case("lifecycle.exit-status", "On SIGTERM (a client connected and echoed) the server ends cleanly: exit "
      "status 0, death by SIGTERM itself, or 128+15, as a process manager expects; another status is reported, "
      "not fatal.",
      level=SHOULD, defect="a process manager records the stop as a failure; no client is affected",
      # Waits up to ``stop_grace`` for the exit after SIGTERM, as its verdict asks.
      budget=lambda bounds, connections: bounds.stop_grace + 0.5 * bounds.scale)
def test_lifecycle_exit_status(impl, launch, bounds):
    server, took, _ = _stop_with_client(launch, bounds)
    observe("exit-status", status=server.exit_code, described=_describe_status(server.exit_code))
    require(took is not None, expected=f"exit within {bounds.stop_grace:g} s of SIGTERM",
            observed="still running after the grace period")
    require(server.exit_code in CLEAN_STOP,
            expected="exit status 0, death by SIGTERM, or exit status 143 (128 + SIGTERM)",
            observed=lambda: f"{_describe_status(server.exit_code)}; its output (last lines):\n{server.output_tail()}")


@case("lifecycle.restart", "Stopped while clients are connected, the server restarts on the same port at "
      "once (SO_REUSEADDR); RFC 862 does not ask for it, so a failure is reported, not fatal.",
      level=SHOULD,
      defect="a restart fails for a minute (EADDRINUSE); no data is lost and RFC 862 does not ask for it",
      # Waits up to ``stop_grace`` for the first server's exit, then starts and echoes the second.
      budget=lambda bounds, connections: bounds.stop_grace + 1.0 * bounds.scale)
def test_lifecycle_restart(impl, launch, bounds):
    first = launch()
    with connect(first.address, bounds) as a, connect(first.address, bounds):
        served(a, bounds, b"hello", "a client of the first server")  # a server that echoes nothing fails here
        took = first.terminate()
        # Without this, a restart attempt would find the old server still listening.
        if took is None:
            observe("restart", error="the first server was still running after SIGTERM")
        require(took is not None, expected=f"the first server exits within {bounds.stop_grace:g} s of SIGTERM",
                observed="it was still running (see lifecycle.sigterm)")
        try:
            second = launch(host=first.address.host, port=first.address.port)
        except LaunchError as exc:
            observe("restart", error=str(exc))
            require(False, expected=f"a restart on {first.address} comes up at once", observed=str(exc))
    # A child of the first server that kept its listening socket makes the restart look ready
    # (it accepts): the restarted process then fails to bind and exits, or is not listening yet,
    # and its client is refused, reset or left waiting, as the child's timing has it.  An exit is
    # what went wrong: it comes at once, but may come after the client's failure (``port_probe``:
    # a loopback bind, 50x over); else the client's failure is: the restart does not serve its port.
    expected = f"a restart on {first.address} comes up at once and serves its port"
    try:
        with step("a client of the restarted server connects"):
            roundtrip(second.address, bounds, [b"hello"], who="a client of the restarted server")
    except (OSError, Violation) as exc:
        if second.exits(within=bounds.port_probe):
            said = second.output_tail(3)
            observe("restart", error=said)
            require(False, expected=expected, observed=f"the restarted server exited "
                    f"({_describe_status(second.exit_code)}); its output (last lines):\n{said}")
        if isinstance(exc, Violation):
            raise
        require(False, expected=expected,
                observed=f"a client of the restarted server could not connect: {type(exc).__name__}: {exc}")
