"""The diagnosis: what a server does wrong, in plain words, derived from what its failing
cases observed.

Theory of operation
-------------------
A failing case records its evidence (``_evidence``): per exchange the bytes sent, awaited and
received, how they differ and how the wait ended; per check what it measured; and the process's
fate (it exited, what it printed).  ``_defects`` is the table of classic mistakes, each with a
rule that recognizes it from that evidence.  :func:`diagnose` tries the rules in the table's
order, most basic mistake first (a server that echoes nothing has no half-close to lose): a
case explained by an earlier diagnosis is one of its consequences, not evidence of another
mistake, and a rule that explains no case not already explained adds nothing.  Failed cases
that no rule explains get an honest last entry: no known mistake matches, start with that case.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from . import implementations
from ._defects import DEFECTS, Fix, Run

UNKNOWN = "unknown"
#: the folder that holds ``implementations/`` (the checkout's root, or the installed package):
#: ``Fix.path`` is relative to it
HOME = Path(implementations.__path__[0]).resolve().parent


@dataclass(frozen=True)
class Diagnosis:
    """One entry: a mistake, the observation it rests on, and the failed cases it explains."""

    defect: str
    summary: str
    evidence: str
    cases: tuple[str, ...]
    fix: Fix | None = None
    hint: str = ""

    def as_dict(self) -> dict:
        d = {"defect": self.defect, "summary": self.summary, "evidence": self.evidence, "cases": list(self.cases)}
        if self.fix is not None:
            d["fix"] = {"reference": self.fix.reference, "path": self.fix.path, "why": self.fix.why}
        if self.hint:
            d["hint"] = self.hint
        return d


# --- the diagnosis ----------------------------------------------------------------------------------

def diagnose(results: Iterable[dict], declared: dict | None = None) -> list[Diagnosis]:
    """The diagnosis of one implementation's run (its report.json case entries and its
    declaration): one entry per distinct mistake, most basic first; the failed cases no rule
    explains end it, as one honest entry."""
    run = Run(results, declared)
    failed = run.failed()
    if not failed:
        return []
    explained: set[str] = set()
    out = []
    for defect in DEFECTS:
        found = defect.rule(run)
        if found is None:
            continue
        new = tuple(c for c in found.cases if c in failed and c not in explained)
        if not new:
            continue
        explained.update(new)
        out.append(Diagnosis(defect.id, defect.summary, found.evidence, new, defect.fix, defect.hint))
    rest = tuple(c for c in failed if c not in explained)
    if rest:
        start = min(rest, key=_basic)
        out.append(Diagnosis(UNKNOWN, f"No known mistake matches {'this failure' if len(rest) == 1 else 'these failures'}"
                             f": start with {start}.", _observed(run, start), rest))
    return out


#: the order in which to read failed cases: the most basic checks first
_ORDER = ("lifecycle.ready", "tcp.echo.unbuffered", "tcp.echo.no-banner", "tcp.echo.no-extra", "tcp.echo.binary",
          "tcp.halfclose.small", "udp.echo.exact", "udp.echo.sizes", "tcp.echo", "tcp.halfclose", "relay.halfclose",
          "tcp.serial", "tcp.concurrent", "tcp.stateful", "tcp.robust", "tcp.resources", "tcp", "udp", "relay")


def _basic(case: str) -> tuple[int, str]:
    return next((i for i, p in enumerate(_ORDER) if case.startswith(p)), len(_ORDER)), case


def _observed(run: Run, case: str) -> str:
    observed = (run.results[case].get("observed") or "").strip().splitlines()
    return f"{case}: {observed[0]}" if observed else case


# --- words for people -------------------------------------------------------------------------------

def lines(name: str, diagnoses: list[Diagnosis], *, home: Path | None = None, verbose: bool = False) -> list[str]:
    """The diagnosis as the terminal shows it, before any case's details."""
    if not diagnoses:
        return []
    mistakes = [d for d in diagnoses if d.defect != UNKNOWN]
    count = len(mistakes)
    head = (f"what {name} does wrong" + (f" ({count} mistakes)" if count > 1 else "")) if mistakes else \
        f"what {name} does wrong"
    out = [f"DIAGNOSIS: {head}"]
    for i, d in enumerate(diagnoses, 1):
        out.append(f"  {i}. {d.summary}")
        out.append(f"     seen: {d.evidence}")
        if d.hint:
            out.append(f"     hint: {d.hint}")
        if d.fix is not None:
            where = d.fix.path
            if home is not None:
                try:
                    number, code = d.fix.code(home)
                    where = f"{d.fix.path}:{number}"
                except (OSError, ValueError):
                    code = []
            else:
                code = []
            out.append(f"     fix:  {d.fix.reference} does it right ({where}): {d.fix.why}")
            if verbose:
                out += [f"           {line.strip()}" for line in code]
        explained = ", ".join(d.cases[:4]) + (f" and {len(d.cases) - 4} more" if len(d.cases) > 4 else "")
        out.append(f"     explains: {explained}")
    return out


def markdown(name: str, diagnoses: list[Diagnosis]) -> list[str]:
    if not diagnoses:
        return []
    out = [f"## Diagnosis: what {name} does wrong", ""]
    for i, d in enumerate(diagnoses, 1):
        out.append(f"{i}. **{d.summary}** Seen: {d.evidence}."
                   + (f" Hint: {d.hint}." if d.hint else "")
                   + (f" The fix: `{d.fix.path}` ({d.fix.reference}): {d.fix.why}." if d.fix else "")
                   + f" Explains: {', '.join(f'`{c}`' for c in d.cases)}.")
    return out + [""]


def catalogue(home: Path) -> str:
    """docs/mistakes.md's body: every mistake the diagnosis names, for a learner to read on its
    own -- how a client sees it, why servers get it wrong, and the fix in a reference server,
    quoted from that server as it is now (a test keeps the page current)."""
    out = ["| mistake | what the server does wrong |", "|---|---|"]
    out += [f"| [`{d.id}`](#{d.id}) | {d.summary} |" for d in DEFECTS]
    for d in DEFECTS:
        out += ["", f"### {d.id}", "", f"**{d.summary}**", "", *_item("How a client sees it", d.client),
                *_item("Why servers get it wrong", d.cause)]
        if d.hint:
            out += _item("First, check the declaration", d.hint)
        if d.fix is not None:
            number, code = d.fix.code(home)
            out += _item("The fix", f"`{d.fix.reference}` ([`{d.fix.path}`](../{d.fix.path}), line {number}): {d.fix.why}")
            out += ["", "```python", *_dedent(code), "```"]
    return "\n".join(out)


def _item(title: str, text: str, width: int = 116) -> list[str]:
    """A bullet of the page, wrapped to the docs' width."""
    return textwrap.wrap(f"- **{title}:** {text}.", width, subsequent_indent="  ", break_on_hyphens=False,
                         break_long_words=False)


def _dedent(code: list[str]) -> list[str]:
    indent = min((len(line) - len(line.lstrip()) for line in code if line.strip()), default=0)
    return [line[indent:] for line in code]
