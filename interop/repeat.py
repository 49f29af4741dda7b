"""Run the suite over the whole interop corpus N times and say whether every run failed the
same cases (the corpus's verdicts are deterministic), and how each differing case went.

    .venv/bin/python interop/repeat.py -r 10            # from the repository root
    .venv/bin/python interop/repeat.py -r 3 --impl rinetd --impl nginx-stream
    .venv/bin/python interop/repeat.py -r 1 --manifest tests/faulty/manifest.toml --out faulty.txt

Each run is what tests/test_interop.py runs per entry (the verdict profile, SHOULD cases
counted), over every entry at once; the failure list of each run is printed as it ends.  With
``--manifest``, the same over another manifest's entries (the faulty catalogue, the slow
servers); ``--out`` writes the failures of every run, one per line, to compare two checkouts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "interop" / "manifest.toml"


def run_once(manifest: Path, impls: list[str], workers: str) -> tuple[float, set[str], int]:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:randomly",
               "-n", workers, "--hypothesis-profile=verdict", "--strict-should", f"--impl-file={manifest}",
               "--conformance-report", tmp, *[f"--impl={name}" for name in impls]]
        start = time.monotonic()
        subprocess.run(cmd, cwd=ROOT, capture_output=True, stdin=subprocess.DEVNULL)
        took = time.monotonic() - start
        report = json.loads((Path(tmp) / "report.json").read_text())
    failed, total = set(), 0
    for name, impl in report["implementations"].items():
        for case in impl["cases"]:
            total += 1
            if case["outcome"] not in ("pass", "skip"):
                failed.add(f"{name} {case['id']}")
    return took, failed, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-r", "--repeat", type=int, default=10)
    parser.add_argument("--impl", action="append", default=[], help="only these entries (repeatable)")
    parser.add_argument("-n", "--workers", default="4")
    parser.add_argument("--manifest", type=Path, default=MANIFEST, help="another manifest's entries")
    parser.add_argument("--out", type=Path, help="write every run's failures here, one per line")
    opts = parser.parse_args()
    manifest = opts.manifest.resolve()
    runs = []
    for i in range(1, opts.repeat + 1):
        took, failed, total = run_once(manifest, opts.impl, opts.workers)
        runs.append(failed)
        print(f"run {i}: {total} verdicts, {len(failed)} failures, {took:.0f} s", flush=True)
        if opts.out:
            with open(opts.out, "a") as out:
                out.writelines(f"run {i}: {failure}\n" for failure in sorted(failed))
    every = set.intersection(*runs)
    varying = Counter(f for run in runs for f in run if f not in every)
    print(f"{len(every)} failures in every one of {len(runs)} runs")
    if varying:
        print("differing between runs (failed in k of the runs):")
        for failure, k in sorted(varying.items()):
            print(f"  {failure}: {k} of {len(runs)}")
    else:
        print(f"identical failure lists in all {len(runs)} runs")
    if manifest == MANIFEST:
        _against_expected(every, set(varying), opts.impl)


def _against_expected(always: set[str], sometimes: set[str], impls: list[str]) -> None:
    """What interop/expected.toml says that these runs did not bear out."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("interop_matrix", ROOT / "interop" / "_matrix.py")
    matrix = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(matrix)
    listed = {f"{name} {f['case']}": bool(f.get("sometimes"))
              for name, failures in matrix.load_expected(ROOT / "interop" / "expected.toml").items()
              if not impls or name in impls for f in failures}
    tolerated = {f"{name} {f['case']}" for name, alarms in matrix.load_false_alarms(ROOT / "interop" / "expected.toml").items()
                 for f in alarms}
    notes = [f"  not listed, failed: {f}" for f in sorted((always | sometimes) - set(listed) - tolerated)]
    notes += [f"  listed, never failed: {f}" for f in sorted(set(listed) - always - sometimes)]
    notes += [f"  listed as always, failed only sometimes: {f}" for f in sorted(sometimes) if listed.get(f) is False]
    notes += [f"  listed as sometimes, failed every time: {f}" for f in sorted(always) if listed.get(f)]
    print(f"interop/expected.toml: {sum(listed.values())} sometimes of {len(listed)} listed failures")
    print("\n".join(notes) if notes else "  matches these runs")


if __name__ == "__main__":
    main()
