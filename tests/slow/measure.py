"""Print how long one suite run over each slow server takes, as a learner would run it:
``pytest -n auto --impl-file=tests/slow/manifest.toml --impl NAME`` (no -x), from the
repository root, with a fresh Hypothesis example database (a first run).  Performance is quoted from this script's output, not asserted by a timed
test (tests/test_speed.py asserts the verdicts only).

    .venv/bin/python tests/slow/measure.py                 # every server, once
    .venv/bin/python tests/slow/measure.py trickle -r 3    # one server, three runs
    .venv/bin/python tests/slow/measure.py --bundled       # also the bundled servers' full run
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MANIFEST = HERE / "manifest.toml"

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def names() -> list[str]:
    return [i["name"] for i in tomllib.loads(MANIFEST.read_text())["implementation"]]


def run(args: list[str]) -> tuple[float, int, str]:
    cmd = [sys.executable, "-m", "pytest", "-n", "auto", "-q", "-p", "no:randomly", *args]
    with tempfile.TemporaryDirectory() as db:  # a first run: no saved failing examples to replay
        env = {**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": db}
        start = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env)
        took = time.monotonic() - start
    tail = proc.stdout.strip().splitlines()[-1:] or [""]
    summary = re.sub(r"\s+in [\d.]+s.*$", "", tail[0].strip("= "))
    return took, proc.returncode, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="servers of tests/slow/manifest.toml (default: all)")
    parser.add_argument("-r", "--repeat", type=int, default=1, help="runs per server")
    parser.add_argument("--bundled", action="store_true", help="also time the run over the bundled servers")
    parser.add_argument("--pytest-arg", action="append", default=[], metavar="ARG",
                        help="pass ARG to every run (repeatable), e.g. --pytest-arg=--assert=plain")
    opts = parser.parse_args()
    targets = [(n, [f"--impl-file={MANIFEST}", "--impl", n, *opts.pytest_arg]) for n in (opts.names or names())]
    if opts.bundled:
        targets.append(("(bundled: pytest -n auto)", list(opts.pytest_arg)))
    width = max(len(n) for n, _ in targets)
    for name, args in targets:
        for _ in range(opts.repeat):
            load = _load()
            took, status, summary = run(args)
            print(f"{name:<{width}}  {took:6.1f} s  exit {status}  load {load}  {summary}", flush=True)


def _load() -> str:
    """The 1-minute load average when a run starts: the machine is shared, and a run's time
    means little without it."""
    try:
        return f"{os.getloadavg()[0]:5.2f}"
    except OSError:
        return "    ?"


if __name__ == "__main__":
    main()
