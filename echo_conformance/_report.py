"""Verdicts for people and machines: the terminal matrix, JSON and Markdown reports, and
the known-failures list.  Works with xdist: results are gathered on the controller from
the reports the workers send back (their ``user_properties`` carry the case details)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

KNOWN = pytest.StashKey[dict]()
ORDER = {"fail": 0, "error": 0, "stale": 0, "xfail": 1, "pass": 2, "skip": 3}


def addoption(group) -> None:
    group.addoption("--conformance-report", metavar="DIR",
                    help="write report.json, report.md and report.html (the verdicts per implementation and case) to DIR")
    group.addoption("--known-failures", metavar="FILE.toml",
                    help="cases an implementation knowingly fails ([[known-failure]] case, implementation, "
                         "reason): reported as expected; one that passes fails the run as stale")


def configure(config: pytest.Config) -> None:
    config.stash[KNOWN] = _load_known(config.option.known_failures)
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist)
        config.pluginmanager.register(Collector(config), "echo-conformance-report")


def _load_known(path: str | None) -> dict:
    if not path:
        return {}
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise pytest.UsageError(f"--known-failures: cannot read {path}: {exc}") from None
    known = {}
    for entry in data.get("known-failure", []):
        if "case" not in entry or "reason" not in entry:
            raise pytest.UsageError(f"--known-failures: every [[known-failure]] needs case and reason: {entry}")
        known[(entry.get("implementation", "*"), entry["case"])] = entry["reason"]
    return known


def apply_known_failures(item: pytest.Item, spec, impl, report: pytest.TestReport) -> None:
    if report.when != "call" or impl is None:
        return
    known = item.config.stash[KNOWN]
    reason = known.get((impl.name, spec.id), known.get(("*", spec.id)))
    if reason is None:
        return
    if report.failed:
        report.outcome = "skipped"
        report.wasxfail = f"known failure: {reason}"
    elif report.passed:
        report.outcome = "failed"
        report.user_properties.append(("stale", "true"))
        report.longrepr = (f"{spec.id} is listed in {item.config.option.known_failures} as a known failure of "
                           f"{impl.name} ({reason}), but it now passes: remove it from the list")


def _props(report) -> dict:
    return {k: v for k, v in report.user_properties}


class Collector:
    """Gathers one result per test item on the controller and writes the reports."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.results: dict[str, dict] = {}
        self.started = time.time()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = _props(report)
        if "case" not in props:
            return
        r = self.results.setdefault(report.nodeid, {
            "id": props["case"], "level": props["level"], "requirement": props["requirement"],
            "implementation": props["implementation"], "nodeid": report.nodeid,
            "reproduce": props["reproduce"], "outcome": "pass", "duration": 0.0,
        })
        r["duration"] += report.duration
        for key in ("expected", "observed"):
            if key in props:
                r[key] = props[key]
        outcome = None
        if hasattr(report, "wasxfail"):
            outcome, r["reason"] = "xfail", report.wasxfail
        elif report.skipped:
            outcome = "skip"
            r["reason"] = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        elif report.failed:
            if "stale" in props:
                outcome = "stale"
            elif report.when == "call" or "launch_failed" in props:
                outcome = "fail"
            else:
                outcome = "error"
            r["message"] = str(report.longrepr)
        if outcome and (r["outcome"] == "pass" or ORDER[outcome] < ORDER[r["outcome"]]):
            r["outcome"] = outcome

    # --- the terminal ------------------------------------------------------------------
    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.results:
            return
        tr = terminalreporter
        tr.section("echo-conformance matrix")
        from .plugin import IMPLS  # the plugin imports this module

        for line in matrix_lines(self.results.values(), [i.name for i in self.config.stash[IMPLS]]):
            tr.write_line(line)
        bad = [r for r in self.results.values() if r["outcome"] in ("fail", "error", "stale")]
        if bad:
            tr.write_line("")
            tr.write_line("failed cases:")
            for r in sorted(bad, key=lambda r: (r["implementation"], r["id"])):
                tr.write_line(f"  {r['outcome'].upper():5} {r['id']} [{r['implementation']}] "
                              f"({r['level']}) {r['requirement']}")
        directory = self.config.option.conformance_report
        if directory:
            tr.write_line(f"\nconformance report: {Path(directory) / 'report.html'} (also .md and .json)")

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        directory = self.config.option.conformance_report
        if not directory:
            return
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        document = self.document(exitstatus)
        (out / "report.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        (out / "report.md").write_text(markdown(document), encoding="utf-8")
        (out / "report.html").write_text(html_page(document), encoding="utf-8")

    def document(self, exitstatus: int) -> dict:
        from .plugin import BOUNDS, IMPLS  # the plugin imports this module

        impls = {i.name: {"model": i.model, "kind": i.kind, "transports": list(i.transports),
                          "ipv6": i.ipv6, "description": i.description, "cases": []}
                 for i in self.config.stash[IMPLS]}
        for r in sorted(self.results.values(), key=lambda r: r["id"]):
            entry = {k: v for k, v in r.items() if k != "implementation"}
            entry["duration"] = round(entry["duration"], 3)
            impls.setdefault(r["implementation"] or "(none)", {"cases": []})["cases"].append(entry)
        counts: dict[str, int] = {}
        for r in self.results.values():
            counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
        bounds = self.config.stash[BOUNDS]
        return {
            "suite": "echo-conformance",
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "duration": round(time.time() - self.started, 2),
            "exit_status": int(exitstatus),
            "conforming": all(r["outcome"] not in ("fail", "error", "stale") for r in self.results.values()),
            "counts": counts,
            "timeout_scale": bounds.scale,
            "implementations": impls,
        }


def _cell(outcomes: list[str]) -> str:
    if not outcomes:
        return "-"
    worst = min(outcomes, key=lambda o: ORDER[o])
    return {"fail": "FAIL", "error": "ERROR", "stale": "STALE", "xfail": "xfail", "pass": "pass", "skip": "skip"}[worst]


def _group(case_id: str) -> str:
    """A case's group in the matrix: its ID without the last part (tcp.echo, lifecycle)."""
    return case_id.rsplit(".", 1)[0]


def matrix_lines(results, order: list[str] = ()) -> list[str]:
    """Check groups down, implementations across: one line per group stays readable however
    many implementations there are (a single --impl-cmd run is two columns wide)."""
    results = [r for r in results if r["implementation"]]
    groups = sorted({_group(r["id"]) for r in results})
    seen = set(r["implementation"] for r in results)
    impls = [i for i in order if i in seen] + sorted(seen - set(order))
    cells: dict[tuple[str, str], list[str]] = {}
    for r in results:
        cells.setdefault((_group(r["id"]), r["implementation"]), []).append(r["outcome"])
    first = max([len(g) for g in groups] + [len("check group")])
    widths = [max(len(i), 5) for i in impls]
    header = "check group".ljust(first) + "  " + "  ".join(i.ljust(w) for i, w in zip(impls, widths))
    lines = [header, "-" * len(header.rstrip())]
    for g in groups:
        row = "  ".join(_cell(cells.get((g, i), [])).ljust(w) for i, w in zip(impls, widths))
        lines.append((g.ljust(first) + "  " + row).rstrip())
    return lines


def markdown(document: dict) -> str:
    results = [dict(r, implementation=name) for name, d in document["implementations"].items()
               for r in d["cases"]]
    verdict = "conforming" if document["conforming"] else "NOT conforming"
    lines = ["# echo-conformance report", "",
             f"Run started {document['started']}, took {document['duration']} s; verdict: **{verdict}**; "
             f"outcomes: {', '.join(f'{k} {v}' for k, v in sorted(document['counts'].items()))}.", "",
             "## Matrix (check group x implementation)", "", "```", *matrix_lines(results, list(document["implementations"])), "```", "",
             "## Implementations", ""]
    for name, d in document["implementations"].items():
        if "model" in d:
            lines.append(f"- **{name}**: {d['kind']}, {d['model']}, {'+'.join(d['transports'])}"
                         f"{', IPv6' if d.get('ipv6') else ''}. {d.get('description', '')}")
    lines += ["", "## Cases", "", "| implementation | case | level | outcome | duration (s) |",
              "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['implementation']} | `{r['id']}` | {r['level']} | {r['outcome']} | {r['duration']} |")
    bad = [r for r in results if r["outcome"] in ("fail", "error", "stale")]
    if bad:
        lines += ["", "## Failures", ""]
        for r in bad:
            lines += [f"### `{r['id']}` on {r['implementation']} ({r['outcome']})", "",
                      f"Requirement ({r['level']}): {r['requirement']}", "", "```",
                      r.get("message", "").strip(), "```", "", f"Reproduce: `{r['reproduce']}`", ""]
    return "\n".join(lines) + "\n"


_COLOURS = {"pass": "#d9f2d9", "fail": "#f8c8c8", "error": "#f8c8c8", "stale": "#f8c8c8",
            "xfail": "#fde9b8", "skip": "#eeeeee"}


def html_page(document: dict) -> str:
    """The same report as a single self-contained HTML page."""
    from html import escape

    order = list(document["implementations"])
    results = [dict(r, implementation=name) for name, d in document["implementations"].items()
               for r in d["cases"]]
    ids = sorted({r["id"] for r in results})
    by = {(r["id"], r["implementation"]): r for r in results}
    head = "".join(f"<th>{escape(i)}</th>" for i in order)
    rows = []
    for case_id in ids:
        cells = []
        for impl in order:
            r = by.get((case_id, impl))
            if r is None:
                cells.append("<td></td>")
                continue
            title = escape(r.get("message") or r.get("reason") or f"{r['duration']} s", quote=True)
            cells.append(f'<td style="background:{_COLOURS[r["outcome"]]}" title="{title}">{r["outcome"]}</td>')
        level = next(r["level"] for r in results if r["id"] == case_id)
        rows.append(f"<tr><th style='text-align:left'><code>{escape(case_id)}</code> <small>{level}</small></th>"
                    + "".join(cells) + "</tr>")
    failures = "".join(
        f"<h3><code>{escape(r['id'])}</code> on {escape(r['implementation'])} ({r['outcome']})</h3>"
        f"<p>Requirement ({r['level']}): {escape(r['requirement'])}</p><pre>{escape(r.get('message', ''))}</pre>"
        f"<p>Reproduce: <code>{escape(r['reproduce'])}</code></p>"
        for r in results if r["outcome"] in ("fail", "error", "stale"))
    verdict = "conforming" if document["conforming"] else "NOT conforming"
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>echo-conformance report</title>"
            f"<style>body{{font-family:sans-serif}} td,th{{padding:2px 8px;border:1px solid #ccc}}"
            f"table{{border-collapse:collapse}}</style></head><body>"
            f"<h1>echo-conformance report: {verdict}</h1>"
            f"<p>Started {document['started']}, took {document['duration']} s; "
            f"{escape(', '.join(f'{k} {v}' for k, v in sorted(document['counts'].items())))}. "
            f"Hover over a cell for its details.</p>"
            f"<table><tr><th>case</th>{head}</tr>{''.join(rows)}</table>"
            f"<h2>Failures</h2>{failures or '<p>none</p>'}</body></html>\n")
