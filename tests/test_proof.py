"""The suite proves itself: every check fails on at least one deliberately faulty
implementation, and each faulty implementation is caught by the checks it declares.

A faulty server proves a case only by a *violation* the case observed while the server ran:
a server that never starts, or dies at its first connection, fails every case without
showing that any of them can catch what it names.  So each faulty server must also pass the
cases its defect does not touch (``must_pass``: declared, or the most basic echo case of its
transport; declared empty only by a server whose every echo is wrong, or that is not up within
the run), every ``must_fail`` case must fail with ``failure = "violation"`` in report.json,
and the run's first diagnosis must name the server's own defect (``defect``): that rests on
what the server did (the bytes it sent, how its connections ended), which a dead server
never shows (tests/test_controls.py).
``test_a_server_that_cannot_serve_proves_nothing`` shows the proof failing for a copy of a
faulty server that cannot start and for one that dies at its first connection.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from echo_conformance._catalogue import load
from echo_conformance._defects import BY_ID
from echo_conformance._registry import Implementation, load_manifest

from ._suite import FAULTY, Run, run_suite

FAULTY_IMPLS = load_manifest(FAULTY)
#: a faulty server's must_pass when it declares none: the first of these its must_fail leaves
#: (each shows the server echoing on a connection of its own)
BASIC = {"tcp": ("tcp.echo.unbuffered", "tcp.echo.binary", "tcp.halfclose.small"),
         "udp": ("udp.echo.sizes", "udp.echo.exact")}


def all_case_ids() -> set[str]:
    return set(load())


def must_pass(impl: Implementation) -> list[str]:
    declared = impl.extra.get("must_pass")
    if declared is not None:
        return list(declared)
    transport = "tcp" if "tcp" in impl.transports else "udp"
    return [next(c for c in BASIC[transport] if c not in impl.extra.get("must_fail", []))]


def test_every_case_is_caught_by_some_faulty_implementation():
    declared = {case for impl in FAULTY_IMPLS for case in impl.extra.get("must_fail", [])}
    uncaught = all_case_ids() - declared
    assert not uncaught, f"no faulty implementation declares these checks: {sorted(uncaught)}"


def test_faulty_implementations_declare_real_cases_and_defects():
    ids = all_case_ids()
    unknown = {(impl.name, c) for impl in FAULTY_IMPLS
               for c in [*impl.extra.get("must_fail", []), *must_pass(impl)] if c not in ids}
    assert not unknown, f"must_fail or must_pass names cases that do not exist: {sorted(unknown)}"
    both = {(impl.name, c) for impl in FAULTY_IMPLS
            for c in set(impl.extra.get("must_fail", [])) & set(must_pass(impl))}
    assert not both, f"a case cannot be both must_fail and must_pass: {sorted(both)}"
    undeclared = [impl.name for impl in FAULTY_IMPLS if impl.extra.get("defect") not in BY_ID]
    assert not undeclared, f"these faulty implementations name no known defect (`defect`): {undeclared}"


def proof_problems(impl: Implementation, run: Run) -> list[str]:
    """What keeps ``run`` from proving that ``impl``'s must_fail cases can fail."""
    outcomes, failures = run.outcomes(impl.name), run.failures(impl.name)
    problems = []
    for c in impl.extra.get("must_fail", []):
        if outcomes.get(c) != "fail":
            problems.append(f"{c} was not caught: {outcomes.get(c, 'not run')}")
        elif failures.get(c) != "violation":
            problems.append(f"{c} failed by {failures.get(c)}, not by a violation of its requirement")
    for c in must_pass(impl):
        if outcomes.get(c) != "pass":
            problems.append(f"{c} (must pass: the server serves) is {outcomes.get(c, 'not run')}")
    diagnosis = [d["defect"] for d in (run.report or {}).get("diagnosis", []) if d.get("implementation") == impl.name]
    if diagnosis[:1] != [impl.extra.get("defect")]:
        problems.append(f"the first diagnosis should be {impl.extra.get('defect')!r}; it is {diagnosis}")
    if run.status != 1:
        problems.append(f"the run must exit 1 when a check fails, got {run.status}")
    return problems


def prove(impl: Implementation, manifest: Path, tmp: Path) -> list[str]:
    args = ["--impl-file", str(manifest), "--impl", impl.name]
    for case_id in [*impl.extra["must_fail"], *must_pass(impl)]:
        args += ["--case", case_id]
    run = run_suite(*args, *impl.extra.get("suite_args", []), tmp=tmp)
    problems = proof_problems(impl, run)
    return problems + [run.output[-3000:]] if problems else []


@pytest.mark.parametrize("faulty", FAULTY_IMPLS, ids=lambda i: i.name)
def test_faulty_implementation_is_caught(faulty, tmp_path):
    assert faulty.extra.get("must_fail"), f"{faulty.name} declares no must_fail cases"
    problems = prove(faulty, FAULTY, tmp_path)
    assert not problems, f"{faulty.name}:\n" + "\n".join(problems)


BROKEN = {
    # a copy that never starts: a syntax error appended
    "cannot-start": lambda source: source + "\n)\n",
    # a copy that dies at its first connection: accept() ends the process
    "dies-at-first-connection": lambda source: "import os, socket\nsocket.socket.accept = lambda self: os._exit(3)\n"
                                               + source,
}


@pytest.mark.parametrize("preflight", [True, False], ids=["preflight", "no-preflight"])
@pytest.mark.parametrize("broken", sorted(BROKEN))
def test_a_server_that_cannot_serve_proves_nothing(broken, preflight, tmp_path):
    """The proof fails for a faulty server that cannot serve: stopped by the preflight, or, without
    it, with every case it declares failed, by a launch failure rather than a violation."""
    original = next(i for i in FAULTY_IMPLS if i.name == "never-close")
    if not preflight:
        original = dataclasses.replace(original, extra={**original.extra, "suite_args": ["--no-preflight"]})
    folder = tmp_path / "faulty"
    shutil.copytree(FAULTY.parent, folder, ignore=shutil.ignore_patterns("__pycache__"))
    script = folder / "never_close.py"
    script.write_text(BROKEN[broken](script.read_text()))
    problems = prove(original, folder / "manifest.toml", tmp_path / "run")
    assert problems, f"a {broken} copy of never-close passed the proof"
