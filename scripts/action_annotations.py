"""The GitHub Action's annotations (scripts/action-run.sh runs this after the command): one
workflow command per case that did not pass, read from report.json, so that each shows on the
run's page and in its checks:

    ::error title=tcp.echo.binary (MUST) failed on external::expected ...; observed ...

a failed MUST-level case (or a stale known failure) as ``::error``, a SHOULD-level one not met
as ``::warning``, a known failure as ``::notice``, and an interrupted run as a ``::warning`` of
its own.  Standard library only: it runs with whatever Python the Action has.

Usage: python3 action_annotations.py DIR/report.json
"""

from __future__ import annotations

import json
import sys

#: the longest message (GitHub shows annotations of a few hundred characters well)
LIMIT = 600
SHOULD_REASON_START = "SHOULD-level case failed"


def _data(text: str) -> str:
    """A workflow command's message, escaped (GitHub's rules)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    """A workflow command's property value (title), escaped."""
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def _one_line(text: str) -> str:
    """The first lines of a multi-line text (a description, then its one-line summary) as one."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " — ".join(lines[:2])


def _shorten(text: str) -> str:
    return text if len(text) <= LIMIT else text[: LIMIT - 1] + "…"


def annotation(case: dict, implementation: str) -> str | None:
    """The workflow command for one case of report.json, or None for a case that passed or did not apply."""
    outcome = case["outcome"]
    if outcome in ("fail", "error", "stale"):
        command, what = "error", "failed" if outcome != "stale" else "is a stale known failure"
    elif outcome == "xfail" and (case.get("reason") or "").startswith(SHOULD_REASON_START):
        command, what = "warning", "not met (SHOULD, not fatal)"
    elif outcome == "xfail":
        command, what = "notice", f"failed as listed ({case.get('reason') or 'a known failure'})"
    else:
        return None
    title = f"{case['id']} ({case['level']}) {what} on {implementation}"
    if case.get("expected"):
        message = f"expected {case['expected']}; observed {_one_line(case.get('observed') or '(nothing recorded)')}"
    else:
        message = _one_line(case.get("observed") or case.get("message") or case.get("requirement", ""))
    return f"::{command} title={_property(title)}::{_data(_shorten(message))}"


def annotations(document: dict) -> list[str]:
    lines = []
    if document.get("interrupted"):
        total = "?" if document.get("cases_total") is None else document["cases_total"]
        message = (f"interrupted: {document.get('cases_run', 0)} of {total} cases ran "
                   f"({document.get('interruption') or 'stopped early'}); the verdicts are of those alone")
        lines.append(f"::warning title={_property('echo-conformance was interrupted')}::{_data(message)}")
    for name, implementation in document.get("implementations", {}).items():
        for case in implementation.get("cases", []):
            line = annotation(case, name)
            if line:
                lines.append(line)
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    try:
        with open(argv[0], encoding="utf-8") as f:
            document = json.load(f)
    except (OSError, ValueError) as exc:
        print(f"::warning title=echo-conformance::{_data(f'no annotations: cannot read {argv[0]}: {exc}')}")
        return 0
    for line in annotations(document):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
