"""Run the suite over each beginner server as a new user would, and print what they get.

Each run is ``python -m echo_conformance --impl-cmd COMMAND`` with the server's declarations
(as a beginner would give them: usually none), from the repository root, ``-n auto``, no
``-x``, with a fresh Hypothesis example database (a first run).  A row gives the wall time,
the exit status, the lines printed, the failed cases, the first diagnosis (the defect the
page opens with) and whether it is the server's own, and the three slowest cases (each case's
own duration, on one of the parallel workers); after every run of a server, the median time
and the cases it failed in every run (its ``must_fail`` candidates).  Performance is quoted from this output, not asserted by a test.

    .venv/bin/python tests/beginner/measure.py                   # every server, once
    .venv/bin/python tests/beginner/measure.py recv-once -r 3    # one server, three runs
    .venv/bin/python tests/beginner/measure.py --reports /tmp    # keep /tmp/beg-NAME/report.json
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MANIFEST = HERE / "manifest.toml"
DEFAULTS = {"model": "concurrent", "kind": "echo", "transports": ["tcp"]}

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def servers() -> list[dict]:
    return tomllib.loads(MANIFEST.read_text())["implementation"]


def command_line(server: dict, report: Path) -> list[str]:
    """The suite's command for this server: its template and the declarations that differ
    from the defaults (the flags a user would have had to type)."""
    args = [sys.executable, "-m", "echo_conformance", "--impl-cmd", server["command"],
            "--impl-cwd", str(HERE), "--report", str(report)]
    for key, flag in (("model", "--impl-model"), ("kind", "--impl-kind")):
        if server.get(key, DEFAULTS[key]) != DEFAULTS[key]:
            args += [flag, server[key]]
    if server.get("transports", DEFAULTS["transports"]) != DEFAULTS["transports"]:
        args += ["--impl-transport", ",".join(server["transports"])]
    return args


def run(server: dict, reports: Path | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        report = reports / f"beg-{server['name']}" if reports else Path(tmp) / "report"
        env = {**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": str(Path(tmp) / "hypothesis")}
        start = time.monotonic()
        proc = subprocess.run(command_line(server, report), cwd=ROOT, env=env, text=True,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
        took = time.monotonic() - start
        data = json.loads((report / "report.json").read_text())
    cases = next(iter(data["implementations"].values()))["cases"]
    diagnosis = [d["defect"] for d in data.get("diagnosis", [])]
    slowest = sorted(cases, key=lambda c: c["duration"], reverse=True)[:3]
    return {
        "time": took, "status": proc.returncode, "lines": proc.stdout.count("\n"),
        "failed": sorted(c["id"] for c in cases if c["outcome"] in ("fail", "xfail")),
        "first": diagnosis[0] if diagnosis else "-",
        "own": bool(diagnosis) and diagnosis[0] == server["defect"],
        "slowest": ", ".join(f"{c['id']} {c['duration']:.1f} s" for c in slowest),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="servers of tests/beginner/manifest.toml (default: all)")
    parser.add_argument("-r", "--repeat", type=int, default=1, help="runs per server")
    parser.add_argument("--show-command", action="store_true", help="print each run's command line")
    parser.add_argument("--reports", type=Path, metavar="DIR",
                        help="keep each run's report in DIR/beg-NAME (default: thrown away)")
    opts = parser.parse_args()
    chosen = [s for s in servers() if not opts.names or s["name"] in opts.names]
    for server in chosen:
        if opts.show_command:
            print(shlex.join(command_line(server, (opts.reports or Path("/tmp")) / f"beg-{server['name']}")), flush=True)
        failed_every_time, times = None, []
        for _ in range(opts.repeat):
            load = os.getloadavg()[0]
            r = run(server, opts.reports)
            failed = set(r["failed"])
            failed_every_time = failed if failed_every_time is None else failed_every_time & failed
            times.append(r["time"])
            print(f"{server['name']:<28} {r['time']:5.1f} s  exit {r['status']}  load {load:5.2f}  "
                  f"{r['lines']:4} lines  {len(failed):2} failed  first diagnosis: {r['first']}"
                  f"{'' if r['own'] else ' (NOT ' + server['defect'] + ')'}  "
                  f"slowest: {r['slowest']}", flush=True)
        print(f"{server['name']:<28} median {statistics.median(times):5.1f} s; "
              f"failed in every run: {json.dumps(sorted(failed_every_time))}", flush=True)


if __name__ == "__main__":
    main()
