"""The README stays true: its tables are generated from the code, and CI runs its commands."""

from __future__ import annotations

import pytest

from ._docs import README, SECTIONS, section
from ._suite import ROOT

TEXT = README.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", SECTIONS)
def test_readme_generated_section_is_current(name):
    assert section(name, SECTIONS[name]()) in TEXT, f"README's {name} table is stale: run python -m tests._docs"


def test_ci_runs_exactly_the_readme_commands():
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if "pytest" in line]
    readme = [line for line in TEXT.splitlines() if ".venv/bin/pytest" in line
              and line.startswith(("python3", "scripts/"))]
    assert ci == readme and len(ci) == 2


def test_bench_results_markdown_is_the_json():
    from echo_conformance.bench import _report

    from ._docs import BENCH_RESULTS

    doc = _report.read_json(BENCH_RESULTS)
    assert (BENCH_RESULTS.parent / "results.md").read_text(encoding="utf-8") == _report.markdown_document(doc), \
        "docs/bench/results.md is not docs/bench/results.json: run bench --from-json docs/bench/results.json --markdown docs/bench/results.md"


@pytest.mark.parametrize("page", ["README.md", "docs/bench/README.md"])
def test_the_bench_command_shown_is_the_one_that_made_the_results(page):
    from echo_conformance.bench import _report

    from ._docs import BENCH_RESULTS

    made_by = _report.read_json(BENCH_RESULTS)["command"].removeprefix("echo-conformance bench ")
    shown = [line for line in (ROOT / page).read_text(encoding="utf-8").splitlines()
             if "-m echo_conformance bench --connections" in line]
    assert shown and all(line.endswith(f"-m echo_conformance bench {made_by}") for line in shown), \
        f"{page} shows {shown}, but results.json was made by `{made_by}`"
