"""The interop matrix in Markdown: each corpus implementation against each check group, from
the expected verdicts (expected.toml) and the suite's catalogue of cases.

    python -m interop._matrix        # from the repository root: prints the matrix

A cell is ``pass`` when every case of the group that applies to the implementation is
expected to pass, ``FAIL`` when one is an expected failure (a real defect, explained below
the table with its reference), and ``n.a.`` when no case of the group applies (a relay-only
group on an echo server, UDP on a TCP-only server, IPv6 on an IPv4-only one).  The last
column names the mistakes the suite's diagnosis finds (expected.toml's ``defect``), each
linked to docs/mistakes.md.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.toml"
EXPECTED = HERE / "expected.toml"
IDLE = HERE / "idle.toml"
#: interop/idle.toml's keys -> the idle case each figure is for
IDLE_CASES = {"no-client": "tcp.idle.no-client", "silent-clients": "tcp.idle.silent-clients",
              "udp-no-peer": "udp.idle.no-peer"}
#: the widest line of the notes (the documentation's rule for prose; table rows may be wider)
WIDTH = 120
#: a word that starts a Markdown block when it starts a line: a list marker, a heading, a quote, a rule
BLOCK_START = re.compile(r"[-+*=>]+|#{1,6}|\d+[.)]")


#: what a listed failure may have raised (report.json's ``failure``, echo_conformance._verdict's
#: kinds): a violation of the case, unless the failure declares others as its ``kind`` (its
#: ``why`` says so)
KINDS = ("violation", "launch", "oserror", "process-gone", "other")


def load_expected(path: Path = EXPECTED) -> dict[str, list[dict]]:
    """``{implementation: [{case, why, reference}, ...]}`` from expected.toml, in file order."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    expected: dict[str, list[dict]] = {}
    for entry in data.get("entry", []):
        name = entry["name"]
        if name in expected:
            raise ValueError(f"{path}: entry {name!r} is listed twice")
        failures = entry.get("failure", [])
        for failure in failures:
            missing = {"case", "why", "reference"} - set(failure)
            if missing:
                raise ValueError(f"{path}: a failure of {name!r} lacks {', '.join(sorted(missing))}")
            if not set(kinds(failure)) <= set(KINDS) or not kinds(failure):
                raise ValueError(f"{path}: {name} {failure['case']}: kind {failure['kind']!r} is not one of "
                                 f"{', '.join(KINDS)}, or a list of them")
        expected[name] = failures
    return expected


def kinds(failure: dict) -> tuple[str, ...]:
    """What a listed failure may have raised: its ``kind`` (one, or a list), a violation by default."""
    kind = failure.get("kind", "violation")
    return (kind,) if isinstance(kind, str) else tuple(kind)


def load_defects(path: Path = EXPECTED) -> dict[str, list[str]]:
    """``{implementation: [defect, ...]}``: the mistakes (``echo_conformance._defects``) an
    entry's listed failures show, the one its diagnosis names first first; none for an entry
    without failures."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    defects: dict[str, list[str]] = {}
    for entry in data.get("entry", []):
        name, declared = entry["name"], entry.get("defect", [])
        declared = [declared] if isinstance(declared, str) else declared
        if not all(isinstance(d, str) and d for d in declared) or len(set(declared)) < len(declared):
            raise ValueError(f"{path}: {name}: defect must be a mistake's id, or a list of distinct ids")
        if bool(entry.get("failure")) != bool(declared):
            raise ValueError(f"{path}: {name}: " + ("an entry with failures names the mistake they show (defect)"
                                                    if declared == [] else "an entry without failures has no defect"))
        defects[name] = declared
    return defects


def load_false_alarms(path: Path = EXPECTED) -> dict[str, list[dict]]:
    """``{implementation: [{case, why}, ...]}``: cases the suite still fails wrongly there."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    return {entry["name"]: entry.get("false_alarm", []) for entry in data.get("entry", [])}


def group(case_id: str) -> str:
    """A case's check group: its ID without the last part (as in the suite's own matrix)."""
    return case_id.rsplit(".", 1)[0]


def _applicable(cases: Mapping, impl) -> set[str]:
    """The IDs of the cases that apply to ``impl`` (every case, when only IDs are given)."""
    return {cid for cid, spec in cases.items() if spec is None or spec.applies_to(impl) is None}


def _label(url: str) -> str:
    """A short name for a link: the host and the last part of the path (with its #fragment; the
    last two parts when the last is a number, as in ``issues/4``)."""
    parts = urlsplit(url)
    host = parts.netloc.removeprefix("www.")
    path = parts.path.strip("/").split("/")
    last = "/".join(path[-2:]) if path[-1].isdigit() else path[-1]
    last += f"#{parts.fragment}" if parts.fragment else ""
    return f"{host}: {last}" if last else host


def _link(reference: str, numbers: dict[str, int]) -> str:
    """A reference as Markdown: ``URL`` or ``URL (where)`` becomes a numbered reference link (the
    URL itself is written once, at the end, under ``numbers``); anything else is code."""
    url, _, where = reference.partition(" ")
    if url.startswith(("http://", "https://")):
        number = numbers.setdefault(url, len(numbers) + 1)
        return f"[{_label(url)}][{number}]" + (f" {where}" if where else "")
    return f"`{reference}`"


def _wrap(text: str, width: int = WIDTH) -> str:
    """``text`` (a list item) filled to ``width`` columns, continued two spaces in.  A word that
    Markdown would read as the start of a block at the start of a line (``+``, ``-``, ``8.``, ...)
    stays with the word before it, so that no continuation line begins a new list or heading."""
    words: list[str] = []
    for word in text.split():
        if words and BLOCK_START.fullmatch(word):
            words[-1] += f" {word}"
        else:
            words.append(word)
    lines = [words[0]]
    for word in words[1:]:
        if len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(f"  {word}")
    return "\n".join(lines)


def matrix(case_ids: Iterable[str] | Mapping | None = None, *, expected: Path = EXPECTED,
           manifest: Path = MANIFEST) -> str:
    """The Markdown matrix and its notes.  ``case_ids``: the suite's cases, as the mapping
    ``echo_conformance._catalogue.load()`` returns (so that applicability is known) or plain
    IDs (then every case counts as applicable); default: the catalogue."""
    from echo_conformance._registry import load_manifest

    if case_ids is None:
        from echo_conformance._catalogue import load

        case_ids = load()
    cases = dict(case_ids) if isinstance(case_ids, Mapping) else dict.fromkeys(case_ids)
    verdicts = load_expected(expected)
    impls = load_manifest(manifest)
    unknown = sorted(set(verdicts) - {i.name for i in impls})
    if unknown:
        raise ValueError(f"{expected}: entries not in {manifest}: {', '.join(unknown)}")
    groups = sorted({group(c) for c in cases})
    defects = load_defects(expected)
    lines = ["| implementation | " + " | ".join(f"`{g}`" for g in groups) + " | diagnosis |",
             "|---|" + "---|" * (len(groups) + 1)]
    notes = []
    numbers: dict[str, int] = {}
    for impl in impls:
        if impl.name not in verdicts:
            raise ValueError(f"{expected}: no entry for {impl.name!r}")
        failing = {f["case"]: f for f in verdicts[impl.name]}
        applicable = _applicable(cases, impl)
        strange = sorted(set(failing) - applicable)
        if strange:
            raise ValueError(f"{impl.name}: expected failures of cases that do not apply to it: {strange}")
        cells = []
        for g in groups:
            mine = [c for c in applicable if group(c) == g]
            cells.append("n.a." if not mine else "**FAIL**" if any(c in failing for c in mine) else "pass")
        diagnosis = ", ".join(f"[{d}](mistakes.md#{d})" for d in defects[impl.name]) or "none"
        lines.append(f"| {impl.name} | " + " | ".join(cells) + f" | {diagnosis} |")
        for cid in sorted(failing):
            f = failing[cid]
            when = " (not in every run)" if f.get("sometimes") else ""
            link = _link(f["reference"], numbers)
            notes.append(_wrap(f"- **{impl.name}** fails `{cid}`{when}: {f['why']} ({link})"))
    if notes:
        lines += ["", "Each expected failure is a real defect of that implementation:", "", *notes]
    if numbers:
        lines += ["", *(f"[{number}]: {url}" for url, number in numbers.items())]
    alarms = [_wrap(f"- **{name}** `{a['case']}`: {a['why']}")
              for name, items in load_false_alarms(expected).items() for a in items]
    if alarms:
        heading = ("Cases the suite still fails wrongly (shown as pass above: the implementation does "
                   "what it documents):")
        lines += ["", heading, "", *alarms]
    return "\n".join(lines)


def idle_table(path: Path = IDLE, manifest: Path = MANIFEST) -> str:
    """What each corpus entry uses while idle (interop/idle.toml, written by ``idle_cpu.py
    --record``): per idle case, the runnable and CPU shares of one core, and the bound's margin
    over the worst."""
    from echo_conformance._bounds import IDLE_SHARE
    from echo_conformance._registry import load_manifest

    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    figures = data.get("entry", {})
    lines = ["| implementation | " + " | ".join(f"`{c}`" for c in IDLE_CASES.values()) + " |",
             "|---|" + "---|" * len(IDLE_CASES)]
    worst = (0.0, "")
    for impl in load_manifest(manifest):
        mine = figures.get(impl.name, {})
        cells = []
        for key in IDLE_CASES:
            if key in mine:
                cells.append(f"{mine[key]['runnable']:.1f} / {mine[key]['cpu']:.1f}")
                worst = max(worst, (mine[key]["runnable"], f"{impl.name}, `{IDLE_CASES[key]}`"))
            else:
                cells.append("n.a." if impl.name in figures else "not measured")
        lines.append(f"| {impl.name} | " + " | ".join(cells) + " |")
    low, high = data["load"]
    lines += ["", _wrap(
        f"Runnable / CPU, % of one core, in the busiest {data['window']:g} s window from {data['pause']:g} s after "
        f"the last activity on (the cases judge the first, and the next only while one is over the bound): the most "
        f"of {data['runs']} runs, measured {data['measured']} on the "
        f"project's 2-core machine at a load average of {low:g}-{high:g}. The cases fail a server at "
        f"{IDLE_SHARE:.0%} runnable: {IDLE_SHARE * 100 / max(worst[0], 0.1):.1f}x the worst here "
        f"({worst[0]:.1f}%, {worst[1]}).", width=WIDTH).replace("\n  ", "\n")]  # a paragraph, not a list item
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.path.insert(0, str(HERE.parent))
    print(matrix())
