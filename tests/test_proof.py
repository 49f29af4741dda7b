"""The suite proves itself: every check fails on at least one deliberately faulty
implementation, and each faulty implementation is caught by the checks it declares."""

from __future__ import annotations

import pytest

from echo_conformance._catalogue import load
from echo_conformance._registry import load_manifest

from ._suite import FAULTY, run_suite

FAULTY_IMPLS = load_manifest(FAULTY)


def all_case_ids() -> set[str]:
    return set(load())


def test_every_case_is_caught_by_some_faulty_implementation():
    declared = {case for impl in FAULTY_IMPLS for case in impl.extra.get("must_fail", [])}
    uncaught = all_case_ids() - declared
    assert not uncaught, f"no faulty implementation declares these checks: {sorted(uncaught)}"


def test_faulty_implementations_declare_only_real_cases():
    unknown = {(impl.name, c) for impl in FAULTY_IMPLS for c in impl.extra.get("must_fail", [])
               if c not in all_case_ids()}
    assert not unknown, f"must_fail names cases that do not exist: {sorted(unknown)}"


@pytest.mark.parametrize("faulty", FAULTY_IMPLS, ids=lambda i: i.name)
def test_faulty_implementation_is_caught(faulty, tmp_path):
    must_fail = faulty.extra.get("must_fail", [])
    assert must_fail, f"{faulty.name} declares no must_fail cases"
    args = ["--impl-file", str(FAULTY), "--impl", faulty.name]
    for case_id in must_fail:
        args += ["--case", case_id]
    args += faulty.extra.get("suite_args", [])
    run = run_suite(*args, tmp=tmp_path)
    outcomes = run.outcomes(faulty.name)
    not_caught = {c: outcomes.get(c, "not run") for c in must_fail if outcomes.get(c) != "fail"}
    assert not not_caught, f"{faulty.name} was not caught by {not_caught}\n{run.output[-3000:]}"
    assert run.status == 1, f"the run must exit 1 when a check fails, got {run.status}\n{run.output[-2000:]}"

