"""The README's generated tables.  Regenerate with ``python -m tests._docs``; tests/test_docs.py
fails while the README is out of date."""

from __future__ import annotations

from echo_conformance._catalogue import markdown_table
from echo_conformance._registry import load_manifest

from ._suite import FAULTY


def faulty_table() -> str:
    lines = ["| faulty implementation | defect | caught by |", "|---|---|---|"]
    for impl in load_manifest(FAULTY):
        caught = ", ".join(f"`{c}`" for c in impl.extra.get("must_fail", []))
        lines.append(f"| `{impl.name}` | {impl.description} | {caught} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table(), end="\n\n")
    print(faulty_table())
