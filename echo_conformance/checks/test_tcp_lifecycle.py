"""Lifecycle of servers the suite starts: ready, stop on SIGTERM, restart on the same port."""

from __future__ import annotations

import socket
import time

from .._cases import SHOULD, case, require
from .._client import connect, exchange
from .._expect import roundtrip
from .._launch import Address, LaunchError


def _nobody_listens(address: Address) -> bool:
    """True if a connection to ``address`` is refused: no socket (say, a listener inherited
    by a leftover child) listens there any more."""
    try:
        socket.create_connection((address.host, address.port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    return False


@case("lifecycle.ready", "A started server accepts connections within the ready bound.", needs_process=True)
def test_lifecycle_ready(impl, launch, bounds):
    start = time.monotonic()
    try:
        server = launch()
    except LaunchError as exc:
        require(False, expected=f"ready within {bounds.ready:g} s", observed=str(exc))
    took = time.monotonic() - start
    roundtrip(server.address, bounds, [b"hello"])
    require(took <= bounds.ready, expected=f"ready within {bounds.ready:g} s", observed=f"took {took:.2f} s")


@case("lifecycle.sigterm", "On SIGTERM, even with a client connected, the server exits with status 0 "
      "within a few seconds and frees its port.", needs_process=True)
def test_lifecycle_sigterm(impl, launch, bounds):
    server = launch()
    with connect(server.address, bounds) as sock:
        exchange(sock, [b"hello"], expect=5, bounds=bounds)
        took = server.terminate()
    require(took is not None and took <= bounds.sigterm_exit,
            expected=f"exit within {bounds.sigterm_exit:g} s of SIGTERM",
            observed="still running after the grace period" if took is None else f"exited after {took:.2f} s")
    require(server.exit_code == 0, expected="exit status 0", observed=f"exit status {server.exit_code}"
            + (f" (killed by signal {-server.exit_code})" if (server.exit_code or 0) < 0 else ""))
    require(_nobody_listens(server.address), expected=f"nothing listens on {server.address} once the server has exited",
            observed="a connection is still accepted there (a leftover child process holds the listening socket?)")


@case("lifecycle.restart", "Stopped while clients are connected, the server restarts on the same port at "
      "once (SO_REUSEADDR); RFC 862 does not ask for it, so a failure is reported, not fatal.",
      needs_process=True, level=SHOULD)
def test_lifecycle_restart(impl, launch, bounds):
    first = launch()
    with connect(first.address, bounds) as a, connect(first.address, bounds):
        exchange(a, [b"hello"], expect=5, bounds=bounds)
        first.terminate()
        try:
            second = launch(host=first.address.host, port=first.address.port)
        except LaunchError as exc:
            require(False, expected=f"a restart on {first.address} comes up at once", observed=str(exc))
    roundtrip(second.address, bounds, [b"hello"], who="a client of the restarted server")
