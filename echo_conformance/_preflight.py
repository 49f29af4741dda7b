"""The preflight: every implementation under test is started (or, for --target, reached) once
before any case runs, and one that cannot be tested is reported once.

Theory of operation
-------------------
Every case starts a server of its own or shares one, so a server that cannot start fails each
case alike: a command that does not exist printed the same "could not start" block 24 times,
and one that never listens made every case wait out the ready bound (two minutes in all).  So
the plugin, on the controller before any worker starts, hands the implementations to
:func:`check`.  Each is tried in a thread of its own (the 16 bundled servers cost the CPU of
their starts, about 2 CPU-seconds, rather than 16 starts in a row): started with the suite's
own launcher (``_launch.Server``, a relay in front of the bundled upstream echo server), or
connected to at its --target, and probed on the transports the selected cases need
(:func:`transports_needed`), then stopped.

Only the launch contract is judged: the process starts, and within the ready bound accepts a
TCP connection, or is bound to the UDP port, where the template told it to.  The cases judge
everything else; a server that passes is tested exactly as it would have been without it (the
preflight's server is gone before the first case starts its own).  One more thing is told
apart, because it is a common mistake and the cases would only say "not ready": the wrong
transport declared.  A server whose declared transport stays silent while the one it did not
declare answers on the same port (TCP accepts, or a datagram comes back) is reported after
``Bounds.wrong_transport``.

What went wrong becomes a :class:`Trouble`: what happened, the command (or target), the tail
of the server's output, and the likely cause in plain words, read off what was seen: the
keeper could not exec the command (not found, not executable), the process exited (its status),
it listens elsewhere (its sockets, through psutil), the other transport answers.
"""

from __future__ import annotations

import shlex
import signal
import socket
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psutil

from ._address import Address
from ._bounds import Bounds
from ._keeper import descendants
from ._launch import _ANSWERED, _SILENT, _UNBOUND, LaunchError, Server, _probe_udp, free_port
from ._pool import UPSTREAM
from ._registry import KINDS, Implementation, format_target

#: How many lines of the server's output a report shows (the block stays within 15 lines).
TAIL_LINES = 8
#: What each family of cases (the ID's first word) needs of the preflight: a transport, for
#: the kinds it applies to -- or nothing.  lifecycle.* judge the start themselves
#: (lifecycle.ready must be free to fail a server that is slow to listen) and tcp6.* start
#: their servers on ::1, which the preflight does not try.  tests/test_preflight.py holds
#: this table to the catalogue's families.
FAMILIES: dict[str, tuple[str, tuple[str, ...]] | None] = {
    "tcp": ("tcp", KINDS),
    "udp": ("udp", KINDS),
    "relay": ("tcp", ("relay",)),
    "tcp6": None,
    "lifecycle": None,
}


class _Cancelled(Exception):
    """The run was interrupted while a server was being tried."""


@dataclass(frozen=True)
class Trouble:
    """Why an implementation cannot be tested: ``what`` happened, ``cause`` in plain words."""

    impl: Implementation
    what: str
    cause: str
    #: the command it was started with, or its target
    where: str
    #: the tail of its output, each line indented (``Server.output_tail``); None for a target
    output: str | None = None

    def block(self, prog: str) -> str:
        lines = [f"{prog}: cannot test {self.impl.name!r}: {self.what}", f"  {self.where}"]
        if self.output is not None:
            lines += (["  its output (last lines):", self.output] if self.output.strip() != "(no output)"
                      else ["  its output: none"])
        lines.append(f"  likely cause: {self.cause}")
        return "\n".join(lines)


def report(troubles: Sequence[Trouble], prog: str, status: int) -> str:
    """The blocks, and one line that says what happens next."""
    return "\n".join([*(t.block(prog) for t in troubles),
                      f"{prog}: no case ran, exit status {status} (--no-preflight runs the cases anyway)"])


# --- which implementations, on which transports --------------------------------------------

def _reaches(prefix: str, family: str) -> bool:
    """``prefix`` starts some case ID of ``family``."""
    return f"{family}.".startswith(prefix) or prefix.startswith(f"{family}.")


def transports_needed(impl: Implementation, case: Sequence[str] = (), skip_case: Sequence[str] = ()) -> list[str]:
    """The transports of ``impl`` the cases selected by --case and --skip-case need it to serve
    (in its declared order); none: the preflight leaves it alone."""
    needed = set()
    for family, need in FAMILIES.items():
        if need is None or impl.kind not in need[1]:
            continue
        if case and not any(_reaches(prefix, family) for prefix in case):
            continue
        if any(f"{family}.".startswith(prefix) for prefix in skip_case):  # the whole family left out
            continue
        needed.add(need[0])
    return [t for t in impl.transports if t in needed]


# --- probing -------------------------------------------------------------------------------

def _connect(address: Address, timeout: float) -> str | None:
    """Open a TCP connection to ``address`` and close it: None, or why it failed."""
    try:
        with socket.create_connection((address.host, address.port), timeout=timeout):
            return None
    except socket.timeout:
        return "timed out"
    except OSError as exc:
        return exc.strerror or str(exc)


class _Watch:
    """What one address answers, probe after probe, on the transports wanted of it and on the
    one its implementation did not declare (to tell a wrong declaration)."""

    def __init__(self, address: Address, wanted: Sequence[str], declared: Sequence[str], bounds: Bounds) -> None:
        self.address, self.wanted, self.bounds = address, tuple(wanted), bounds
        self.other = next((t for t in ("tcp", "udp") if t not in declared), None)
        self.up: set[str] = set()  # wanted transports that are ready
        self.other_up = False  # the undeclared transport answered
        self.other_since: float | None = None
        self.tcp_error: str | None = None  # the last TCP connection attempt's failure
        self.udp_state: str | None = None
        self._silent_since: float | None = None
        self._udp = socket.socket(address.family, socket.SOCK_DGRAM)
        self._udp.connect((address.host, address.port))

    def close(self) -> None:
        self._udp.close()

    @property
    def ready(self) -> bool:
        return set(self.wanted) <= self.up

    def step(self) -> None:
        """One probe of each transport still in question."""
        now = time.monotonic()
        if "tcp" not in self.up and ("tcp" in self.wanted or (self.other == "tcp" and not self.other_up)):
            self.tcp_error = _connect(self.address, self.bounds.port_probe)
            if self.tcp_error is None:
                self._answered("tcp")
        if "udp" not in self.up and ("udp" in self.wanted or (self.other == "udp" and not self.other_up
                                                               and "tcp" not in self.up)):
            self.udp_state = _probe_udp(self._udp, self.bounds.ready_probe_udp)
            if self.udp_state == _ANSWERED:
                self._answered("udp")
            elif self.udp_state == _SILENT and "udp" in self.wanted:
                # Bound but silent: ready as the suite's own wait has it (the udp.echo.* cases judge
                # the silence), unless TCP answers on the port it did not declare.
                self._silent_since = self._silent_since or now
                if now - self._silent_since >= self.bounds.udp_answer and not (self.other == "tcp" and self.other_up):
                    self.up.add("udp")
            else:
                self._silent_since = None
        if self.other_up and not self.ready:
            self.other_since = self.other_since or now

    def _answered(self, transport: str) -> None:
        if transport in self.wanted:
            self.up.add(transport)
        else:
            self.other_up = True

    def wrong_transport(self) -> bool:
        """The transport it did not declare has answered for ``wrong_transport`` while a wanted one has not."""
        return self.other_since is not None and time.monotonic() - self.other_since >= self.bounds.wrong_transport


# --- what went wrong, in plain words ----------------------------------------------------------

def _declare(impl: Implementation, transports: Sequence[str]) -> str:
    """How the user declares ``transports`` for ``impl``: the option, or its manifest's key."""
    if impl.source == "manifest":
        return "transports = [" + ", ".join(f'"{t}"' for t in transports) + "] in its manifest entry"
    return f"--impl-transport {','.join(transports)}"


def _command_source(impl: Implementation) -> str:
    return "its manifest's command" if impl.source == "manifest" else "--impl-cmd"


def _passes_port(argv: list[str], port: int) -> str:
    """How the command line hands the server its port: ``as "--port 12345"``."""
    for i, arg in enumerate(argv):
        if str(port) in arg:
            if i and argv[i - 1].startswith("-") and not arg.startswith("-"):
                return f'as "{shlex.join(argv[i - 1:i + 1])}"'
            return f'as argument {i}, "{arg}"' if arg == str(port) else f'in argument {i}, "{arg}"'
    return "nowhere"


def _listening(pid: int | None) -> list[str]:
    """Where the server's process tree listens (TCP) or is bound (UDP)."""
    if pid is None:
        return []
    found = []
    for each in [pid, *descendants(pid)]:
        try:
            proc = psutil.Process(each)
            conns = getattr(proc, "net_connections", proc.connections)(kind="inet")
        except (psutil.Error, OSError):
            continue
        for conn in conns:
            tcp = conn.type == socket.SOCK_STREAM
            if (conn.status == psutil.CONN_LISTEN if tcp else not conn.raddr) and conn.laddr:
                found.append(f"{format_target(conn.laddr.ip, conn.laddr.port)} ({'TCP' if tcp else 'UDP'})")
    return sorted(set(found))


def _exited(code: int | None) -> str:
    """How the process ended: ``exited with status 3``, ``was killed by SIGSEGV``."""
    if code is not None and code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


def _exit_cause(impl: Implementation, code: int | None, output: str) -> str:
    if code == 0:
        return "does it fork into the background? The suite needs the server itself in the foreground"
    if code == 127:
        return f"its shell did not find a command (status 127): check the path in {_command_source(impl)}"
    if code == 126:
        return f"its shell could not execute a command (status 126): is the file executable? ({_command_source(impl)})"
    if output.strip() != "(no output)":
        return "its output above says why"
    return "it said nothing: run its command yourself to see why"


def _start_cause(impl: Implementation, error: str, argv: list[str]) -> str:
    program = argv[0] if argv else ""
    relative = (" (a relative path is relative to " + str(impl.cwd) + ")"
                if impl.cwd is not None and not Path(program).is_absolute() and "/" in program else "")
    if error.startswith(("No such file or directory", "Not a directory")):
        return f"the command was not found: check the path in {_command_source(impl)}{relative}"
    if error.startswith("Permission denied"):
        return (f"the command is not executable: chmod +x {shlex.quote(program)}, or start it through its "
                "interpreter ({python} server.py)")
    if error.startswith("Exec format error"):
        return "the command is not a program this machine runs: a script needs a #! line, or start it through its interpreter"
    return f"the command could not be started: {error}"


# --- trying one implementation --------------------------------------------------------------

class _Untestable(Exception):
    def __init__(self, what: str, cause: str) -> None:
        super().__init__(what)
        self.what, self.cause = what, cause


class _Trial(Server):
    """A server started the suite's way, whose wait for readiness is the preflight's (every
    transport wanted, the undeclared one watched too), and whose failed start leaves it
    running: its output and its sockets are looked at before :func:`_try` stops it."""

    def __init__(self, impl: Implementation, address: Address, bounds: Bounds, upstream: Address | None,
                 wanted: Sequence[str], cancel: threading.Event) -> None:
        super().__init__(impl, address, bounds, upstream)
        self.wanted, self.cancel = wanted, cancel

    def _fail(self, what: str) -> None:  # the keeper could not start the command (or said nothing)
        error = self._error or what
        raise _Untestable(f"the command could not be started ({error})", _start_cause(self.impl, error, self.argv()))

    def _wait_ready(self, transport: str) -> None:
        watch = _Watch(self.address, self.wanted, self.impl.transports, self.bounds)
        deadline = time.monotonic() + self.bounds.ready
        try:
            while True:
                if self.cancel.is_set():
                    raise _Cancelled
                if self._exited.is_set():
                    raise _Untestable(f"it {_exited(self.exit_code)} before it listened on {self.address}",
                                      _exit_cause(self.impl, self.exit_code, self.output_tail(TAIL_LINES)))
                watch.step()
                if watch.ready:
                    return
                if watch.wrong_transport():
                    raise _wrong_transport(self.impl, watch)
                if time.monotonic() >= deadline:
                    raise self._never_ready(watch)
                time.sleep(self.bounds.ready_poll)  # polling a port that is not listening yet: no event to wait for
        finally:
            watch.close()

    def _never_ready(self, watch: _Watch) -> _Untestable:
        missing = [t for t in watch.wanted if t not in watch.up]
        done = "listened on" if missing[0] == "tcp" else "bound UDP port"
        what = f"it never {done} {self.address} within {self.bounds.ready:g} s"
        elsewhere = [where for where in _listening(self.pid) if not where.startswith(f"{self.address} ")]
        passes = f"the template passes it {_passes_port(self.argv(), self.address.port)}"
        if watch.up:  # it serves the other declared transport: declare only that one
            return _Untestable(what, f"it serves {', '.join(t.upper() for t in sorted(watch.up))} there but not "
                                     f"{missing[0].upper()}: declare {_declare(self.impl, sorted(watch.up))}")
        if elsewhere:
            return _Untestable(f"{what}; it listens on {', '.join(elsewhere[:3])}",
                               f"it does not take its port from the command line: {passes}; does it read "
                               "another option, or have its port written in?")
        return _Untestable(what, f"does it read the port from the command line? {passes}")


def _wrong_transport(impl: Implementation, watch: _Watch) -> _Untestable:
    if watch.other == "tcp":
        return _Untestable(f"it accepts TCP connections on {watch.address} but answers no datagram there",
                           f"it answers TCP on that port but not UDP: declare {_declare(impl, ['tcp'])}")
    return _Untestable(f"it answers datagrams on {watch.address} but accepts no TCP connection there",
                       f"it answers UDP on that port but not TCP: declare {_declare(impl, ['udp'])}")


def _try_target(impl: Implementation, wanted: Sequence[str], bounds: Bounds, cancel: threading.Event) -> Trouble | None:
    """A server already running (--target) has bound what it binds: a refusal, or an answer on the
    transport it did not declare, is the verdict at once.  Only silence is waited on (a bound UDP
    port, as for a started server; a connection attempt that timed out, up to the ready bound)."""
    address = Address(*impl.target)
    where = f"target: {address} ({', '.join(t.upper() for t in impl.transports)})"
    watch = _Watch(address, wanted, impl.transports, bounds)
    deadline = time.monotonic() + bounds.ready
    try:
        while not cancel.is_set():
            watch.step()
            if watch.ready:
                return None
            if watch.other_up:
                problem = _wrong_transport(impl, watch)
                return Trouble(impl, problem.what, problem.cause, where)
            refused = (("tcp" in wanted and "tcp" not in watch.up and watch.tcp_error not in (None, "timed out"))
                       or ("udp" in wanted and watch.udp_state == _UNBOUND))
            if refused or time.monotonic() >= deadline:
                return _target_trouble(impl, watch, where)
            time.sleep(bounds.ready_poll)
        raise _Cancelled
    finally:
        watch.close()


def _target_trouble(impl: Implementation, watch: _Watch, where: str) -> Trouble:
    address = watch.address
    if "tcp" in watch.wanted and "tcp" not in watch.up:
        if watch.tcp_error == "timed out":
            return Trouble(impl, f"{address} did not answer: the TCP connection attempt timed out", "nothing answers "
                           "at that address: is it this machine's, and is the server running?", where)
        what = f"nothing is listening on {address} (TCP: {watch.tcp_error})"
    else:
        what = f"nothing is bound to UDP port {address} (the probe datagram was refused)"
    if watch.up:  # it serves the other declared transport: declare only that one
        served = sorted(watch.up)
        return Trouble(impl, what, f"it serves {', '.join(t.upper() for t in served)} there but not the other: "
                                   f"declare {_declare(impl, served)}", where)
    return Trouble(impl, what, f"nothing is listening on {address}: is the server running, and on that port?", where)


def _try(impl: Implementation, wanted: Sequence[str], bounds: Bounds, upstream, cancel: threading.Event
         ) -> Trouble | None:
    """Start ``impl`` once and stop it: None if it became ready on every ``wanted`` transport."""
    if impl.target is not None:
        return _try_target(impl, wanted, bounds, cancel)
    up_address = None
    if impl.kind == "relay":
        try:
            up_address = upstream()
        except LaunchError as exc:
            return Trouble(impl, "the suite's own upstream echo server did not start", "a broken install? "
                           f"{str(exc).splitlines()[0]}", "upstream: " + UPSTREAM.command)
    server = _Trial(impl, Address("127.0.0.1", free_port()), bounds, up_address, wanted, cancel)
    try:
        server.start(wanted[0])
        return None
    except _Untestable as exc:
        return Trouble(impl, exc.what, exc.cause, f"command: {shlex.join(server.argv())}",
                       _short(server.output_tail(TAIL_LINES)))
    finally:
        server.stop(bounds.teardown_grace)


def _short(tail: str, width: int = 160) -> str:
    """Each line of an output tail cut at ``width`` characters (a line per line on a terminal)."""
    return "\n".join(line if len(line) <= width else line[:width - 1] + "…" for line in tail.splitlines())


class _Upstream:
    """The bundled echo server relays are tried in front of: started on first use, once."""

    def __init__(self, bounds: Bounds) -> None:
        self.bounds, self._lock, self._server = bounds, threading.Lock(), None

    def __call__(self) -> Address:
        with self._lock:
            if self._server is None:
                self._server = Server(UPSTREAM, Address("127.0.0.1", free_port()), self.bounds).start("tcp")
            return self._server.address

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(self.bounds.teardown_grace)


def check(impls: Sequence[Implementation], bounds: Bounds, case: Sequence[str] = (),
          skip_case: Sequence[str] = ()) -> list[Trouble]:
    """Try every implementation the selected cases need (each in a thread of its own) and stop
    what was started; return what cannot be tested.  Ctrl-C stops them all and propagates."""
    chosen = [(impl, wanted) for impl in impls if (wanted := transports_needed(impl, case, skip_case))]
    if not chosen:
        return []
    cancel, upstream = threading.Event(), _Upstream(bounds)
    pool = ThreadPoolExecutor(max_workers=len(chosen), thread_name_prefix="preflight")
    try:
        futures = [pool.submit(_try, impl, wanted, bounds, upstream, cancel) for impl, wanted in chosen]
        return [trouble for future in futures if (trouble := future.result()) is not None]
    except BaseException:
        cancel.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        upstream.stop()

