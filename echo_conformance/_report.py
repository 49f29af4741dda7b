"""Verdicts for people and machines: the terminal matrix and report.json, report.md and
report.html.  Works with xdist: results are gathered on the controller from the reports the
workers send back (their ``user_properties`` carry the case details and the verdict that
``_verdict.decide`` reached).  Nothing here decides a verdict, nor how a case's phases or a
group's cases add up (``_verdict.case_outcome`` and ``_verdict.worse``), and nothing is imported
from the plugin: the :class:`Collector` is given what it reports on."""

from __future__ import annotations

import functools
import json
import shutil
import time
from collections.abc import Callable, Iterable
from html import escape
from pathlib import Path

import pytest

from . import _diagnosis, _evidence, _page, _timeline
from ._interrupt import Extent, Progress
from ._verdict import (DETAILED, ERROR, FAIL, FAILING, ORDER, PASS, SKIP, XFAIL, case_outcome, parse_known_failures,
                       worse)

KNOWN = pytest.StashKey[dict]()
#: the interruption of a run whose reports were written at its start and never replaced
UNFINISHED = "the run did not finish: it is still running, or it was killed before it could write its reports"
#: the user property (report.json) and the report section (terminal) a failing case's trace
#: of what happened on the wire goes in (:func:`annotate`)
TRACE_PROPERTY, TRACE_SECTION = _page.TRACE, "on the wire"
#: the per-case details a report carries, as recorded by the plugin (``_verdict``'s properties)
DETAILS = ("failure", "expected", "observed", "example", "step", "notes", "server_exit", "server_output",
           "launch_failed", TRACE_PROPERTY, _evidence.PROPERTY)


def configure(config: pytest.Config) -> None:
    """Read the known-failures file (a usage error if it is not one)."""
    config.stash[KNOWN] = load_known_failures(config.option.known_failures)


def load_known_failures(path: str | None) -> dict:
    if not path:
        return {}
    try:
        return parse_known_failures(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise pytest.UsageError(f"--known-failures: cannot read {path}: {exc}") from None
    except ValueError as exc:
        raise pytest.UsageError(f"--known-failures: {path}: {exc}") from None


def known_failures(config: pytest.Config) -> dict:
    return config.stash.get(KNOWN, {})


def _props(report) -> dict:
    return {k: v for k, v in report.user_properties}


def _fallback_outcome(report) -> str:
    """The outcome of a phase without a recorded verdict: one that passed (or, should one
    ever get here without the plugin's hook, pytest's own outcome)."""
    if hasattr(report, "wasxfail"):
        return XFAIL
    if report.skipped:
        return SKIP
    if report.failed:
        return FAIL if report.when == "call" else ERROR
    return PASS


class Collector:
    """Gathers one result per test item on the controller and writes the reports."""

    def __init__(self, implementations, timeout_scale: float = 1.0, directory: str | None = None,
                 cases: Callable[[], Iterable] = tuple, progress: Progress | None = None) -> None:
        self.implementations = list(implementations)  # echo_conformance._registry.Implementation
        self.timeout_scale = timeout_scale
        self.directory = directory
        self.cases = cases  # the selected cases (_cases.Case), asked for at the end
        self.progress = progress  # how much of the run ran (_interrupt)
        self.results: dict[str, dict] = {}
        self.suite_errors: list[tuple[str, str]] = []  # (what, pytest's report): not a case's verdict
        self.started = time.time()
        self._not_applicable: dict[str, list[dict]] | None = None

    def not_applicable(self) -> dict[str, list[dict]]:
        """Per implementation, the selected cases that do not apply to what it declares (``_page``)."""
        if self._not_applicable is None:
            self._not_applicable = _page.not_applicable(self.implementations, list(self.cases()))
        return self._not_applicable

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.suite_errors.append((f"could not collect {report.nodeid or 'a test module'}:", str(report.longrepr)))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = _props(report)
        if "case" not in props:
            if report.failed:  # a test that is not a case, or a crashed worker's (xdist)
                self.suite_errors.append((f"{report.nodeid} ({report.when}):", str(report.longrepr)))
            return
        r = self.results.setdefault(report.nodeid, {
            "id": props["case"], "level": props["level"], "requirement": props["requirement"],
            "implementation": props["implementation"], "nodeid": report.nodeid,
            "reproduce": props["reproduce"], "outcome": PASS, "duration": 0.0,
        })
        r["duration"] += report.duration
        outcome = case_outcome(r["outcome"], props.get("verdict") or _fallback_outcome(report))
        if outcome == r["outcome"]:
            return  # the first, worst phase tells the case's story
        r["outcome"] = outcome
        for key in ("reason", "message", *DETAILS):
            r.pop(key, None)
        r.update({k: props[k] for k in DETAILS if k in props})
        for key in (TRACE_PROPERTY, _evidence.PROPERTY):  # what happened on the wire, and the evidence, as JSON
            if isinstance(r.get(key), str):
                r[key] = json.loads(r[key])
        if outcome == XFAIL:
            r["reason"] = report.wasxfail
        elif outcome == SKIP:
            r["reason"] = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if outcome in DETAILED:
            r["message"] = str(report.longrepr)

    # --- the terminal ------------------------------------------------------------------
    def pytest_terminal_summary(self, terminalreporter) -> None:
        """The evidence (``_page.page``), unless pytest shows its own failure reports (the
        command runs with --tb=no: this is its listing), then the matrix and the tally."""
        if not self.results and not self.suite_errors:
            return
        tr = terminalreporter
        option = tr.config.option
        results = list(self.results.values())
        order = [i.name for i in self.implementations]
        full = bool(getattr(option, "conformance_verbose", False))
        found = self.diagnoses()
        diagnosis = [line for name, entries in found.items()
                     for line in _diagnosis.lines(name, entries, home=_diagnosis.HOME, verbose=full)]
        explained = {(name, case): (i, case == d.seen_in) for name, entries in found.items()
                     for i, d in enumerate(entries, 1) if d.defect != _diagnosis.UNKNOWN for case in d.cases}
        if getattr(option, "tbstyle", "auto") == "no":
            sections = _page.page(results, full=full, suite_errors=self.suite_errors, order=order, diagnosis=diagnosis,
                                  explained=explained)
        else:  # pytest has shown each failure: name them, one line each
            failing = sorted((r for r in results if r["outcome"] in FAILING),
                             key=lambda r: (r["implementation"], r["id"]))
            sections = [("diagnosis", diagnosis)] if diagnosis else []
            sections += [("failed cases", [_page.heading(r) for r in failing])] if failing else []
        for title, lines in sections:
            tr.section(title)
            for line in lines:
                tr.write_line(line)
        if results:
            tr.section("echo-conformance matrix")
            for line in matrix_lines(results, order, width=shutil.get_terminal_size().columns):
                tr.write_line(line)
            tr.write_line("")
            for line in _page.tally(results, self.not_applicable(), order):
                tr.write_line(line)
        if self.directory:
            tr.write_line(f"conformance report: {Path(self.directory) / 'report.html'} (also .md and .json)")

    def extent(self) -> Extent:
        return self.progress.extent() if self.progress else Extent(len(self.results), len(self.results), None)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.extent().interrupted:  # a case cut short has no verdict: its setup passing proves nothing
            self.results = {k: r for k, r in self.results.items() if k in self.progress.finished}
        if not self.directory:
            return
        write(Path(self.directory), self.document(int(session.exitstatus)))

    def begin(self) -> None:
        """Write the reports of a run that has not finished, to be replaced at its end: a run
        killed where nothing can write (SIGKILL, pytest-timeout's thread method) leaves them
        saying so, not nothing -- nor a previous run's verdict."""
        if self.directory:
            write(Path(self.directory), self.document(None, unfinished=True))

    def diagnoses(self) -> dict[str, list]:
        """Each implementation's diagnosis (``_diagnosis``): only those with failed cases."""
        declared = {i.name: i.declared() for i in self.implementations}
        by_impl: dict[str, list[dict]] = {}
        for r in self.results.values():
            by_impl.setdefault(r["implementation"], []).append(r)
        found = {name: _diagnosis.diagnose(results, declared.get(name)) for name, results in by_impl.items()}
        return {name: d for name, d in found.items() if d}

    def document(self, exitstatus: int | None, unfinished: bool = False) -> dict:
        skipped = self.not_applicable()
        impls = {i.name: {**i.declared(), "cases": [], "not_applicable": skipped.get(i.name, [])}
                 for i in self.implementations}
        for r in sorted(self.results.values(), key=lambda r: r["id"]):
            entry = {k: v for k, v in r.items() if k != "implementation"}
            entry["duration"] = round(entry["duration"], 3)
            impls.setdefault(r["implementation"] or "(none)", {"cases": []})["cases"].append(entry)
        counts: dict[str, int] = {}
        for r in self.results.values():
            counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
        extent = Extent(len(self.results), None, UNFINISHED) if unfinished else self.extent()
        failed = any(r["outcome"] in FAILING for r in self.results.values())
        return {
            "suite": "echo-conformance",
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "duration": round(time.time() - self.started, 2),
            "exit_status": exitstatus,
            # interrupted: false if a case failed, else null (unknown: the cases not run may fail)
            "conforming": False if failed else None if extent.interrupted else True,
            "interrupted": extent.interrupted,
            **({"interruption": extent.interruption} if extent.interrupted else {}),
            "cases_run": extent.cases_run,
            "cases_total": extent.cases_total,
            "counts": counts,
            "tally": _page.tally(list(self.results.values()), skipped, [i.name for i in self.implementations])[0],
            "timeout_scale": self.timeout_scale,
            "diagnosis": [dict(d.as_dict(), implementation=name) for name, found in self.diagnoses().items()
                          for d in found],
            "implementations": impls,
        }


def write(directory: Path, document: dict) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    (directory / "report.md").write_text(markdown(document), encoding="utf-8")
    (directory / "report.html").write_text(html_page(document), encoding="utf-8")


_CELL = {"fail": "FAIL", "error": "ERROR", "stale": "STALE", "xfail": "xfail", "pass": "pass", "skip": "skip"}


def _cell(outcomes: list[str]) -> str:
    if not outcomes:
        return "-"
    return _CELL[functools.reduce(worse, outcomes)]


def _group(case_id: str) -> str:
    """A case's group in the matrix: its ID without the last part (tcp.echo, lifecycle)."""
    return case_id.rsplit(".", 1)[0]


def matrix_lines(results, order: list[str] = (), width: int | None = None) -> list[str]:
    """Check groups down, implementations across: one line per group stays readable however
    many implementations there are (a single --impl-cmd run is two columns wide).  Wider than
    ``width``, the columns are numbered and the cells one character (:func:`compact_matrix`)."""
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
    if width is not None and len(header.rstrip()) > width:
        return compact_matrix(groups, impls, cells, width)
    lines = [header, "-" * len(header.rstrip())]
    for g in groups:
        row = "  ".join(_cell(cells.get((g, i), [])).ljust(w) for i, w in zip(impls, widths))
        lines.append((g.ljust(first) + "  " + row).rstrip())
    return lines


#: the compact matrix's cells: one character per outcome, as pytest's progress line has them
_MARK = {"fail": "F", "error": "E", "stale": "S", "xfail": "x", "pass": ".", "skip": "s"}
_MARK_KEY = ". pass  F fail  E error  S stale  x not met or known  s skipped  - not applicable"


def compact_matrix(groups: list[str], impls: list[str], cells: dict, width: int) -> list[str]:
    """The matrix for many implementations: numbered columns, one character per cell, and a key."""
    first = max([len(g) for g in groups] + [len("check group")])
    numbers = [str(n) for n in range(1, len(impls) + 1)]
    cell = max(len(n) for n in numbers)
    header = "check group".ljust(first) + " " + " ".join(n.rjust(cell) for n in numbers)
    lines = [header, "-" * len(header)]
    for g in groups:
        marks = [_MARK[functools.reduce(worse, cells[(g, i)])] if (g, i) in cells else "-" for i in impls]
        lines.append(g.ljust(first) + " " + " ".join(m.rjust(cell) for m in marks))
    names, line = [], ""
    for n, name in zip(numbers, impls):
        item = f"{n} {name}"
        if line and len(line) + 2 + len(item) > width:
            names.append(line)
            line = ""
        line = f"{line}  {item}" if line else item
    return [*lines, *names, line, _MARK_KEY]


# --- the documents ---------------------------------------------------------------------------

def _results(document: dict) -> list[dict]:
    return [dict(r, implementation=name) for name, d in document["implementations"].items() for r in d["cases"]]


def _failures(results: list[dict]) -> tuple[list[dict], list[dict]]:
    """The failing cases and the expected failures, each once, in case order."""
    key = lambda r: (r["id"], r["implementation"])  # noqa: E731
    return (sorted((r for r in results if r["outcome"] in FAILING), key=key),
            sorted((r for r in results if r["outcome"] == XFAIL), key=key))


def _summary(document: dict) -> str:
    counts = ", ".join(f"{v} {k}" for k, v in sorted(document["counts"].items(), key=lambda kv: ORDER[kv[0]]))
    counts = counts or "no case finished"
    return (f"run started {document['started']}, took {document['duration']} s; {counts}; "
            f"time bounds scaled by {document['timeout_scale']:g}")


def _observed(r: dict) -> str:
    """What was observed: the verdict's text, or pytest's own report when the check raised
    something unexpected (a bug in the check, an interrupted run)."""
    return r.get("observed") or r.get("message", "").strip() or "(nothing recorded)"


def _server_died(r: dict) -> str | None:
    if "server_output" not in r:
        return None
    status = f" with status {r['server_exit']}" if r.get("server_exit") else ""
    return f"The server process exited{status} during the check. Its last output:"


def _extent(document: dict) -> Extent:
    return Extent(document.get("cases_run", 0), document.get("cases_total"), document.get("interruption"))


def verdict_line(document: dict) -> tuple[str, str]:
    """The verdict in a few words, and what qualifies it (empty for a run that ran to the end):
    ``("NOT conforming", "")``, ``("interrupted: 5 of 24 cases ran", "SIGTERM; no verdict: ...")``."""
    extent = _extent(document)
    if not extent.interrupted:
        return ("conforming" if document["conforming"] else "NOT conforming"), ""
    if document["conforming"] is False:
        return "NOT conforming", f"{extent.sentence()} ({extent.interruption}); a case failed before the run stopped"
    return extent.sentence(), f"{extent.interruption}; no verdict: the cases that did not run could fail"


def _tally(document: dict) -> list[str]:
    """The tally's lines (``_page.tally``) of a document."""
    skipped = {name: d.get("not_applicable", []) for name, d in document["implementations"].items()}
    return _page.tally(_results(document), skipped, list(document["implementations"]))


def _not_applicable_lines(document: dict) -> list[str]:
    """Per implementation, the cases that did not apply and what would make them apply."""
    return [f"{name}: {_page.declare_hint(d['not_applicable'])}"
            for name, d in document["implementations"].items() if d.get("not_applicable")]


def markdown(document: dict) -> str:
    results = _results(document)
    verdict, qualified = verdict_line(document)
    headline = f"Verdict: **{verdict}**" + (f" — {qualified}" if qualified else "")
    lines = ["# echo-conformance report", "", f"{headline} ({_summary(document)}).", "",
             *(f"{line.strip()}  " for line in _tally(document)), "",
             *_diagnosis.markdown(document.get("diagnosis", [])),
             "## Matrix (check group x implementation)", "", "```",
             *matrix_lines(results, list(document["implementations"])), "```", ""]
    failures, expected = _failures(results)

    def fence(text: str) -> list[str]:
        return ["```", text.rstrip(), "```", ""]

    for title, group in (("Failures", failures), ("Expected failures (not fatal)", expected)):
        if not group:
            continue
        lines += [f"## {title}", ""]
        for r in group:
            lines += [f"### `{r['id']}` on {r['implementation']} ({r['level']}, {r['outcome']})", "",
                      f"- **Requirement:** {r['requirement']}"]
            if r.get("reason"):
                lines.append(f"- **Not fatal:** {r['reason']}")
            if r.get("expected"):
                lines.append(f"- **Expected:** {r['expected']}")
            lines += ["- **Observed:**", "", *fence(_observed(r))]
            if r.get("example"):
                lines += ["Failing example:", "", *fence(r["example"])]
            if r.get("notes"):
                lines += ["Details:", "", *fence(r["notes"])]
            if r.get(TRACE_PROPERTY):
                lines += ["On the wire:", "", *fence(_timeline.text(r[TRACE_PROPERTY]))]
            if _server_died(r):
                lines += [_server_died(r), "", *fence(r["server_output"] or "(no output)")]
            lines += ["Reproduce:", "", *fence(r["reproduce"])]
    lines += ["## Implementations", ""]
    for name, d in document["implementations"].items():
        if "model" in d:
            lines.append(f"- **{name}**: {d['kind']}, {d['model']}, {'+'.join(d['transports'])}"
                         f"{', IPv6' if d.get('ipv6') else ''}. {d.get('description', '')}")
    skipped = _not_applicable_lines(document)
    if skipped:
        lines += ["", "## Not applicable", "", *(f"- {line}" for line in skipped)]
    lines += ["", "## Cases", "", "| implementation | case | level | outcome | duration (s) |",
              "|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['implementation']} | `{r['id']}` | {r['level']} | {r['outcome']} | {r['duration']} |")
    return "\n".join(lines) + "\n"


_STYLE = """
*{box-sizing:border-box}
body{margin:0 auto;max-width:76rem;padding:1rem 1.25rem 3rem;color:#1f2328;background:#fff;
 font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
h1{font-size:1.45rem;margin:.3rem 0}
h2{font-size:1.15rem;margin:1.8rem 0 .6rem;padding-bottom:.2rem;border-bottom:1px solid #d0d7de}
h3{font-size:1rem;margin:0 0 .5rem;overflow-wrap:anywhere} h3 code{font-size:1em}
code,pre{font:13px/1.45 ui-monospace,SFMono-Regular,"DejaVu Sans Mono",Menlo,Consolas,monospace}
pre{margin:0;padding:.45rem .7rem;background:#f6f8fa;border:1px solid #e3e6ea;border-radius:4px;
 white-space:pre-wrap;overflow-wrap:anywhere}
.verdict-bad{color:#b42318} .verdict-good{color:#1a7f37}
.meta{color:#57606a;margin:.2rem 0 1rem}
.interrupted{margin:.2rem 0;padding:.4rem .7rem;background:#fff8c5;border:1px solid #d4a72c;border-radius:4px}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:separate;border-spacing:0}
th,td{border:solid #d0d7de;border-width:0 1px 1px 0;padding:.2rem .6rem}
thead th{border-top-width:1px} th:first-child{border-left-width:1px}
thead th{background:#f6f8fa;font-weight:600;vertical-align:bottom}
tbody th{text-align:left;font-weight:normal;white-space:nowrap;background:#fff}
thead th:first-child,tbody th{position:sticky;left:0;z-index:1}
td{text-align:center}
td a{color:inherit}
.o-pass{background:#dcf3dc} .o-skip{background:#eeeeee;color:#57606a}
.o-xfail{background:#fdefc3} .o-fail,.o-error,.o-stale{background:#f9c9c6;font-weight:700}
.level{color:#57606a;font-size:.8em;margin-left:.4em}
.card{border:1px solid #d0d7de;border-left:6px solid #b42318;border-radius:6px;padding:.7rem 1rem;margin:0 0 1rem}
.card.xfail{border-left-color:#d4a72c}
.badge{display:inline-block;padding:0 .45em;border-radius:3px;font-size:.8em;font-weight:700;
 vertical-align:.1em;background:#b42318;color:#fff}
.card.xfail .badge{background:#d4a72c}
.card dl{display:grid;grid-template-columns:8.5rem minmax(0,1fr);gap:.45rem .8rem;margin:0}
.card dt{font-weight:600;color:#57606a}
.card dd{margin:0;min-width:0}
pre.cmd span{display:inline-block;max-width:100%}
summary{cursor:pointer;color:#57606a} details[open] summary{margin-bottom:.3rem}
ul.skips{padding-left:1.2rem} ul.skips li{overflow-wrap:anywhere}
figure.timeline{margin:0;min-width:0}
figure.timeline svg{display:block;width:100%;min-width:700px;max-width:760px;height:auto} /* 700: text >= 8 px */
@media (max-width:40rem){
 body{padding:.75rem .6rem 2rem}
 .card{padding:.6rem .7rem;border-left-width:4px}
 .card dl{grid-template-columns:minmax(0,1fr)} .card dd{margin-bottom:.3rem}
 tbody th{white-space:normal;min-width:8rem} tbody th .level{display:block;margin-left:0}
}
.diagnosis ol{padding-left:1.4rem} .diagnosis li{margin:0 0 .8rem}
.diagnosis dl{display:grid;grid-template-columns:6rem minmax(0,1fr);gap:.2rem .7rem;margin:.3rem 0 0}
.diagnosis dt{color:#57606a} .diagnosis dd{margin:0;overflow-wrap:anywhere}
@media (max-width:40rem){.diagnosis dl{grid-template-columns:minmax(0,1fr)}}
"""


def _anchor(r: dict) -> str:
    return f"{r['id']}--{r['implementation']}"


def _wrap_name(name: str) -> str:
    """An implementation's name as a column heading that may break after its hyphens."""
    return escape(name).replace("-", "-<wbr>")


def _timeline_figure(trace: dict) -> str:
    """A failure's trace: the SVG timeline, and the same as text."""
    count = len(_timeline.text(trace).splitlines())
    return (f"<figure class='timeline'><div class='scroll'>{_timeline.svg(trace)}</div>"
            f"<details><summary>as text ({count} lines)</summary><pre>{escape(_timeline.text(trace))}</pre>"
            "</details></figure>")


def _card(r: dict) -> str:
    outcome = r["outcome"]
    rows = [("Requirement", escape(r["requirement"]))]
    if outcome == XFAIL and r.get("reason"):
        rows.append(("Not fatal", escape(r["reason"])))
    if r.get("expected"):
        rows.append(("Expected", escape(r["expected"])))
    rows.append(("Observed", f"<pre>{escape(_observed(r))}</pre>"))
    if r.get(TRACE_PROPERTY):
        rows.append(("On the wire", _timeline_figure(r[TRACE_PROPERTY])))
    if r.get("example"):
        rows.append(("Failing example", f"<pre>{escape(r['example'])}</pre>"))
    if r.get("notes"):
        rows.append(("Details", f"<pre>{escape(r['notes'])}</pre>"))
    died = _server_died(r)
    if died:
        rows.append(("Server output", f"{escape(died)}<pre>{escape(r['server_output'] or '(no output)')}</pre>"))
    # one line that wraps between the command's words (a word breaks only if it is wider than the page)
    words = " ".join(f"<span>{escape(word)}</span>" for word in r["reproduce"].split(" "))
    rows.append(("Reproduce", f"<pre class='cmd'>{words}</pre>"))
    body = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows)
    return (f"<section class='card {outcome}' id='{escape(_anchor(r), quote=True)}'>"
            f"<h3><code>{escape(r['id'])}</code> on {escape(r['implementation'])} "
            f"<span class='level'>{escape(r['level'])}</span> <span class='badge'>{_CELL[outcome]}</span></h3>"
            f"<dl>{body}</dl></section>")


def _diagnosis_html(entries: list[dict]) -> str:
    """The diagnosis, first: what each implementation does wrong, and where the cases it explains are."""
    parts = []
    for name, found in _diagnosis.by_implementation(entries).items():
        items = []
        for d in found:
            fix = d.get("fix")
            cases = ", ".join(f"<a href='#{escape(_anchor({'id': c, 'implementation': name}), quote=True)}'>"
                              f"<code>{escape(c)}</code></a>" for c in d["cases"])
            items.append(f"<li><b>{escape(d['summary'])}</b><dl>"
                         f"<dt>Seen</dt><dd>{escape(d['evidence'])}</dd>"
                         + (f"<dt>Hint</dt><dd>{escape(d['hint'])}</dd>" if d.get("hint") else "")
                         + (f"<dt>The fix</dt><dd><code>{escape(fix['path'])}</code> ({escape(fix['reference'])}): "
                            f"{escape(fix['why'])}</dd>" if fix else "")
                         + f"<dt>Explains</dt><dd>{cases}</dd></dl></li>")
        parts.append(f"<section class='diagnosis'><h2>Diagnosis: what {escape(name)} does wrong</h2>"
                     f"<ol>{''.join(items)}</ol></section>")
    return "".join(parts)


def html_page(document: dict) -> str:
    """The report as one self-contained page: the verdict, the matrix (case x implementation),
    then each failure once -- requirement, expected, observed, the server's last output and
    the command that reproduces it."""
    order = list(document["implementations"])
    results = _results(document)
    by = {(r["id"], r["implementation"]): r for r in results}
    levels = {r["id"]: r["level"] for r in results}
    columns = [i for i in order if any(r["implementation"] == i for r in results)]
    head = "".join(f"<th scope='col'>{_wrap_name(i)}</th>" for i in columns)
    rows = []
    for case_id in sorted(levels):
        cells = []
        for impl in columns:
            r = by.get((case_id, impl))
            if r is None:
                cells.append("<td></td>")
                continue
            label = _CELL[r["outcome"]]
            if r["outcome"] in DETAILED:
                label = f"<a href='#{escape(_anchor(r), quote=True)}'>{label}</a>"
            title = r.get("reason") if r["outcome"] == SKIP else f"{r['duration']} s"
            cells.append(f"<td class='o-{r['outcome']}' title='{escape(str(title), quote=True)}'>{label}</td>")
        rows.append(f"<tr><th scope='row'><code>{escape(case_id).replace('.', '.<wbr>')}</code>"
                    f"<span class='level'>{escape(levels[case_id])}</span></th>{''.join(cells)}</tr>")
    failures, expected = _failures(results)
    skipped = sorted((r for r in results if r["outcome"] == SKIP), key=lambda r: (r["id"], r["implementation"]))
    verdict, qualified = verdict_line(document)
    good = document["conforming"] is True and not qualified
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>echo-conformance: {verdict}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>echo-conformance: <span class='{'verdict-good' if good else 'verdict-bad'}'>{verdict}</span></h1>",
        f"<p class='interrupted'>{escape(qualified)}.</p>" if qualified else "",
        f"<p class='meta'>{escape(_summary(document))}.</p>",
        "".join(f"<p class='tally'>{escape(line.strip())}</p>" for line in _tally(document)),
        _diagnosis_html(document.get("diagnosis", [])),
        "<h2>Matrix</h2>",
        f"<div class='scroll'><table><thead><tr><th scope='col'>case</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>",
        f"<h2>Failures ({len(failures)})</h2>",
        "".join(_card(r) for r in failures) or "<p>None: every case that ran passed or was expected to fail.</p>",
    ]
    if expected:
        parts += [f"<h2>Expected failures ({len(expected)}, not fatal)</h2>", "".join(_card(r) for r in expected)]
    if skipped:
        parts += [f"<h2>Skipped ({len(skipped)})</h2><ul class='skips'>",
                  "".join(f"<li><code>{escape(r['id'])}</code> on {escape(r['implementation'])}: "
                          f"{escape(r.get('reason') or '')}</li>" for r in skipped), "</ul>"]
    not_applicable = _not_applicable_lines(document)
    if not_applicable:
        parts += ["<h2>Not applicable</h2><ul class='skips'>",
                  "".join(f"<li>{escape(line)}</li>" for line in not_applicable), "</ul>"]
    impls = [(name, d) for name, d in document["implementations"].items() if "model" in d]
    if impls:
        parts += ["<h2>Implementations</h2><ul>",
                  "".join(f"<li><b>{escape(name)}</b>: {escape(d['kind'])}, {escape(d['model'])}, "
                          f"{escape('+'.join(d['transports']))}{', IPv6' if d.get('ipv6') else ''}"
                          f"{'. ' + escape(d['description']) if d.get('description') else ''}</li>"
                          for name, d in impls), "</ul>"]
    parts.append("</body></html>\n")
    return "".join(parts)


# --- the trace, into a failing case's report ---------------------------------------------------

def annotate(report, outcome: str, recorder) -> None:
    """Give a failing (or expected-failing) phase's report the case's trace (``recorder``, a
    ``_wire.Recorder``, or None): a JSON user property, and a text section that the terminal
    shows under the failure message.  The trace only observes: failing to draw it costs no
    verdict."""
    try:
        if recorder is not None and outcome in DETAILED and report.when in ("call", "teardown"):
            trace = recorder.snapshot()
            if trace["events"]:
                shown = _timeline.text(trace)
                report.user_properties.append((TRACE_PROPERTY, json.dumps(trace, separators=(",", ":"))))
                report.sections.append((TRACE_SECTION, shown))
    except Exception as exc:  # noqa: BLE001 - the trace only observes: it never costs a verdict
        report.sections.append((TRACE_SECTION, f"(no timeline: {type(exc).__name__}: {exc})"))
