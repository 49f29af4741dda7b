"""No case passes a server that serves nothing: run against the controls (tests/controls), a
server that accepts one connection and exits and one that accepts and never reads or answers
(as echo servers, serial and concurrent, as relays and over UDP), every case fails or says it
could not test.  A pass must rest on something the server did, never on the absence of an
answer."""

from __future__ import annotations

import pytest

from echo_conformance._catalogue import load
from echo_conformance._registry import load_manifest

from ._suite import ROOT, run_suite

MANIFEST = ROOT / "tests" / "controls" / "manifest.toml"
CONTROLS = load_manifest(MANIFEST)
#: What a control may get: a failure, or an error (the case could not test it).
NO_PASS = {"fail", "error"}
#: The controls serve nothing at any bound, so shorter ones cannot make a case pass them: half
#: the bounds keep this file quick, and so do four workers for a silent control (its cases
#: mostly wait out those bounds; a dead control's fail at once).
FAST = ["--timeout-scale", "0.5"]


def _workers(control) -> list[str]:
    return ["-n", "4" if control.name.startswith("silent") else "2"]


def _applicable(control) -> set[str]:
    return {case_id for case_id, spec in load().items() if spec.applies_to(control) is None}


def test_every_case_meets_a_dead_and_a_silent_control():
    for kind in ("dead", "silent"):
        covered = set().union(*(_applicable(c) for c in CONTROLS if c.name.split("-")[0] == kind))
        missing = set(load()) - covered
        assert not missing, f"no {kind} control is run through {sorted(missing)}"


@pytest.mark.parametrize("control", CONTROLS, ids=lambda c: c.name)
def test_no_case_passes_a_control(control, tmp_path):
    run = run_suite("--impl-file", str(MANIFEST), "--impl", control.name, "--no-preflight", *FAST, *_workers(control),
                    tmp=tmp_path)
    outcomes = run.outcomes(control.name)
    applicable = _applicable(control)
    assert set(outcomes) == applicable, (f"cases not run: {sorted(applicable - set(outcomes))}; "
                                         f"run but not applicable: {sorted(set(outcomes) - applicable)}\n"
                                         f"{run.output[-3000:]}")
    passed = {case_id: outcome for case_id, outcome in outcomes.items() if outcome not in NO_PASS}
    assert not passed, f"{control.name} ({control.description}) is not failed by {passed}\n{run.output[-3000:]}"
    assert run.status == 1, f"the run must exit 1 when a check fails, got {run.status}\n{run.output[-2000:]}"


@pytest.mark.parametrize("control", [c for c in CONTROLS if c.name.startswith("dead")], ids=lambda c: c.name)
def test_with_the_preflight_no_case_passes_a_dead_control(control, tmp_path):
    """With the preflight on, as a user runs the suite: it stops the run (6: could not be
    tested), or the cases run and fail."""
    run = run_suite("--impl-file", str(MANIFEST), "--impl", control.name, *FAST, *_workers(control), tmp=tmp_path)
    assert run.status in (1, 6), f"got status {run.status}\n{run.output[-2000:]}"
    if run.status == 6:
        assert f"cannot test {control.name!r}" in run.output, run.output[-2000:]
    passed = {case_id: outcome for case_id, outcome in run.outcomes(control.name).items() if outcome not in NO_PASS}
    assert not passed, f"passed with the preflight on: {passed}\n{run.output[-3000:]}"
