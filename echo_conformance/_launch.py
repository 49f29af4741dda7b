"""Starting, probing and stopping servers (the suite side of the keeper protocol)."""

from __future__ import annotations

import errno
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from . import _budget
from ._address import Address
from ._bounds import Bounds
from ._registry import Implementation

KEEPER = Path(__file__).with_name("_keeper.py")


class LaunchError(Exception):
    """A server could not be started or stopped as the contract says (a clear verdict)."""


# --- ports ------------------------------------------------------------------------------
# Servers get ports below the kernel's ephemeral range, so they never collide with the
# client side of the suite's own connections.  Each port is drawn at random and checked
# free: several suites (xdist workers, the project's own nested runs) allocate at once,
# and two of them pick the same port only if they draw it within the same instant.

def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_LOW, _HIGH = 10000, _ephemeral_low()
_random = random.SystemRandom()


def _port_is_free(port: int) -> bool:
    for family, host, kind in (
        (socket.AF_INET, "127.0.0.1", socket.SOCK_STREAM),
        (socket.AF_INET, "127.0.0.1", socket.SOCK_DGRAM),
        (socket.AF_INET6, "::1", socket.SOCK_STREAM),
        (socket.AF_INET6, "::1", socket.SOCK_DGRAM),
    ):
        try:
            with socket.socket(family, kind) as s:
                s.bind((host, port))  # no SO_REUSEADDR: lingering TIME_WAITs make it busy
        except OSError as exc:
            if family == socket.AF_INET6 and exc.errno in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):  # no IPv6
                continue
            return False
    return True


def free_port() -> int:
    for _ in range(1000):
        port = _random.randrange(_LOW, _HIGH)
        if _port_is_free(port):
            return port
    raise LaunchError(f"no free port found in {_LOW}..{_HIGH - 1} after 1,000 tries")


# --- the server process -----------------------------------------------------------------

class Server:
    """One running implementation, owned by a keeper process."""

    def __init__(self, impl: Implementation, address: Address, bounds: Bounds,
                 upstream: Address | None = None) -> None:
        self.impl, self.address, self.bounds, self.upstream = impl, address, bounds, upstream
        self.pid: int | None = None
        self.exit_code: int | None = None
        self.terminated = False  #: the suite sent it SIGTERM (its exit is then no crash)
        self._exited = threading.Event()
        self._started = threading.Event()
        self._error: str | None = None
        fd, self._output_path = tempfile.mkstemp(prefix=f"echo-conformance-{impl.name}-", suffix=".log")
        os.close(fd)
        self._keeper: subprocess.Popen | None = None

    # The argv this server is started with (for messages).
    def argv(self) -> list[str]:
        up = self.upstream or Address("127.0.0.1", 0)
        return self.impl.argv(host=self.address.host, port=self.address.port,
                              upstream_host=up.host, upstream_port=up.port)

    def output_tail(self, lines: int = 15) -> str:
        try:
            text = Path(self._output_path).read_text(errors="replace")
        except OSError:
            return ""
        tail = text.rstrip().splitlines()[-lines:]
        return "\n".join("    | " + line for line in tail) if tail else "    (no output)"

    def output_mark(self) -> int:
        """How much the server has printed so far (for :meth:`output_after`)."""
        try:
            return os.path.getsize(self._output_path)
        except OSError:
            return 0

    def output_after(self, mark: int, lines: int = 12) -> str:
        """The last ``lines`` lines the server printed after ``mark`` (:meth:`output_mark`)."""
        try:
            with open(self._output_path, "rb") as f:
                f.seek(mark)
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.rstrip().splitlines()[-lines:])

    def describe_failure(self, what: str) -> str:
        return (f"implementation {self.impl.name!r}: {what}\n  command: {' '.join(self.argv())}\n"
                f"  its output (last lines):\n{self.output_tail()}")

    def start(self, transport: str = "tcp") -> "Server":
        with _budget.current().paused():  # a case's budget does not count a start: ``ready`` bounds it
            return self._start(transport)

    def _start(self, transport: str) -> "Server":
        argv = self.argv()
        keeper_argv = [sys.executable, "-I", "-S", str(KEEPER), str(os.getpid()), self._output_path,
                       str(self.impl.cwd or os.getcwd()), str(self.bounds.stop_grace), "--", *argv]
        self._keeper = subprocess.Popen(keeper_argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, bufsize=1)
        threading.Thread(target=self._read_keeper, daemon=True).start()
        if not self._started.wait(self.bounds.ready):
            self._fail("the keeper did not start the command")
        if self._error:
            self._fail(f"could not start the command: {self._error}")
        self._wait_ready(transport)
        return self

    def _read_keeper(self) -> None:
        assert self._keeper and self._keeper.stdout
        for line in self._keeper.stdout:
            word, _, rest = line.strip().partition(" ")
            if word == "pid":
                self.pid = int(rest)
                self._started.set()
            elif word == "exit":
                self.exit_code = int(rest)
                self._exited.set()
            elif word == "error":
                self._error = rest
                self._started.set()
        self._started.set()
        self._exited.set()

    def alive(self) -> bool:
        return self.pid is not None and not self._exited.is_set()

    def dead(self, within: float) -> bool:
        """The server process has exited (its exit status is then known): what its keeper
        says, or -- the keeper's word may be a moment behind -- the process is gone, and its
        keeper reports the exit within ``within`` seconds."""
        if self.pid is None or self._exited.is_set():
            return self.pid is not None
        try:
            gone = psutil.Process(self.pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            gone = True
        return gone and self._exited.wait(within)

    def exits(self, within: float) -> bool:
        """The server process has exited, or exits within ``within`` seconds (the case's
        deadline, if that comes first)."""
        if self.pid is None:
            return False
        deadline = _budget.current().until(time.monotonic() + within)
        return self._exited.wait(max(0.0, deadline - time.monotonic()))

    def _wait_ready(self, transport: str) -> None:
        if transport == "udp":
            return self._wait_ready_udp()
        deadline = time.monotonic() + self.bounds.ready
        while time.monotonic() < deadline:
            if self._exited.is_set():
                self._fail(f"exited with status {self.exit_code} before it was ready on {self.address}")
            if _probe_tcp(self.address, self.bounds.port_probe):
                return
            time.sleep(self.bounds.ready_poll)  # a port not listening yet: no event to wait for
        self._fail(f"did not accept a TCP connection on {self.address} within {self.bounds.ready:g} s")

    def _wait_ready_udp(self) -> None:
        """Ready once the server's port is bound: a datagram sent there is then queued for it,
        whenever it reads.  A probe datagram goes out (from a socket connected to the port)
        every ``ready_probe_udp`` until it is answered, or until ``udp_answer`` after the port
        was first found bound: the kernel answers a datagram to an unbound port with an ICMP
        port unreachable (seen here as ECONNREFUSED, at once on loopback), so silence means
        bound.  A server that binds and then never answers is the checks' to judge (each with
        its own verdict), not a launch failure that every check waits out in full."""
        deadline = time.monotonic() + self.bounds.ready
        bound_at = None
        with socket.socket(self.address.family, socket.SOCK_DGRAM) as probe:
            probe.connect((self.address.host, self.address.port))
            while time.monotonic() < deadline:
                if self._exited.is_set():
                    self._fail(f"exited with status {self.exit_code} before it was ready on {self.address}")
                state = _probe_udp(probe, self.bounds.ready_probe_udp)
                if state == _ANSWERED:
                    return
                if state == _SILENT:
                    bound_at = bound_at or time.monotonic()
                    if time.monotonic() - bound_at >= self.bounds.udp_answer:
                        return  # bound, silent: the checks say what is wrong with that
                else:
                    bound_at = None
                    time.sleep(self.bounds.ready_poll)  # a port not bound yet: no event to wait for
        self._fail(f"did not bind UDP port {self.address} within {self.bounds.ready:g} s")

    def _fail(self, what: str) -> None:
        message = self.describe_failure(what)
        self.stop(grace=self.bounds.teardown_grace)
        raise LaunchError(message)

    def terminate(self) -> float | None:
        """Send SIGTERM; return how long the server took to exit, or None if it did not
        exit within the grace period (it is then left for :meth:`stop` to kill).  The wait
        ends at the case's deadline too (``_budget``)."""
        start = time.monotonic()
        budget = _budget.current()
        self.terminated = True
        self._command("term")
        wait = max(0.0, min(self.bounds.stop_grace, budget.left()))
        if self._exited.wait(wait):
            return time.monotonic() - start
        if wait < self.bounds.stop_grace:
            budget.mark("terminate")
        return None

    def _command(self, command: str) -> None:
        if self._keeper and self._keeper.stdin:
            try:
                self._keeper.stdin.write(command + "\n")
                self._keeper.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass

    def request_stop(self, grace: float | None = None) -> None:
        """Tell the keeper to stop the server and everything it started, giving it ``grace``
        seconds after SIGTERM before SIGKILL (default ``stop_grace``); returns at once."""
        if self._keeper is not None and self._keeper.stdin and not self._keeper.stdin.closed:
            if grace is not None:
                self._command(f"grace {grace}")
            try:
                self._keeper.stdin.close()
            except (BrokenPipeError, OSError):
                pass

    def stopped(self) -> bool:
        """The keeper, and with it the server and everything it started, is gone."""
        return self._keeper is None or self._keeper.poll() is not None

    def stop(self, grace: float | None = None) -> None:
        """Stop the server and everything it started, and wait until they are gone (idempotent)."""
        self.request_stop(grace)
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            try:
                keeper.wait((self.bounds.stop_grace if grace is None else grace) + self.bounds.keeper_exit)
            except subprocess.TimeoutExpired:
                keeper.kill()
                keeper.wait()
        try:
            os.unlink(self._output_path)
        except OSError:
            pass


def _probe_tcp(address: Address, timeout: float) -> bool:
    try:
        with socket.create_connection((address.host, address.port), timeout=timeout):
            return True
    except OSError:
        return False


_ANSWERED, _SILENT, _UNBOUND = "answered", "silent", "unbound"


def _probe_udp(probe: socket.socket, wait: float) -> str:
    """Send one probe datagram on ``probe`` (connected to the server's port) and wait up to
    ``wait``: its answer, silence (the port is bound), or ECONNREFUSED (nothing is bound there)."""
    probe.settimeout(wait)
    try:
        probe.send(b"ready?")
        while True:
            if probe.recv(64) == b"ready?":  # an answer to this probe or an earlier one
                return _ANSWERED
    except ConnectionRefusedError:
        return _UNBOUND
    except TimeoutError:
        return _SILENT
    except OSError:
        return _UNBOUND
