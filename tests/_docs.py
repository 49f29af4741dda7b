"""The documentation's generated tables, each between ``<!-- generated: NAME -->`` and
``<!-- end: NAME -->`` in the page its entry of SECTIONS names (the README or a page of docs/),
and the demo column of the README's table of reference servers, which links each one's picture
of ``echo-conformance demo`` (``docs/demo/NAME.svg``).
``python -m tests._docs`` rewrites them in place (``--demo``: after drawing the pictures again,
which plays the demo on every bundled server); tests/test_docs.py and tests/test_demo.py fail
while a page or a picture is out of date."""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from echo_conformance._catalogue import load, markdown_table
from echo_conformance.bench import _report as bench_report
from echo_conformance.cli import markdown_options
from echo_conformance._registry import bundled, load_manifest
from interop._matrix import idle_table, matrix

from ._suite import FAULTY, ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
BENCH_RESULTS = DOCS / "bench" / "results.json"
DEMO = DOCS / "demo"
#: the demo column's link text, by what the picture's scene showed
DEMO_LABELS = {"serial": "client 2 waits for client 1", "concurrent": "both served at once"}
MODEL_TABLE_HEADER = "| # | implementation | model | clients block each other? | what it teaches | the demo |"


def faulty_table() -> str:
    lines = ["| faulty implementation | defect | caught by |", "|---|---|---|"]
    for impl in load_manifest(FAULTY):
        caught = ", ".join(f"`{c}`" for c in impl.extra.get("must_fail", []))
        lines.append(f"| `{impl.name}` | {impl.description} | {caught} |")
    return "\n".join(lines)


def bench_table() -> str:
    """The README's benchmark table: every echo server at the headline point, cheapest first
    (the whole run is docs/bench/results.md)."""
    return bench_report.markdown(bench_report.summary(bench_report.read_json(BENCH_RESULTS)["points"]))


class Section(NamedTuple):
    """A generated section: the page it lives in and what renders it."""

    page: Path
    make: Callable[[], str]


SECTIONS = {
    "checks": Section(DOCS / "checks.md", markdown_table),
    "faulty": Section(DOCS / "faulty.md", faulty_table),
    "interop": Section(DOCS / "interop.md", lambda: matrix(load())),
    "idle": Section(DOCS / "interop.md", idle_table),
    "bench": Section(README, bench_table),
    "options": Section(README, markdown_options),
}


def section(name: str, text: str) -> str:
    return f"<!-- generated: {name} -->\n{text.strip()}\n<!-- end: {name} -->"


def render(page: Path, text: str) -> str:
    """``text``, the contents of ``page``, with every generated section that lives there brought up
    to date."""
    for name, (home, make) in SECTIONS.items():
        if home != page:
            continue
        pattern = re.compile(rf"<!-- generated: {name} -->\n.*?<!-- end: {name} -->", re.DOTALL)
        if not pattern.search(text):
            raise ValueError(f"{page.relative_to(ROOT)} has no generated section {name!r}")
        replacement = section(name, make())
        text = pattern.sub(lambda _: replacement, text)
    return text


def picture_verdict(path) -> str | None:
    """What the scene in a demo picture showed (its ``data-verdict``), or None."""
    try:
        found = re.search(r'data-verdict="([a-z]+)"', path.read_text(encoding="utf-8"))
    except OSError:
        return None
    return found.group(1) if found else None


def demo_cell(impl) -> str:
    """The model table's demo cell for a bundled implementation."""
    if "tcp" not in impl.transports:
        return "– (UDP: no connection to hold)"
    label = DEMO_LABELS.get(picture_verdict(DEMO / f"{impl.name}.svg"), "no picture yet")
    return f"[{label}](docs/demo/{impl.name}.svg)"


def model_table(readme: str) -> str:
    """``readme`` with the demo column of the reference servers' table brought up to date."""
    lines = readme.split("\n")
    at = lines.index(MODEL_TABLE_HEADER)
    cells = {impl.name: demo_cell(impl) for impl in bundled()}
    i = at + 2
    while i < len(lines) and lines[i].startswith("|"):
        columns = lines[i].strip().strip("|").split("|")
        name = columns[1].strip().strip("`")
        if name not in cells:
            raise ValueError(f"README's table of reference servers lists {name!r}, which is not bundled")
        lines[i] = "|" + "|".join([*columns[:5], f" {cells.pop(name)} "]) + "|"
        i += 1
    if cells:
        raise ValueError(f"README's table of reference servers lacks {', '.join(cells)}")
    return "\n".join(lines)


def write_demo_pictures() -> None:
    """Play the demo on every bundled TCP server and draw its picture (a few seconds each)."""
    from echo_conformance import _demo

    DEMO.mkdir(parents=True, exist_ok=True)
    for impl in bundled():
        if "tcp" in impl.transports:
            status = _demo.run([impl.name, "--svg", str(DEMO / f"{impl.name}.svg")], out=io.StringIO())
            if status != _demo.OK:
                raise SystemExit(f"the demo failed on {impl.name} (status {status})")
            print(f"drew {DEMO / f'{impl.name}.svg'}: {picture_verdict(DEMO / f'{impl.name}.svg')}")


def write_pages() -> None:
    """Rewrite every page that holds a generated section (in the README, the demo column too)."""
    for page in dict.fromkeys(s.page for s in SECTIONS.values()):
        text = render(page, page.read_text(encoding="utf-8"))
        page.write_text(model_table(text) if page == README else text, encoding="utf-8")
        print(f"rewrote the generated sections of {page.relative_to(ROOT)}")


if __name__ == "__main__":
    if "--demo" in sys.argv[1:]:
        write_demo_pictures()
    write_pages()
