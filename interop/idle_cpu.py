"""Measure the CPU servers use while they have nothing to do (issue 25): the facts a bound on
idle CPU needs, for the interop corpus and the bundled servers.

    .venv/bin/python interop/idle_cpu.py                            # every corpus entry
    .venv/bin/python interop/idle_cpu.py --bundled --repeat 3       # and every bundled server
    .venv/bin/python interop/idle_cpu.py --impl erlang-gen-tcp-echo --impl java-pool-echo
    .venv/bin/python interop/idle_cpu.py --impl-file tests/slow/manifest.toml --impl spin-at-eof
    .venv/bin/python interop/idle_cpu.py --impl-cmd "python3 /tmp/spin.py --port {port}"

Theory of operation
-------------------
Each server is started as the suite starts it (``_launch.Server``: a keeper, a session of its
own, nothing left behind; a relay in front of the suite's upstream, the bundled echo_poll).
Its CPU is the user+system time of its whole tree (``_process.cpu_seconds``: every process,
every thread, and the children it reaped).  After ``START`` s of it (the startup burst, for
information), each scenario does a warm-up -- one client echoes ``WARMUP`` bytes, half-closes
and reads to EOF (a UDP server: one datagram) -- sets up the clients it leaves connected, and
then reads the tree's CPU at fixed offsets from that moment (t0).  A window of ``w`` seconds
after a pause of ``p`` is the CPU between the readings at ``p`` and ``p + w`` over the wall time
between them: one run of readings gives every (pause, window) pair, as a check with that pause
and window would see it.  Scenarios:

* ``none``: no client connected (``none/udp`` for a UDP server, after a datagram);
* ``silent``: ``CLIENTS`` clients connected that never sent anything;
* ``used``: ``CLIENTS`` clients connected, one byte echoed on each (for a relay: through to the
  upstream), then silent.  A serial server serves one client at a time: one is used, the rest
  wait in its backlog.

The table shows, per entry and scenario, the CPU as % of one core: the most over ``--repeat``
runs (repeats go round the entries, so each entry's runs are spread in time).  The load
average is printed before and after; ``--json`` keeps every reading.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from echo_conformance._address import Address  # noqa: E402
from echo_conformance._bounds import Bounds  # noqa: E402
from echo_conformance._launch import LaunchError, Server, free_port  # noqa: E402
from echo_conformance._pool import UPSTREAM  # noqa: E402
from echo_conformance._keeper import descendants  # noqa: E402
from echo_conformance._process import cpu_seconds, snapshot  # noqa: E402
from echo_conformance._registry import Implementation, bundled, load_manifest, make  # noqa: E402

CORPUS = ROOT / "interop" / "manifest.toml"
HOST = "127.0.0.1"
START = 0.5  # the startup window, after the server is ready
WARMUP = 32 * 1024  # bytes echoed by the warm-up client
CLIENTS = 8  # connected clients in the silent and used scenarios
PAUSES = (0.0, 0.2, 0.5)  # from the end of the scenario's set-up to the window's start
WINDOWS = (0.5, 2.0)
OFFSETS = sorted({round(p + w, 3) for p in PAUSES for w in (0.0, *WINDOWS)})
COLUMNS = [(p, w) for w in WINDOWS for p in PAUSES]
PROGRESS = 2.0  # a warm-up or one-byte echo that makes no progress this long is given up (noted)


# --- clients (loopback only, every wait bounded) ---------------------------------------------

def _connect(address: Address) -> socket.socket:
    sock = socket.create_connection((address.host, address.port), timeout=PROGRESS)
    sock.settimeout(PROGRESS)
    return sock


def column(pause: float, window: float) -> str:
    return f"w{window:g}/p{pause:g}"


def _warm_tcp(address: Address) -> str:
    """Echo ``WARMUP`` bytes, half-close, read to EOF; '' or what went wrong."""
    payload = bytes(range(256)) * (WARMUP // 256)
    got = 0
    with _connect(address) as sock:
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                got += len(data)
        except OSError as exc:
            return f"warm-up: {type(exc).__name__} after {got} of {WARMUP} bytes"
    return "" if got == WARMUP else f"warm-up: EOF after {got} of {WARMUP} bytes"


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

def _runnable(pid: int) -> dict[int, int]:
    """Nanoseconds each live thread of the tree has been runnable: on a CPU, or waiting in a
    run queue for one (/proc/PID/task/TID/schedstat).  A thread that spins is runnable all the
    time, however many others want the CPU; one that sleeps in a wait is not."""
    found = {}
    for process in [pid, *descendants(pid)]:
        try:
            tids = os.listdir(f"/proc/{process}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{process}/task/{tid}/schedstat") as f:
                    run, wait, _ = f.read().split()
            except (OSError, ValueError):
                continue
            found[int(tid)] = int(run) + int(wait)
    return found


def _readings(pid: int) -> list[tuple[float, float, dict[int, int]]]:
    """(time since t0, tree CPU seconds, runnable ns per thread) at each of ``OFFSETS``; t0 is now."""
    t0 = time.monotonic()
    readings = []
    for offset in OFFSETS:
        time.sleep(max(0.0, t0 + offset - time.monotonic()))  # the window is the measurement
        readings.append((time.monotonic() - t0, cpu_seconds(pid), _runnable(pid)))
    return readings


def _windows(readings: list[tuple[float, float, dict[int, int]]]) -> dict[str, dict[str, float]]:
    """For each (pause, window): the CPU, and the time runnable, as % of the wall time between
    the readings at ``pause`` and ``pause + window`` (a thread that started in the window counts
    from 0; one that ended in it is lost to the runnable figure, not to the CPU)."""
    at = dict(zip(OFFSETS, readings))
    cpu, runnable = {}, {}
    for pause, window in COLUMNS:
        (t1, cpu1, run1), (t2, cpu2, run2) = at[round(pause, 3)], at[round(pause + window, 3)]
        key = column(pause, window)
        cpu[key] = 100 * (cpu2 - cpu1) / (t2 - t1)
        runnable[key] = 100 * sum(ns - run1.get(tid, 0) for tid, ns in run2.items()) / 1e9 / (t2 - t1)
    return {"cpu": cpu, "runnable": runnable}


def _scenario(server: Server, name: str) -> dict:
    impl, address = server.impl, server.address
    notes = []
    clients: list[socket.socket] = []
    try:
        if name == "none/udp":
            notes.append(_warm_udp(address))
        else:
            notes.append(_warm_tcp(address))
        if name in ("silent", "used"):
            clients = [_connect(address) for _ in range(CLIENTS)]
        if name == "used":
            for sock in clients[: 1 if impl.model == "serial" else None]:
                notes.append(_echo_byte(sock))
        readings = _readings(server.pid)
        tree = snapshot(server.pid)
    finally:
        for sock in clients:
            sock.close()
    return {"scenario": name, **_windows(readings), "cpu_readings": [r[:2] for r in readings],
            "processes": tree.processes, "threads": tree.threads, "notes": sorted({n for n in notes if n})}


def scenarios(impl: Implementation) -> list[str]:
    names = ["none", "silent", "used"] if "tcp" in impl.transports else []
    return names + (["none/udp"] if "udp" in impl.transports else [])


def measure(impl: Implementation, upstream: Address | None) -> dict:
    """Start ``impl``, measure its startup and every scenario, stop it."""
    server = Server(impl, Address(HOST, free_port()), Bounds(), upstream)
    server.start("tcp" if "tcp" in impl.transports else "udp")
    try:
        launch, runnable = cpu_seconds(server.pid), _runnable(server.pid)
        time.sleep(START)  # the startup window
        after = _runnable(server.pid)
        start = {"cpu": 100 * (cpu_seconds(server.pid) - launch) / START,
                 "runnable": 100 * sum(ns - runnable.get(tid, 0) for tid, ns in after.items()) / 1e9 / START}
        return {"impl": impl.name, "launch_cpu": launch, "start": start,
                "scenarios": [_scenario(server, name) for name in scenarios(impl)]}
    finally:
        server.stop(grace=2.0)


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


def table(results: list[dict], metric: str) -> str:
    """Markdown: per entry and scenario, the most over the runs of each (pause, window) of
    ``metric`` (cpu or runnable)."""
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
        start = f"{max(r['start'][metric] for r in ok):.1f}"
        for index, scenario in enumerate(s["scenario"] for s in ok[0]["scenarios"]):
            seen = [r["scenarios"][index] for r in ok]
            cells = [f"{max(s[metric][column(p, w)] for s in seen):.1f}" for p, w in COLUMNS]
            tree = f"{max(s['processes'] for s in seen)}/{max(s['threads'] for s in seen)}"
            notes = sorted({n for s in seen for n in s["notes"]} | set(errors))
            lines.append(f"| {name} | {scenario} | {start} | " + " | ".join(cells)
                         + f" | {tree} | {'; '.join(notes)} |")
            name = start = ""  # the entry's name and startup once, on its first row
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", action="append", default=[], help="only these entries (repeatable)")
    parser.add_argument("--bundled", action="store_true", help="the bundled servers too")
    parser.add_argument("--impl-file", help="this manifest's entries instead of the corpus")
    parser.add_argument("--impl-cmd", help="this command instead of the corpus (a template with {port})")
    parser.add_argument("--impl-kind", default="echo", help="with --impl-cmd: echo or relay")
    parser.add_argument("--impl-transport", default="tcp", help="with --impl-cmd: tcp, udp or tcp,udp")
    parser.add_argument("--repeat", type=int, default=1, help="runs per entry (the table shows the most)")
    parser.add_argument("--json", help="write every reading here")
    args = parser.parse_args()
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
                    result = measure(impl, upstream.address if impl.kind == "relay" else None)
                except (LaunchError, OSError) as exc:
                    result = {"impl": impl.name, "error": str(exc).splitlines()[0]}
                result.update(run=run, loadavg=loadavg())
                results.append(result)
                summary = "; ".join(f"{s['scenario']} {s['cpu']['w2/p0']:.1f}%"
                                    for s in result.get("scenarios", []))
                print(f"run {run} {impl.name}: {result.get('error') or summary}  (load {result['loadavg']})",
                      flush=True)
    finally:
        if upstream is not None:
            upstream.stop()
    print(f"load average after: {loadavg()}\n")
    print("CPU, % of one core (user+system of the whole tree):\n")
    print(table(results, "cpu"))
    print("\nRunnable, % of one core (on a CPU or waiting in a run queue, live threads):\n")
    print(table(results, "runnable"))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
