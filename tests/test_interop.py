"""The interop corpus: real, widely used echo servers and relays (interop/manifest.toml) get
the verdicts interop/expected.toml records -- no check fails a correct server, and each real
defect is caught by the case that names it, as a violation of its requirement (or the kind of
failure its ``why`` names), and named by the diagnosis (the entry's ``defect``); a correct
server gets no diagnosis.

The corpus is installed by scripts/install-test-deps.sh.  Without it these tests are skipped,
except under CI (the CI variable set), where a missing corpus is a failure.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from typing import NoReturn

import pytest

from echo_conformance._catalogue import load
from echo_conformance._defects import BY_ID
from echo_conformance._registry import load_manifest

from ._suite import ROOT, run_suite

INTEROP = ROOT / "interop"
MANIFEST = INTEROP / "manifest.toml"
EXPECTED = INTEROP / "expected.toml"
INSTALL = "scripts/install-test-deps.sh"

IMPLS = load_manifest(MANIFEST)


def _load_matrix():
    """interop/_matrix.py, which reads expected.toml (interop/ is not a package of the suite)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("interop_matrix", INTEROP / "_matrix.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


_MATRIX = _load_matrix()
EXPECTED_FAILURES = _MATRIX.load_expected(EXPECTED)
FALSE_ALARMS = _MATRIX.load_false_alarms(EXPECTED)
DEFECTS = _MATRIX.load_defects(EXPECTED)


def _missing(impl) -> list[str]:
    """What the entry needs (its ``needs`` key: commands on PATH, or paths relative to
    interop/) and is not installed."""
    missing = []
    needs = impl.extra.get("needs", [])
    if any(n.startswith(".venv/") for n in needs):
        # interop/.venv must hold what interop/requirements.txt pins (the install script
        # records the file's hash once it has installed them)
        stamp = INTEROP / ".venv" / ".requirements.sha256"
        want = hashlib.sha256((INTEROP / "requirements.txt").read_bytes()).hexdigest()
        if not stamp.exists() or stamp.read_text().strip() != want:
            missing.append("interop/.venv with interop/requirements.txt installed")
    for need in needs:
        if "/" in need:
            if not (INTEROP / need).exists():
                missing.append(need)
        elif shutil.which(need) is None:
            missing.append(need)
    return missing


def not_installed(message: str) -> NoReturn:
    """Skip the test, the corpus not being installed here; under CI, which runs the install
    script first, fail it."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(message + " -- CI runs that script first, so this is a failure here")
    pytest.skip(message)


def _require_installed(impl) -> None:
    missing = _missing(impl)
    if missing:
        not_installed(f"{impl.name}: not installed ({', '.join(missing)} missing); "
                      f"run {INSTALL} (as root) to install the interop corpus")


def test_every_entry_has_expected_verdicts():
    names = [i.name for i in IMPLS]
    assert sorted(EXPECTED_FAILURES) == sorted(names), "interop/expected.toml and manifest.toml list different entries"
    cases = load()
    for impl in IMPLS:
        assert impl.extra.get("needs"), f"{impl.name}: declares no `needs` (what must be installed)"
        for failure in EXPECTED_FAILURES[impl.name] + FALSE_ALARMS.get(impl.name, []):
            spec = cases.get(failure["case"])
            assert spec is not None, f"{impl.name}: expected failure of an unknown case {failure['case']!r}"
            assert spec.applies_to(impl) is None, (
                f"{impl.name}: expected failure of {failure['case']}, which does not apply: {spec.applies_to(impl)}")
        unknown = [d for d in DEFECTS[impl.name] if d not in BY_ID]
        assert not unknown, f"{impl.name}: defect {unknown} is not a mistake of echo_conformance/_defects.py"


#: How many listed failures may not show in every run (issue 16: a rerun shows the same list).
#: The fourth to sixth: socat's and Ncat's pipe deadlocks where a case pushes less, or reads more, than
#: tcp.robust.slow-reader (issue 24).
MAX_SOMETIMES = 6


def test_few_verdicts_vary_between_runs():
    sometimes = {f"{name} {f['case']}": f["sometimes"] for name, failures in EXPECTED_FAILURES.items()
                 for f in failures if "sometimes" in f}
    assert len(sometimes) <= MAX_SOMETIMES, f"{len(sometimes)} `sometimes` verdicts: {sorted(sometimes)}"
    for key, why in sometimes.items():
        assert isinstance(why, str) and len(why) > 40, f"{key}: `sometimes` must say why the suite cannot force it"


@pytest.mark.parametrize("impl", IMPLS, ids=lambda i: i.name)
def test_interop(impl, tmp_path):
    _require_installed(impl)
    expected = {f["case"]: f for f in EXPECTED_FAILURES[impl.name]}
    tolerated = {a["case"] for a in FALSE_ALARMS.get(impl.name, [])}
    run = run_suite("-n", "2", f"--impl-file={MANIFEST}", "--impl", impl.name, tmp=tmp_path)
    assert run.report is not None, f"the suite wrote no report (exit {run.status}):\n{run.output[-3000:]}"
    outcomes = run.outcomes(impl.name)
    assert outcomes, f"no case ran for {impl.name}:\n{run.output[-3000:]}"
    details = {c["id"]: c for c in run.report["implementations"][impl.name]["cases"]}
    wrong = []
    for case_id, outcome in sorted(outcomes.items()):
        if case_id in tolerated:
            continue  # a false alarm of the suite, recorded in expected.toml until it is fixed
        if case_id in expected and outcome != "fail":
            if expected[case_id].get("sometimes") and outcome == "pass":
                continue  # a consequence of a listed defect that does not show in every run
            wrong.append(f"{case_id}: {outcome}, but expected to fail ({expected[case_id]['why']})")
        elif case_id not in expected and outcome not in ("pass", "skip"):
            seen = details[case_id]
            wrong.append(f"{case_id}: {outcome}, but expected to pass\n    expected: {seen.get('expected')}"
                         f"\n    observed: {seen.get('observed')}\n    reproduce: {seen.get('reproduce')}")
    for case_id in sorted(set(expected) - set(outcomes)):
        wrong.append(f"{case_id}: not run, but expected to fail")
    raised = run.failures(impl.name)
    for case_id, failure in sorted(expected.items()):
        kinds = _MATRIX.kinds(failure)
        if outcomes.get(case_id) == "fail" and raised.get(case_id) not in kinds:
            seen = details[case_id]
            wrong.append(f"{case_id}: failed by {raised.get(case_id)!r}, not {' or '.join(kinds)} as its why says "
                         f"({failure['why']})\n    observed: {seen.get('observed')}")
    wrong += _misdiagnosed(impl.name, run, expected, tolerated)
    assert not wrong, f"{impl.name} ({impl.description}):\n  " + "\n  ".join(wrong)


def _misdiagnosed(name: str, run, expected: dict[str, dict], tolerated: set[str]) -> list[str]:
    """What is wrong with the run's diagnosis of ``name``: an entry without failures gets none;
    one with failures gets its declared mistakes (expected.toml's ``defect``), the first first
    (unless a ``sometimes`` failure comes before it), and no other."""
    found = [d for d in run.report.get("diagnosis", []) if d.get("implementation") == name
             and not set(d["cases"]) <= tolerated]  # a false alarm's diagnosis goes with it
    names = [d["defect"] for d in found]
    said = "; ".join(f"{d['defect']}: {d['evidence']} [{', '.join(d['cases'])}]" for d in found)
    declared = DEFECTS[name]
    if not declared:
        return [f"diagnosed, but expected to pass: {said}"] if found else []
    wrong = []
    undeclared = [d for d in names if d not in declared]
    if undeclared:
        wrong.append(f"the diagnosis names {undeclared}, not among its defects {declared}: {said}")
    varies = any(f.get("sometimes") for f in expected.values())
    if not names or (names[0] != declared[0] and not (varies and declared[0] in names)):
        wrong.append(f"the diagnosis should start with {declared[0]!r}: {said or 'none'}")
    return wrong
