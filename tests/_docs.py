"""The README's generated tables, each between ``<!-- generated: NAME -->`` and
``<!-- end: NAME -->``.  ``python -m tests._docs`` rewrites them in place; tests/test_docs.py
fails while the README is out of date."""

from __future__ import annotations

import re

from echo_conformance._catalogue import load, markdown_table
from echo_conformance.bench import _report as bench_report
from echo_conformance._registry import load_manifest
from interop._matrix import matrix

from ._suite import FAULTY, ROOT

README = ROOT / "README.md"
BENCH_RESULTS = ROOT / "docs" / "bench" / "results.json"


def faulty_table() -> str:
    lines = ["| faulty implementation | defect | caught by |", "|---|---|---|"]
    for impl in load_manifest(FAULTY):
        caught = ", ".join(f"`{c}`" for c in impl.extra.get("must_fail", []))
        lines.append(f"| `{impl.name}` | {impl.description} | {caught} |")
    return "\n".join(lines)


SECTIONS = {
    "checks": markdown_table,
    "faulty": faulty_table,
    "interop": lambda: matrix(load()),
    "bench": lambda: bench_report.markdown_headline(bench_report.read_json(BENCH_RESULTS)),
}


def section(name: str, text: str) -> str:
    return f"<!-- generated: {name} -->\n{text.strip()}\n<!-- end: {name} -->"


def render(readme: str) -> str:
    """``readme`` with every generated section brought up to date."""
    for name, make in SECTIONS.items():
        pattern = re.compile(rf"<!-- generated: {name} -->\n.*?<!-- end: {name} -->", re.DOTALL)
        if not pattern.search(readme):
            raise ValueError(f"README.md has no generated section {name!r}")
        replacement = section(name, make())
        readme = pattern.sub(lambda _: replacement, readme)
    return readme


if __name__ == "__main__":
    README.write_text(render(README.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"rewrote the generated sections of {README}")
