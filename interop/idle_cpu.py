"""Measure the CPU servers use while they have nothing to do (issue 25): the facts a bound on
idle CPU needs, for the interop corpus and the bundled servers.

    .venv/bin/python interop/idle_cpu.py                            # every corpus entry
    .venv/bin/python interop/idle_cpu.py --bundled --repeat 3       # and every bundled server
    .venv/bin/python interop/idle_cpu.py --impl erlang-gen-tcp-echo --impl java-pool-echo
    .venv/bin/python interop/idle_cpu.py --impl-file tests/slow/manifest.toml --impl spin-at-eof
    .venv/bin/python interop/idle_cpu.py --impl-cmd "python3 /tmp/spin.py --port {port}"
    .venv/bin/python interop/idle_cpu.py --from-json idle.json    # the tables of a --json run
    .venv/bin/python interop/idle_cpu.py --warmup 4 --repeat 2 --json a.json --record interop/idle.toml
    .venv/bin/python interop/idle_cpu.py --from-json a.json --from-json b.json --record interop/idle.toml

Theory of operation
-------------------
Each server is started as the suite starts it (``_launch.Server``: a keeper, a session of its
own, nothing left behind; a relay in front of the suite's upstream, the bundled echo_poll).  Two
figures are read from its whole tree: its CPU, the user+system time (``_process.cpu_seconds``:
every process, every thread, and the children it reaped), and the time its threads were
runnable, on a CPU or waiting in a run queue for one (``_process.runnable``): on a busy machine
a spinning server gets a fraction of a core, but is runnable all the time.  After ``START`` s
of it (the startup burst, for information), each scenario does a warm-up -- one client has
``WARMUP`` KiB echoed, then half-closes and reads to EOF (a UDP server: one datagram) -- sets up
the clients it leaves connected, and then reads the tree at fixed offsets from that moment
(t0).  A window of ``w`` seconds after a pause of ``p`` is what was used between the readings
at ``p`` and ``p + w``, over the wall time between them: one run of readings gives every (pause,
window) pair, as a check with that pause and window would see it.  Scenarios:

* ``none``: no client connected (``none/udp`` for a UDP server, after a datagram);
* ``silent``: ``CLIENTS`` clients connected that never sent anything;
* ``used``: the same clients, once one byte has been echoed on each (for a relay: through to
  the upstream), silent again.  A serial server serves one client at a time: one is used, the
  rest wait in its backlog.

The table shows, per entry and scenario, both figures as % of one core: the most over ``--repeat``
runs (repeats go round the entries, so each entry's runs are spread in time).  The load
average is printed before and after; ``--json`` keeps every reading.  ``--record`` writes what
the idle cases would judge -- the busiest ``Bounds.idle_window`` window from ``Bounds.idle_pause``
on, the most over the runs, of ``none`` (tcp.idle.no-client), ``used`` (tcp.idle.silent-clients:
clients echoed once) and ``none/udp`` (udp.idle.no-peer) -- to ``interop/idle.toml``, which
docs/interop.md shows.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from echo_conformance._address import Address  # noqa: E402
from echo_conformance._bounds import Bounds  # noqa: E402
from echo_conformance._launch import LaunchError, Server, free_port  # noqa: E402
from echo_conformance._pool import UPSTREAM  # noqa: E402
from echo_conformance._process import cpu_seconds, runnable, runnable_in, snapshot  # noqa: E402
from echo_conformance._registry import Implementation, bundled, load_manifest, make  # noqa: E402

CORPUS = ROOT / "interop" / "manifest.toml"
HOST = "127.0.0.1"
START = 0.5  # the startup window, after the server is ready
WARMUP = 32  # KiB echoed by the warm-up client (--warmup)
CLIENTS = 8  # connected clients in the silent and used scenarios
PAUSES = (0.0, 0.2, 0.5)  # from the end of the scenario's set-up to the window's start
WINDOWS = (0.5, 2.0)
OFFSETS = sorted({round(p + w, 3) for p in PAUSES for w in (0.0, *WINDOWS)})
COLUMNS = [(p, w) for w in WINDOWS for p in PAUSES]
PROGRESS = 2.0  # a warm-up or one-byte echo that makes no progress this long is given up (noted)
STOPPING: list[Server] = []  # told to stop; waited for at the end


def column(pause: float, window: float) -> str:
    return f"w{window:g}/p{pause:g}"


# --- clients (loopback only, every wait bounded) ---------------------------------------------

def _connect(address: Address) -> socket.socket:
    sock = socket.create_connection((address.host, address.port), timeout=PROGRESS)
    sock.settimeout(PROGRESS)
    return sock


def _warm_tcp(address: Address, size: int) -> str:
    """Echo ``size`` bytes (sent by a thread while this one reads them back), then half-close
    and read to EOF; '' or what went wrong."""
    payload = bytes(range(256)) * (size // 256)
    got = 0
    with _connect(address) as sock:
        sender = threading.Thread(target=_send, args=(sock, payload), daemon=True)
        sender.start()
        try:
            while got < len(payload):
                data = sock.recv(65536)
                if not data:
                    return f"warm-up: EOF after {got} of {len(payload)} bytes"
                got += len(data)
            sock.shutdown(socket.SHUT_WR)
            if sock.recv(1):
                return "warm-up: more bytes than were sent"
        except OSError as exc:
            return f"warm-up: {type(exc).__name__} after {got} of {len(payload)} bytes" + (
                " and the half-close" if got == len(payload) else "")
        finally:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # a sender still blocked gets an error, and ends
            sender.join(PROGRESS)
    return ""


def _send(sock: socket.socket, payload: bytes) -> None:
    with contextlib.suppress(OSError):  # the reader sees what came of it
        sock.sendall(payload)


def _warm_udp(address: Address) -> str:
    with socket.socket(address.family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(PROGRESS)
        sock.sendto(b"idle?" * 100, (address.host, address.port))
        try:
            sock.recvfrom(65536)
        except OSError as exc:
            return f"warm-up datagram: {type(exc).__name__}"
    return ""


def _echo_byte(sock: socket.socket) -> str:
    try:
        sock.sendall(b"x")
        return "" if sock.recv(1) == b"x" else "one-byte echo: EOF"
    except OSError as exc:
        return f"one-byte echo: {type(exc).__name__}"


# --- one server -----------------------------------------------------------------------------

def _readings(pid: int) -> list[tuple[float, float, dict[int, float]]]:
    """(time since t0, tree CPU seconds, runnable seconds per thread) at each of ``OFFSETS``;
    t0 is now."""
    t0 = time.monotonic()
    readings = []
    for offset in OFFSETS:
        time.sleep(max(0.0, t0 + offset - time.monotonic()))  # the window is the measurement
        readings.append((time.monotonic() - t0, cpu_seconds(pid), runnable(pid)))
    return readings


def _windows(readings: list[tuple[float, float, dict[int, float]]]) -> dict[str, dict[str, float]]:
    """For each (pause, window): the CPU, and the time runnable, as % of the wall time between
    the readings at ``pause`` and ``pause + window``."""
    at = dict(zip(OFFSETS, readings))
    cpu, ready = {}, {}
    for pause, window in COLUMNS:
        (t1, cpu1, run1), (t2, cpu2, run2) = at[round(pause, 3)], at[round(pause + window, 3)]
        key = column(pause, window)
        cpu[key] = 100 * (cpu2 - cpu1) / (t2 - t1)
        ready[key] = 100 * runnable_in(run1, run2) / (t2 - t1)
    return {"cpu": cpu, "runnable": ready}


def _scenario(server: Server, name: str, notes: list[str]) -> dict:
    """Read the tree's CPU from now on (t0: the scenario is set up)."""
    readings = _readings(server.pid)
    tree = snapshot(server.pid)
    return {"scenario": name, **_windows(readings), "cpu_readings": [r[:2] for r in readings],
            "processes": tree.processes, "threads": tree.threads, "notes": sorted({n for n in notes if n})}


def _scenarios(server: Server, warmup: int) -> list[dict]:
    """Every scenario that applies: ``none`` after a warm-up, then ``silent`` after another
    with ``CLIENTS`` connected, then ``used`` once those have each had a byte echoed."""
    impl, address = server.impl, server.address
    results = []
    if "tcp" in impl.transports:
        results.append(_scenario(server, "none", [_warm_tcp(address, warmup)]))
        notes = [_warm_tcp(address, warmup)]
        clients = [_connect(address) for _ in range(CLIENTS)]
        try:
            results.append(_scenario(server, "silent", notes))
            for sock in clients[: 1 if impl.model == "serial" else None]:  # serial: the rest wait
                notes.append(_echo_byte(sock))
            results.append(_scenario(server, "used", notes))
        finally:
            for sock in clients:
                sock.close()
    if "udp" in impl.transports:
        results.append(_scenario(server, "none/udp", [_warm_udp(address)]))
    return results


def measure(impl: Implementation, upstream: Address | None, warmup: int = WARMUP * 1024) -> dict:
    """Start ``impl``, measure its startup and every scenario, and have it stopped (in the
    background: :func:`main` waits for every stop at the end)."""
    server = Server(impl, Address(HOST, free_port()), Bounds(), upstream)
    server.start("tcp" if "tcp" in impl.transports else "udp")
    try:
        launch, ready = cpu_seconds(server.pid), runnable(server.pid)
        time.sleep(START)  # the startup window
        start = {"cpu": 100 * (cpu_seconds(server.pid) - launch) / START,
                 "runnable": 100 * runnable_in(ready, runnable(server.pid)) / START}
        return {"impl": impl.name, "launch_cpu": launch, "start": start,
                "scenarios": _scenarios(server, warmup)}
    finally:
        server.request_stop(grace=2.0)
        STOPPING.append(server)


# --- the run and its table ------------------------------------------------------------------

def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().strip()
    except OSError:
        return "?"


def select(args: argparse.Namespace) -> list[Implementation]:
    if args.impl_cmd:
        impls = [make("impl-cmd", args.impl_cmd, kind=args.impl_kind, transports=args.impl_transport)]
    elif args.impl_file:
        impls = load_manifest(Path(args.impl_file))
    else:
        impls = load_manifest(CORPUS)
    if args.bundled:
        impls += bundled()
    if args.impl:
        known = {i.name for i in impls}
        unknown = [n for n in args.impl if n not in known]
        if unknown:
            raise SystemExit(f"unknown implementation(s): {', '.join(unknown)}")
        impls = [i for i in impls if i.name in args.impl]
    return impls


METRICS = ("cpu", "runnable")


def table(results: list[dict]) -> str:
    """Markdown: per entry and scenario, the most over the runs of each (pause, window), as
    "CPU / runnable" in % of one core."""
    head = ["entry", "scenario", "start", *[column(p, w) for p, w in COLUMNS], "procs/thr", "notes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    by_impl: dict[str, list[dict]] = {}
    for run in results:
        by_impl.setdefault(run["impl"], []).append(run)
    for name, runs in by_impl.items():
        ok = [r for r in runs if "error" not in r]
        errors = sorted({r["error"] for r in runs if "error" in r})
        if not ok:
            lines.append(f"| {name} | - | - |" + " - |" * len(COLUMNS) + f" - | {'; '.join(errors)} |")
            continue
        start = " / ".join(f"{max(r['start'][m] for r in ok):.1f}" for m in METRICS)
        for index, scenario in enumerate(s["scenario"] for s in ok[0]["scenarios"]):
            seen = [r["scenarios"][index] for r in ok]
            cells = [" / ".join(f"{max(s[m][column(p, w)] for s in seen):.1f}" for m in METRICS)
                     for p, w in COLUMNS]
            tree = f"{max(s['processes'] for s in seen)}/{max(s['threads'] for s in seen)}"
            notes = sorted({n for s in seen for n in s["notes"]} | set(errors))
            lines.append(f"| {name} | {scenario} | {start} | " + " | ".join(cells)
                         + f" | {tree} | {'; '.join(notes)} |")
            name = start = ""  # the entry's name and startup once, on its first row
    return "\n".join(lines)


#: What ``--record`` keeps: the idle case (a key of interop/idle.toml) -> the scenario it sets.
RECORDED = {"no-client": "none", "silent-clients": "used", "udp-no-peer": "none/udp"}


def record(results: list[dict]) -> str:
    """interop/idle.toml: per entry and idle case, the runnable and CPU shares (% of one core) of
    the busiest ``Bounds.idle_window`` window from ``Bounds.idle_pause`` after the scene on (the
    first is the one the case judges; a later one only if that is over the bound), the most over
    the runs; when, how many runs, at what load."""
    bounds = Bounds()
    keys = [column(p, w) for p, w in COLUMNS if w == bounds.idle_window and p >= bounds.idle_pause]
    if (bounds.idle_pause, bounds.idle_window) not in COLUMNS:
        raise SystemExit(f"the idle cases judge {column(bounds.idle_pause, bounds.idle_window)}, which this "
                         "script does not measure (PAUSES, WINDOWS)")
    loads = [float(r["loadavg"].split()[0]) for r in results]
    by_impl: dict[str, list[dict]] = {}
    for run in results:
        if "error" not in run:
            by_impl.setdefault(run["impl"], []).append(run)
    lines = ["# Written by interop/idle_cpu.py --record: the share of one core each corpus entry's processes were",
             "# runnable / got as CPU time (%) in the busiest window from the pause on (columns), the most over",
             "# the runs.  docs/interop.md shows it (python -m tests._docs).",
             f'measured = "{time.strftime("%Y-%m-%d")}"',
             f"runs = {max(len(ok) for ok in by_impl.values())}",
             f"load = [{min(loads):.1f}, {max(loads):.1f}]  # the 1-minute load average during the runs",
             f"pause = {bounds.idle_pause:g}",
             f"window = {bounds.idle_window:g}",
             f"columns = {json.dumps(keys)}  # idle_cpu.py's windows (wW/pP: W s after a pause of P s)"]
    for name, ok in by_impl.items():
        lines += ["", f'[entry."{name}"]']
        for case, scenario in RECORDED.items():
            seen = [s for r in ok for s in r["scenarios"] if s["scenario"] == scenario]
            if seen:
                most = {m: max(s[m][key] for s in seen for key in keys) for m in METRICS}
                lines.append(f"{case} = {{ runnable = {most['runnable']:.1f}, cpu = {most['cpu']:.1f} }}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", action="append", default=[], help="only these entries (repeatable)")
    parser.add_argument("--bundled", action="store_true", help="the bundled servers too")
    parser.add_argument("--impl-file", help="this manifest's entries instead of the corpus")
    parser.add_argument("--impl-cmd", help="this command instead of the corpus (a template with {port})")
    parser.add_argument("--impl-kind", default="echo", help="with --impl-cmd: echo or relay")
    parser.add_argument("--impl-transport", default="tcp", help="with --impl-cmd: tcp, udp or tcp,udp")
    parser.add_argument("--repeat", type=int, default=1, help="runs per entry (the table shows the most)")
    parser.add_argument("--warmup", type=int, default=WARMUP, metavar="KIB", help="KiB the warm-up client echoes")
    parser.add_argument("--json", help="write every reading here (after each entry)")
    parser.add_argument("--from-json", metavar="JSON", action="append", default=[],
                        help="print the tables of an earlier run's --json (repeatable: the runs of all)")
    parser.add_argument("--record", metavar="TOML", help="write what the idle cases judge here (interop/idle.toml)")
    args = parser.parse_args()
    if args.from_json:
        results = [run for path in args.from_json for run in json.loads(Path(path).read_text())]
        if args.record:
            Path(args.record).write_text(record(results))
        return print_tables(results)
    impls = select(args)
    print(f"load average before: {loadavg()}", flush=True)
    results: list[dict] = []
    upstream = None
    try:
        for run in range(1, args.repeat + 1):
            for impl in impls:
                if impl.kind == "relay" and upstream is None:
                    upstream = Server(UPSTREAM, Address(HOST, free_port()), Bounds()).start()
                try:
                    result = measure(impl, upstream.address if impl.kind == "relay" else None, args.warmup * 1024)
                except (LaunchError, OSError, psutil.Error) as exc:  # psutil: it exited meanwhile
                    result = {"impl": impl.name, "error": str(exc).splitlines()[0]}
                result.update(run=run, loadavg=loadavg())
                results.append(result)
                summary = "; ".join(f"{s['scenario']} {s['cpu']['w2/p0']:.1f}%"
                                    for s in result.get("scenarios", []))
                print(f"run {run} {impl.name}: {result.get('error') or summary}  (load {result['loadavg']})",
                      flush=True)
                if args.json:
                    Path(args.json).write_text(json.dumps(results, indent=1))
    finally:
        for server in [*STOPPING, *([upstream] if upstream else [])]:
            server.stop(grace=2.0)
    print(f"load average after: {loadavg()}\n")
    if args.record:
        Path(args.record).write_text(record(results))
    print_tables(results)


def print_tables(results: list[dict]) -> None:
    print("CPU (user+system of the whole tree) / runnable (on a CPU or waiting in a run queue for one),")
    print("% of one core, the most over the runs; wW/pP: a window of W s after a pause of P s:\n")
    print(table(results))


if __name__ == "__main__":
    main()
