"""A beginner's mistake is named: every server of tests/beginner/ (first echo servers as people
really write them, each with one common mistake) is run through the cases its mistake fails
(``must_fail``), and the first entry of the run's diagnosis must name that mistake (its
manifest's ``defect``); each of those cases fails by a violation of its requirement.

The whole suite over each of them, as a new user runs it, is ``tests/beginner/measure.py``
(its table: tests/beginner/README.md).
"""

from __future__ import annotations

import pytest

from echo_conformance._defects import BY_ID
from echo_conformance._registry import load_manifest

from ._suite import ROOT, run_suite

BEGINNERS = ROOT / "tests" / "beginner" / "manifest.toml"
IMPLS = load_manifest(BEGINNERS)


def test_every_beginner_declares_a_known_mistake_and_its_cases():
    for impl in IMPLS:
        assert impl.extra.get("mistake"), f"{impl.name}: no mistake in plain words"
        assert impl.extra.get("defect") in BY_ID, f"{impl.name}: defect {impl.extra.get('defect')!r} is not in the table"
        assert impl.extra.get("must_fail"), f"{impl.name}: no must_fail cases"


@pytest.mark.parametrize("impl", IMPLS, ids=lambda i: i.name)
def test_the_first_diagnosis_names_the_mistake(impl, tmp_path):
    args = ["--impl-file", str(BEGINNERS), "--impl", impl.name]
    for case_id in impl.extra["must_fail"]:
        args += ["--case", case_id]
    run = run_suite(*args, tmp=tmp_path)
    assert run.report is not None, f"the suite wrote no report (exit {run.status}):\n{run.output[-3000:]}"
    cases = {c["id"]: c for c in run.report["implementations"][impl.name]["cases"]}
    wrong = {c: (cases.get(c, {}).get("outcome", "not run"), cases.get(c, {}).get("failure"))
             for c in impl.extra["must_fail"]
             if cases.get(c, {}).get("outcome") != "fail" or cases[c].get("failure", "violation") != "violation"}
    assert not wrong, f"{impl.name}: not failed by a violation: {wrong}\n{run.output[-3000:]}"
    found = [d for d in run.report.get("diagnosis", []) if d.get("implementation") == impl.name]
    expected = impl.extra["defect"]
    assert found and found[0]["defect"] == expected, (
        f"{impl.name} ({impl.extra['mistake']}): the diagnosis should start with {expected!r}; it is: "
        + "; ".join(f"{d['defect']}: {d['evidence']} [{', '.join(d['cases'])}]" for d in found))
