"""The README stays true: its tables are generated from the code, and CI runs its commands."""

from __future__ import annotations

from echo_conformance._catalogue import markdown_table

from ._docs import faulty_table
from ._suite import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_lists_every_case_as_the_code_declares_it():
    assert markdown_table() in README, "README's table of checks is stale: run python -m tests._docs"


def test_readme_shows_which_faulty_implementation_each_check_catches():
    assert faulty_table() in README, "README's faulty-implementation table is stale: run python -m tests._docs"


def test_ci_runs_exactly_the_readme_commands():
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if "pytest" in line]
    readme = [line for line in README.splitlines() if ".venv/bin/pytest" in line and line.startswith("python3")]
    assert ci == readme and len(ci) == 2
