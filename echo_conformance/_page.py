"""One clean page of evidence: what the terminal shows of a run's verdicts.

Theory of operation
-------------------
The report writer (``_report.Collector``) hands over its results -- one dict per case and
implementation, as report.json has them -- and gets back the page as sections of lines
(:func:`page`), in the order a reader needs them:

1. the diagnosis (``_diagnosis.lines``: what the server does wrong, in plain words), which the
   report writer gives;
2. each failure as one block (:func:`block`): a heading (outcome, case ID, level,
   implementation), the requirement, what was expected, what was observed, the failing example
   as data, the server's last output if it died, the wire timeline and the reproduce command --
   at most about a dozen lines, or everything with ``full`` (``-v``);
3. the SHOULD-level cases not met, the same way, then the known failures, one line each;
4. what went wrong with the suite itself (a check module that cannot be collected, a crashed
   worker): in full;
5. the matrix and the tally (:func:`tally`): how many cases passed, failed, were not met or did
   not apply, and which declaration would make those apply (:func:`not_applicable`).

No pytest and no Hypothesis here: pure functions of the results, table-tested in
``tests/test_page.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from . import _timeline
from ._registry import DECLARED
from ._verdict import ERROR, FAIL, FAILING, PASS, SHOULD_REASON, SKIP, STALE, XFAIL, example_line

#: the most lines of observed text a block shows by default (then a line that says how many more)
OBSERVED_LINES = 5
#: the most lines of a check that could not run (pytest's report, a traceback: its end)
ERROR_LINES = 10
#: the timeline by default: the connections it shows (the one the case failed on first, and one
#: other to compare with), the events per connection
LANES, EVENTS = 2, 7
#: the key of a failure's trace in a result (``_report.TRACE_PROPERTY``, which imports this module)
TRACE = "trace"
#: the longest one-line failing example (a state machine's steps, joined)
EXAMPLE_WIDTH = 160

_LABEL = {FAIL: "FAIL", ERROR: "ERROR", STALE: "STALE"}
MORE = "-v shows all"


# --- what kind of a result it is -------------------------------------------------------------

def not_met(r: dict) -> bool:
    """A SHOULD-level case that failed, reported without failing the run."""
    return r["outcome"] == XFAIL and r.get("reason") == SHOULD_REASON


def known(r: dict) -> bool:
    """A failure listed in the known-failures file."""
    return r["outcome"] == XFAIL and not not_met(r)


def heading(r: dict) -> str:
    label = "NOT MET" if not_met(r) else "KNOWN" if known(r) else _LABEL.get(r["outcome"], r["outcome"].upper())
    return f"{label} {r['id']} ({r['level']}) on {r['implementation']}"


# --- one failure -----------------------------------------------------------------------------

def block(r: dict, *, full: bool = False) -> list[str]:
    """One failure's lines: at most about a dozen, or all of them with ``full``."""
    lines = [heading(r)]
    if known(r) and not full:
        return [f"{lines[0]}: {r.get('reason', '')}"]
    lines.append(f"  requirement: {r['requirement']}")
    if r.get("expected"):
        lines.append(f"  expected: {r['expected']}")
        lines += labelled("observed", r.get("observed") or "(nothing recorded)", None if full else OBSERVED_LINES)
    else:  # no verdict on the server (a bug of the check, the harness's error): pytest's own report
        lines += labelled("error", (r.get("message") or "(nothing recorded)").strip(),
                          None if full else ERROR_LINES, tail=True)
    if r.get("example"):
        lines += example_lines(r["example"], full=full)
    if full and r.get("notes"):
        lines += [f"  {line}" for line in r["notes"].splitlines()]
    if "server_output" in r:
        lines += server_lines(r.get("server_exit"), r.get("server_output") or "", full=full)
    if r.get(TRACE):
        trace = r[TRACE]
        shown = _timeline.text(trace) if full else _timeline.text(trace, max_lanes=LANES, per_lane=EVENTS)
        lines += [f"  {line}" for line in shown.splitlines()]
    if known(r):
        lines.append(f"  {r.get('reason', '')}")
    lines.append(f"  reproduce: {r['reproduce']}")
    return lines


def labelled(label: str, text: str, limit: int | None, *, tail: bool = False) -> list[str]:
    """``label: first line`` and the rest indented below, at most ``limit`` lines in all, one of
    them saying how many were left out: the first lines and the last one (where a server's output
    ends with its error), or with ``tail`` the last ones (where a traceback ends with the error)."""
    rest = text.splitlines() or [""]
    if limit is not None and len(rest) > limit:
        if tail:
            rest = [f"({len(rest) - (limit - 1)} earlier lines; {MORE})", *rest[-(limit - 1):]]
        else:
            rest = [*rest[:limit - 2], f"... ({len(rest) - (limit - 1)} more lines; {MORE})", rest[-1]]
    return [f"  {label}: {rest[0]}", *(f"    {line}" for line in rest[1:])]


def example_lines(example: str, *, full: bool) -> list[str]:
    """The failing example: on one line (a state machine's steps joined), or as the verdict's
    message has it with ``full``."""
    if full:
        return [f"  {line}" for line in example_line(example).splitlines()]
    steps = example.splitlines()
    text = "; ".join(step.strip() for step in steps)
    if len(text) > EXAMPLE_WIDTH:
        count = f"{len(steps)} steps; " if len(steps) > 1 else ""
        text = f"{text[:EXAMPLE_WIDTH]}... ({count}{MORE})"
    return [f"  failing example: {text}"]


def server_lines(status, output: str, *, full: bool) -> list[str]:
    """The server process died during the check: its status and its last output (by default,
    its last line)."""
    exited = f"the server process exited{f' with status {status}' if status not in (None, '') else ''} during the check"
    said = [line for line in output.splitlines() if line.strip()]
    if full:
        return [f"  {exited}; its last output:", *(f"    | {line}" for line in said or ["(no output)"])]
    return [f"  {exited}; its last line: {said[-1].strip() if said else '(no output)'}"]


# --- the tally -------------------------------------------------------------------------------

def counts(results: Iterable[dict]) -> list[tuple[str, int]]:
    """How many results of each kind, in the tally's order (only those there are)."""
    kinds = {
        "passed": lambda r: r["outcome"] == PASS,
        "failed (MUST)": lambda r: r["outcome"] == FAIL and r["level"] == "MUST",
        "failed (SHOULD, --strict-should)": lambda r: r["outcome"] == FAIL and r["level"] != "MUST",
        "errors": lambda r: r["outcome"] == ERROR,
        "stale known failures": lambda r: r["outcome"] == STALE,
        "SHOULD not met": not_met,
        "known failures": known,
        "skipped": lambda r: r["outcome"] == SKIP,
    }
    results = list(results)
    found = [(kind, sum(1 for r in results if test(r))) for kind, test in kinds.items()]
    return [(kind, n) for kind, n in found if n]


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def tally_line(results: Sequence[dict], not_applicable: int, implementations: int = 1) -> str:
    """``24 cases: 19 passed, 5 failed (MUST), 1 SHOULD not met; 22 not applicable``."""
    what = (_plural(len(results), "case") if implementations == 1 else
            f"{_plural(len(results), 'verdict')} over {implementations} implementations")
    parts = ", ".join(f"{n:,} {kind}" for kind, n in counts(results)) or "none ran"
    return f"{what}: {parts}" + (f"; {not_applicable:,} not applicable" if not_applicable else "")


def tally(results: Sequence[dict], not_applicable: dict[str, list[dict]], order: Sequence[str] = ()) -> list[str]:
    """The tally: one line for one implementation, with what would make the cases that did not
    apply apply; for several, one line for all and one for each that did not conform."""
    names = [n for n in order if n in not_applicable or any(r["implementation"] == n for r in results)]
    names += sorted({r["implementation"] for r in results} - set(names))
    if len(names) <= 1:
        skipped = [entry for entries in not_applicable.values() for entry in entries]
        line = tally_line(results, len(skipped))
        hint = declare_hint(skipped)
        return [line] + ([f"  {hint}"] if hint else [])
    lines = [tally_line(results, sum(len(v) for v in not_applicable.values()), len(names))]
    for name in names:
        mine = [r for r in results if r["implementation"] == name]
        if any(r["outcome"] in FAILING for r in mine):
            lines.append(f"  {name}: {tally_line(mine, len(not_applicable.get(name, [])))}")
    return lines


def declare_hint(entries: Sequence[dict]) -> str:
    """What would make the cases that did not apply apply: ``to run them, declare --impl-ipv6
    for tcp6.*, ...``; "" if nothing did not apply."""
    needs: dict[str, list[str]] = {}
    for entry in entries:
        needs.setdefault(entry["needs"], []).append(entry["case"])
    if not needs:
        return ""
    universe = [e["case"] for e in entries]
    return "to run them, declare " + ", ".join(
        f"{need} for {', '.join(patterns(ids, universe))}" for need, ids in needs.items())


def patterns(ids: Iterable[str], universe: Iterable[str]) -> list[str]:
    """``ids`` as few ID patterns as are true: ``tcp6.*`` where every case of ``universe`` that
    starts with ``tcp6.`` is among them, else the ID itself."""
    ids, universe = set(ids), set(universe) | set(ids)
    chosen: list[str] = []
    for case_id in sorted(ids):
        parts = case_id.split(".")
        pattern = case_id
        for n in range(1, len(parts)):
            prefix = ".".join(parts[:n]) + "."
            if all(u in ids for u in universe if u.startswith(prefix)):
                pattern = prefix + "*"
                break
        if pattern not in chosen:
            chosen.append(pattern)
    return chosen


# --- the cases that did not apply --------------------------------------------------------------

def not_applicable(implementations, cases) -> dict[str, list[dict]]:
    """Per implementation, the cases (of those selected) that do not apply to what it
    declares, and the declaration that would make each apply:
    ``{name: [{"case": "tcp6.echo.unbuffered", "needs": "--impl-ipv6"}, ...]}``."""
    out: dict[str, list[dict]] = {}
    for impl in implementations:
        out[impl.name] = []
        for spec in cases:
            unmet = spec.unmet(impl)
            if unmet is not None:
                out[impl.name].append({"case": spec.id, "needs": spell(unmet[0], unmet[1], impl.source)})
    return out


def spell(field: str, value, source: str) -> str:
    """A declaration as the implementation was declared: its option (``--impl-ipv6``,
    ``--impl-transport tcp,udp``), or a manifest's key (``ipv6 = true``)."""
    declaration = DECLARED[field]
    if source != "manifest" and declaration.option:
        if declaration.type == "flag":
            return declaration.option
        return f"{declaration.option} {','.join(value) if isinstance(value, tuple) else value}"
    if declaration.type == "flag":
        return f"{field} = {'true' if value else 'false'}"
    if isinstance(value, tuple):
        return f"{field} = [{', '.join(json.dumps(v) for v in value)}]"
    return f"{field} = {value if declaration.type == 'count' else json.dumps(value)}"


# --- the page --------------------------------------------------------------------------------

def page(results: Sequence[dict], *, full: bool = False, suite_errors: Sequence[tuple[str, str]] = (),
         order: Sequence[str] = (), diagnosis: Sequence[str] = (),
         explained: dict[tuple[str, str], tuple[int, bool]] | None = None) -> list[tuple[str, list[str]]]:
    """The evidence, as ``(title, lines)`` sections in reading order: the ``diagnosis`` first
    (the matrix and the tally, which the report writer adds, come last).  ``explained`` maps
    (implementation, case) to (the number of the diagnosis entry that explains it, whether its
    observation was seen in that case): the failures are grouped by the mistake behind them,
    the case it was seen in in full, its consequences a line each (all in full with ``full``)."""
    rank = {name: i for i, name in enumerate(order)}
    explained = explained or {}

    def key(r: dict):
        number, seen = explained.get((r["implementation"], r["id"]), (len(explained) + 1, False))
        return rank.get(r["implementation"], len(rank)), r["implementation"], number, not seen, r["id"]
    ordered = sorted(results, key=key)
    sections: list[tuple[str, list[str]]] = []
    if diagnosis:
        sections.append(("diagnosis", list(diagnosis)))
    failing = [r for r in ordered if r["outcome"] in FAILING]
    if failing and explained and not full:
        sections.append(("failures, by the mistake that explains them", _grouped(failing, explained)))
        failing = []
    for title, chosen in (("failures", failing),
                          ("SHOULD not met (not fatal without --strict-should)", [r for r in ordered if not_met(r)]),
                          ("known failures", [r for r in ordered if known(r)])):
        if chosen:
            sections.append((title, _blocks(chosen, full)))
    if suite_errors:
        sections.append(("errors outside the cases", [line for what, text in suite_errors
                                                      for line in (what, *(f"  {t}" for t in text.splitlines()))]))
    return sections


def _grouped(results: Sequence[dict], explained: dict[tuple[str, str], tuple[int, bool]]) -> list[str]:
    """A block for the case each mistake was seen in, a line for each of its consequences."""
    lines: list[str] = []
    for r in results:
        number, seen = explained.get((r["implementation"], r["id"]), (0, True))
        if not seen:  # a consequence of mistake ``number``: one line
            first = (r.get("observed") or "").strip().splitlines()
            lines.append(f"{heading(r)}, mistake {number}" + (f": {first[0]}" if first else ""))
            continue
        if lines:
            lines.append("")
        lines += block(r)
    return lines


def _blocks(results: Sequence[dict], full: bool) -> list[str]:
    lines: list[str] = []
    for r in results:
        one = block(r, full=full)
        if lines and len(one) > 1:
            lines.append("")
        lines += one
    return lines
