"""Running the conformance suite as a user would (a subprocess), and reading its verdicts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAULTY = ROOT / "tests" / "faulty" / "manifest.toml"


@dataclass
class Run:
    status: int
    output: str
    report: dict | None

    def outcomes(self, implementation: str) -> dict[str, str]:
        cases = (self.report or {}).get("implementations", {}).get(implementation, {}).get("cases", [])
        return {c["id"]: c["outcome"] for c in cases}


def run_suite(*args: str, tmp: Path, timeout: float = 600, env: dict | None = None, strict: bool = True) -> Run:
    """``pytest conformance ARGS`` from the repository root, with a JSON report in ``tmp``;
    ``strict`` makes SHOULD-level failures count (the proof wants every verdict)."""
    report_dir = tmp / "report"
    cmd = [sys.executable, "-m", "pytest", "echo_conformance/checks", "-q", "-p", "no:randomly",
           "--hypothesis-profile=verdict", "--conformance-report", str(report_dir), *args]
    if strict:
        cmd.append("--strict-should")
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
    path = report_dir / "report.json"
    report = json.loads(path.read_text()) if path.exists() else None
    return Run(proc.returncode, proc.stdout + proc.stderr, report)
