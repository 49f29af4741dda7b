"""``echo-conformance bench``: the command line of the bench (also ``python -m echo_conformance.bench``)."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import shlex
import sys
from pathlib import Path

from .. import __version__
from .._bounds import Bounds
from .._command import FAILED, OK, Parser, UsageError, add_command_template, positive, run_command
from .._registry import DEFAULT_CONNECTIONS, ManifestError, from_options
from ._baselines import baselines, fastest, uvloop_available
from ._generator import LOOPS, SATURATED, GeneratorError, loop_name

PROG = "echo-conformance bench"
DEFAULT_COUNTS = (1, 10, 100, 1000, 10000)
DEFAULT_SIZES = (64, 1024, 16384)

DESCRIPTION = f"""\
NAME
    {PROG} - how fast an echo server or relay is, at what CPU cost, as connections grow

SYNOPSIS
    {PROG} [--impl NAME]... [OPTION]...            (the bundled reference servers)
    {PROG} --impl-cmd TEMPLATE [DECLARATION]... [OPTION]...
    {PROG} --target HOST:PORT [DECLARATION]... [OPTION]...
    {PROG} --impl-file FILE.toml [--impl NAME]... [OPTION]...
    {PROG} --from-json FILE [--plot FILE.png] [--markdown FILE]

DESCRIPTION
    Starts each server as the conformance suite does (a free loopback port, a keeper process so
    nothing outlives the bench, Ctrl-C included) and measures it with closed-loop ping-pong:
    each connection sends a message, waits for its whole echo, and sends the next.  At every
    point (connections x message size) it reports round trips/s, MiB/s, latency percentiles
    from each message's own timing (not 1/throughput), the server's CPU time per round trip
    (its whole process tree), and the load generator's own CPU use.  The generator runs in
    several processes (one per core by default); a point where a generator process was busy
    (on a CPU or waiting for one) {SATURATED:.0%} or more of the time is marked GENERATOR
    SATURATED: there the generator, not the server, was the limit.  With --rate it runs open
    loop instead: messages on a fixed schedule, latency from each one's scheduled time.

    The baselines -- the smallest correct asyncio Protocol echo, on asyncio and (where
    installed) on uvloop -- are measured in the same run; each point's "vs base" is its server
    CPU per round trip over the baseline's (uvloop's where available).  A relay is measured in
    front of the fastest baseline, which is also measured directly ("x direct").

    Client and server share the machine: the generator's CPU is CPU the server does not get.
    On a 2-core machine a fast server is usually limited by the generator; compare servers by
    their CPU per round trip there, and by throughput only where no point is saturated.
    A benchmark, not a test: numbers vary from run to run and with whatever else runs.

EXIT STATUS
    0 every point was measured; 1 a server could not be started or a point failed (the table
    says which); 2 interrupted (Ctrl-C; every server is stopped); 4 usage error.
"""


def _counts(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v.replace("_", "")) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of whole numbers: {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"connection counts must be positive: {text!r}")
    return tuple(dict.fromkeys(values))


def _sizes(text: str) -> tuple[int, ...]:
    out = []
    for item in (v.strip() for v in text.split(",")):
        if not item:
            continue
        m = re.fullmatch(r"(\d+)\s*(k|kib|kb|m|mib|mb|b)?", item, re.I)
        if not m:
            raise argparse.ArgumentTypeError(f"not a size (64, 1024, 16K, 1MiB): {item!r}")
        unit = (m.group(2) or "b").lower()[0]
        out.append(int(m.group(1)) * {"b": 1, "k": 1024, "m": 2**20}[unit])
    if not out or min(out) < 1:
        raise argparse.ArgumentTypeError(f"message sizes must be positive: {text!r}")
    return tuple(dict.fromkeys(out))


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def _processes(text: str) -> int | None:
    if text == "auto":
        return None
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a number of processes or auto, not {text!r}")
    return int(text)


def _repeats(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a number of runs, at least 1, not {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    p = Parser(PROG, DESCRIPTION)
    what = p.add_argument_group("WHAT TO MEASURE (default: every bundled reference server)")
    add_command_template(what, "measure the server this command template starts")
    what.add_argument("--target", metavar="HOST:PORT",
                      help="measure the server already listening there (its CPU time is not measured)")
    what.add_argument("--impl-file", metavar="FILE.toml", help="measure the implementations of this manifest")
    what.add_argument("--bundled", action="store_true", help="the bundled reference servers (the default)")
    what.add_argument("--impl", action="append", metavar="NAME",
                      help="only this implementation (repeatable); a baseline's name selects it too")
    what.add_argument("--no-baseline", action="store_true",
                      help="do not measure the baselines, except those named with --impl (a relay's "
                           "upstream is still measured directly)")
    p.add_declarations()
    load = p.add_argument_group("LOAD")
    load.add_argument("--connections", type=_counts, default=DEFAULT_COUNTS, metavar="N,N,...",
                      help=f"connection counts (default: {','.join(map(str, DEFAULT_COUNTS))}; counts above "
                           f"{DEFAULT_CONNECTIONS:,} only for an implementation that declares that many "
                           "connections, 1 only for a serial one)")
    load.add_argument("--size", type=_sizes, default=DEFAULT_SIZES, metavar="BYTES,...",
                      help="message sizes, e.g. 64,1K,16K (default: 64,1024,16384)")
    load.add_argument("--duration", type=positive, default=3.0, metavar="SECONDS",
                      help="measured time per point (default: 3)")
    load.add_argument("--warmup", type=_non_negative, default=1.0, metavar="SECONDS",
                      help="load before the measured time, not counted (default: 1)")
    load.add_argument("--repeat", type=_repeats, default=1, metavar="N",
                      help="measure everything N times, each time with freshly started servers, and keep "
                           "for each point the run with the median server CPU per round trip (the median "
                           "throughput with --target); the JSON keeps how far the runs spread (default: 1)")
    load.add_argument("--rate", type=positive, default=None, metavar="MESSAGES/S",
                      help="open loop: send this many messages a second in all, whatever comes back "
                           "(default: closed loop)")
    load.add_argument("--generator-processes", type=_processes, default=None, metavar="N|auto",
                      help="load generator processes (default auto: one per core, at most one per connection)")
    load.add_argument("--generator-loop", choices=LOOPS, default="auto",
                      help="the generator's event loop (default auto: uvloop where installed, else asyncio)")
    load.add_argument("--generator-work-us", type=_non_negative, default=0.0, metavar="US",
                      help=argparse.SUPPRESS)  # a test hook: CPU burnt per echo, to saturate the generator
    load.add_argument("--timeout-scale", type=positive, default=1.0, metavar="FACTOR",
                      help="stretch the start, connect and stop bounds (default: 1)")
    out = p.add_argument_group("OUTPUT (the table always goes to the terminal)")
    out.add_argument("--json", metavar="FILE", help="write every point to FILE as JSON")
    out.add_argument("--plot", metavar="FILE.png",
                     help="plot throughput and p99 latency against connections (needs matplotlib: "
                          "pip install 'echo-conformance[bench]')")
    out.add_argument("--markdown", metavar="FILE", help="write the table, command and machine as Markdown")
    out.add_argument("--from-json", metavar="FILE",
                     help="measure nothing: show (and plot, or write as Markdown) the results in FILE")
    p.add_information()
    return p


def select(ns: argparse.Namespace) -> list:
    """The implementations to measure: the baselines first, then those selected."""
    options = {k: v for k, v in vars(ns).items() if k != "impl"}
    wanted = ns.impl or []
    base = baselines()
    base_names = {b.name for b in base}
    if ns.bundled and any(options.get(o) for o in ("impl_cmd", "target", "impl_file")):
        raise UsageError("--bundled and --impl-cmd/--target/--impl-file: use only one")
    try:
        impls = from_options(options)
    except ManifestError as exc:
        raise UsageError(str(exc)) from None
    if wanted:
        known = {i.name for i in impls} | base_names
        unknown = [n for n in wanted if n not in known]
        if unknown:
            hint = "" if uvloop_available() or "baseline-uvloop" not in unknown else " (uvloop is not installed)"
            raise UsageError(f"--impl: no implementation named {', '.join(unknown)}{hint} "
                             f"(known: {', '.join(sorted(known))})")
        impls = [i for i in impls if i.name in wanted]
    # the baselines named with --impl; if none is, all of them unless --no-baseline
    chosen_base = [b for b in base if b.name in wanted]
    if not ns.no_baseline and not chosen_base:
        chosen_base = base
    if any(i.kind == "relay" for i in impls) and fastest().name not in {b.name for b in chosen_base}:
        chosen_base.append(fastest())  # a relay is read next to its upstream measured directly
    return chosen_base + [i for i in impls if i.name not in base_names]


def _check(ns: argparse.Namespace) -> None:
    if ns.plot and not _matplotlib():
        from ._report import MATPLOTLIB_MISSING

        raise UsageError(MATPLOTLIB_MISSING)
    if ns.from_json:
        return
    try:
        loop_name(ns.generator_loop)
    except GeneratorError as exc:
        raise UsageError(str(exc)) from None
    if ns.plot and not ns.plot.lower().endswith(".png"):
        raise UsageError(f"--plot writes a PNG: give a FILE.png, not {ns.plot!r}")


def _matplotlib() -> bool:
    from ._report import matplotlib_available

    return matplotlib_available()


#: Whole-machine CPU use (percent of all cores) above which the bench warns that it will be noisy.
BUSY_WARNING = 20.0


def _machine_busy(seconds: float = 0.5) -> float:
    import psutil

    return psutil.cpu_percent(interval=seconds)


def _meta(argv: list[str], ns: argparse.Namespace, started: str) -> dict:
    try:
        import uvloop

        uv = uvloop.__version__
    except ImportError:
        uv = None
    import psutil

    return {
        "tool": "echo-conformance bench", "version": __version__,
        "command": " ".join(["echo-conformance", "bench", *map(shlex.quote, argv)]),
        "started": started,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(terse=True),
                    "python": platform.python_version(), "uvloop": uv, "psutil": psutil.__version__,
                    "generator_loop": loop_name(ns.generator_loop)},
        "settings": {"mode": "closed" if ns.rate is None else "open", "rate": ns.rate,
                     "connections": list(ns.connections), "sizes": list(ns.size), "duration_s": ns.duration,
                     "warmup_s": ns.warmup, "repeat": ns.repeat,
                     "generator_processes": ns.generator_processes or "auto",
                     "generator_work_us": ns.generator_work_us,
                     "saturated_threshold_percent": round(SATURATED * 100)},
    }


def output(doc: dict, ns: argparse.Namespace) -> None:
    from . import _report

    print(_report.table(doc["points"]))
    notes = _report.skipped_summary(doc.get("skipped", []))
    if notes:
        print("\nnot measured:")
        for line in notes:
            print(f"  {line}")
    if any(p.traffic.generator_saturated for p in doc["points"]):
        print(f"\nGENERATOR SATURATED: a generator process had work queued {SATURATED:.0%} or more of the time "
              "(running, or runnable and waiting for a CPU), so it could offer no more load: that point "
              "measures the generator and the machine as much as the server.  Where most of it was waiting "
              "for a CPU, the cores were the limit (the server's own processes, or other programs).")
    if ns.json and not ns.from_json:
        _report.write_json(Path(ns.json), doc)
        print(f"\nbench: wrote {ns.json}", file=sys.stderr)
    if ns.markdown:
        Path(ns.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(ns.markdown).write_text(_report.markdown_document(doc))
        print(f"bench: wrote {ns.markdown}", file=sys.stderr)
    if ns.plot:
        _report.plot(doc, Path(ns.plot))
        print(f"bench: wrote {ns.plot}", file=sys.stderr)


def run(argv: list[str]) -> int:
    from . import _report, _runner

    ns = parser().parse_args(argv)
    _check(ns)
    if ns.from_json:
        try:
            doc = _report.read_json(Path(ns.from_json))
        except (OSError, ValueError) as exc:
            raise UsageError(f"--from-json: {exc}") from None
        output(doc, ns)
        return OK
    impls = select(ns)
    settings = _runner.Settings(connections=ns.connections, sizes=ns.size, duration=ns.duration,
                                warmup=ns.warmup, processes=ns.generator_processes, loop=ns.generator_loop,
                                rate=ns.rate, work_us=ns.generator_work_us, bounds=Bounds().scaled(ns.timeout_scale))
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    meta = _meta(argv, ns, started)
    busy = _machine_busy()
    meta["machine"]["busy_before_percent"] = busy
    if busy >= BUSY_WARNING:
        print(f"bench: warning: the machine is busy before the run ({busy:.0f}% of its CPU in use): "
              f"the numbers will be noisy (other_cpu_percent shows it per point)", file=sys.stderr)
    points, skipped, failures = _runner.run_rounds(impls, settings, ns.repeat)
    measured = {p.setup.implementation for p in points}
    baseline = next((b.name for b in reversed(baselines()) if b.name in measured), None)
    points = _runner.compare(points, baseline)
    meta["baseline"] = baseline
    meta["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    doc = _report.document(points, skipped, failures, meta)
    print()
    output(doc, ns)
    return FAILED if failures or any(p.error for p in points) else OK


def main(argv: list[str] | None = None) -> int:
    return run_command(PROG, run, argv)


__all__ = ["main", "parser", "select"]
