"""Running the conformance suite as a user would (a subprocess), and reading its verdicts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAULTY = ROOT / "tests" / "faulty" / "manifest.toml"


def as_in_a_terminal() -> None:
    """``preexec_fn`` for a child that a test interrupts the way a terminal does: SIGINT and
    SIGQUIT at their default actions.  A non-interactive shell starts a background job (``cmd &``)
    with both ignored, and an ignored signal stays ignored across fork and exec: a test run started
    so (seen here: ``(/usr/bin/time pytest ... &)``) would hand that on, and its Ctrl-C would do
    nothing (Python installs its KeyboardInterrupt handler only where SIGINT is not ignored)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


@dataclass
class Run:
    status: int
    output: str
    report: dict | None

    def outcomes(self, implementation: str) -> dict[str, str]:
        cases = (self.report or {}).get("implementations", {}).get(implementation, {}).get("cases", [])
        return {c["id"]: c["outcome"] for c in cases}

    def failures(self, implementation: str) -> dict[str, str]:
        """``{case: what its failure raised}`` for the failed cases of ``implementation``:
        report.json's ``failure`` (violation, launch, oserror, process-gone, other)."""
        cases = (self.report or {}).get("implementations", {}).get(implementation, {}).get("cases", [])
        return {c["id"]: c["failure"] for c in cases if "failure" in c}


def run_suite(*args: str, tmp: Path, timeout: float = 600, env: dict | None = None, strict: bool = True) -> Run:
    """``pytest conformance ARGS`` from the repository root, with a JSON report in ``tmp``;
    ``strict`` makes SHOULD-level failures count (the proof wants every verdict)."""
    report_dir = tmp / "report"
    cmd = [sys.executable, "-m", "pytest", "conformance", "-q", "-p", "no:randomly",
           "--hypothesis-profile=verdict", "--conformance-report", str(report_dir), *args]
    if strict:
        cmd.append("--strict-should")
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
    path = report_dir / "report.json"
    report = json.loads(path.read_text()) if path.exists() else None
    return Run(proc.returncode, proc.stdout + proc.stderr, report)
