"""The documentation's generated tables, each between ``<!-- generated: NAME -->`` and
``<!-- end: NAME -->`` in the page its entry of SECTIONS names (the README or a page of docs/),
and the demo column of the README's table of reference servers, which links each one's picture
of ``echo-conformance demo`` (``docs/demo/NAME.svg``).

``python -m tests._docs`` rewrites the pages whose tables are out of date and names each page it
wrote; ``--demo NAME...`` first draws those servers' pictures again by playing the demo on each
(``--demo`` alone: every bundled TCP server's; a few seconds a server).  tests/test_docs.py and
tests/test_demo.py fail while a page or a picture is out of date."""

from __future__ import annotations

import argparse
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from echo_conformance._catalogue import load, markdown_table
from echo_conformance._diagnosis import HOME, catalogue
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
    "mistakes": Section(DOCS / "mistakes.md", lambda: catalogue(HOME)),
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


def demo_servers() -> list[str]:
    """The bundled servers the demo can play on: the TCP ones."""
    return [impl.name for impl in bundled() if "tcp" in impl.transports]


def write_demo_pictures(names: list[str]) -> None:
    """Play the demo on each of ``names`` and draw its picture (a few seconds each)."""
    from echo_conformance import _demo

    DEMO.mkdir(parents=True, exist_ok=True)
    for name in names:
        picture = DEMO / f"{name}.svg"
        before = picture.read_bytes() if picture.exists() else None
        status = _demo.run([name, "--svg", str(picture)], out=io.StringIO())
        if status != _demo.OK:
            raise SystemExit(f"the demo failed on {name} (status {status})")
        same = " (unchanged)" if picture.read_bytes() == before else ""
        print(f"drew {picture.relative_to(ROOT)}: {picture_verdict(picture)}{same}")


def write_pages() -> list[Path]:
    """Bring every page that holds a generated section up to date (in the README, the demo column
    too), writing only those that change; the pages written."""
    written = []
    for page in dict.fromkeys(s.page for s in SECTIONS.values()):
        old = page.read_text(encoding="utf-8")
        new = render(page, old)
        if page == README:
            new = model_table(new)
        if new != old:
            page.write_text(new, encoding="utf-8")
            written.append(page)
    return written


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tests._docs", description=(
        "Rewrite the documentation's generated tables (and the README's demo column) where they are out of "
        "date, naming each page written."))
    p.add_argument("--demo", nargs="*", metavar="NAME", choices=demo_servers(), help=(
        "first draw these bundled TCP servers' demo pictures again, docs/demo/NAME.svg, by playing the demo "
        "on each (a few seconds a server); without a NAME: every one's"))
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.demo is not None:
        write_demo_pictures(args.demo or demo_servers())
    written = write_pages()
    for page in written:
        print(f"wrote {page.relative_to(ROOT)}")
    if not written:
        print("nothing changed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
