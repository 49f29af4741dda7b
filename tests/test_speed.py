"""A failing verdict is as fast as a passing one (issue 8): the slow-failing servers of
``tests/slow`` each fail the cases they declare, and the correct server with a listen backlog of
5 passes the cases that open many connections back to back.  Each is run as a learner runs the
suite: the default Hypothesis profile (shrinking on) and a fresh example database.

These tests assert verdicts only.  How long each run takes is measured, not asserted:
``tests/slow/measure.py`` prints it (a timed test would flake on a loaded machine).  The
subprocess timeout is a safety net far above those times; before issue 8, runs like these took
two to five minutes each.
"""

from __future__ import annotations

import socket
import subprocess
import threading

import pytest
from hypothesis import given, settings, strategies as st

from echo_conformance._bounds import Bounds
from echo_conformance._cases import Violation, require
from echo_conformance._catalogue import load
from echo_conformance._client import SLOW, WRONG, connect, exchange
from echo_conformance._expect import CheckBudget, budgeted
from echo_conformance._hypothesis import check_settings
from echo_conformance._launch import Address
from echo_conformance._registry import load_manifest

from ._suite import ROOT, run_suite

MANIFEST = ROOT / "tests" / "slow" / "manifest.toml"
SLOW_IMPLS = load_manifest(MANIFEST)
#: Seconds a run of one server's declared cases may take before it counts as hung.
SAFETY_NET = 240


def test_slow_servers_declare_real_cases():
    ids = set(load())
    unknown = {(i.name, c) for i in SLOW_IMPLS for c in [*i.extra.get("must_fail", []), *i.extra.get("must_pass", [])]
               if c not in ids}
    assert not unknown, f"tests/slow/manifest.toml names cases that do not exist: {sorted(unknown)}"


@pytest.mark.parametrize("slow", SLOW_IMPLS, ids=lambda i: i.name)
def test_slow_server_gets_its_verdict(slow, tmp_path):
    must_fail, must_pass = slow.extra.get("must_fail", []), slow.extra.get("must_pass", [])
    assert must_fail or must_pass, f"{slow.name} declares neither must_fail nor must_pass cases"
    args = ["--impl-file", str(MANIFEST), "--impl", slow.name, "--hypothesis-profile=conformance"]
    for case_id in must_fail + must_pass:
        args += ["--case", case_id]
    try:
        run = run_suite(*args, tmp=tmp_path, timeout=SAFETY_NET,
                        env={"HYPOTHESIS_STORAGE_DIRECTORY": str(tmp_path / "hypothesis")})
    except subprocess.TimeoutExpired:
        pytest.fail(f"{slow.name}: the run did not finish within {SAFETY_NET} s")
    outcomes = run.outcomes(slow.name)
    not_caught = {c: outcomes.get(c, "not run") for c in must_fail if outcomes.get(c) != "fail"}
    assert not not_caught, f"{slow.name} was not caught by {not_caught}\n{run.output[-3000:]}"
    not_passed = {c: outcomes.get(c, "not run") for c in must_pass if outcomes.get(c) != "pass"}
    assert not not_passed, f"{slow.name}, a correct server, did not pass {not_passed}\n{run.output[-3000:]}"
    assert run.status == (1 if must_fail else 0), f"unexpected exit status {run.status}\n{run.output[-2000:]}"


# --- the mechanisms, in-process --------------------------------------------------------------

def test_an_exchange_stops_at_the_first_wrong_byte():
    client, server = socket.socketpair()
    with client, server:
        server.sendall(b"pXng")  # what a server that rewrites bytes sends back
        out = exchange(client, [b"ping"], expect=4, bounds=Bounds(), expected=b"ping")
    assert out.ended == WRONG and out.received.startswith(b"pX")


def test_a_trickle_is_judged_by_its_rate_not_its_gaps():
    """One byte every 0.5 s never stalls (2 s) but falls behind the rate at once: the exchange
    ends as SLOW after about the progress bound, not after the exchange bound."""
    client, server = socket.socketpair()
    stop = threading.Event()

    def trickle():
        while not stop.wait(0.5):
            try:
                server.send(b"x")
            except OSError:
                return

    writer = threading.Thread(target=trickle, daemon=True)
    writer.start()
    try:
        with client:
            out = exchange(client, [], expect=100, bounds=Bounds())
    finally:
        stop.set()
        writer.join()
        server.close()
    assert out.ended == SLOW, out.describe()


def test_connect_gives_up_on_a_full_backlog_with_a_verdict():
    """A listener that never accepts, its backlog full: connect() raises TimeoutError (an
    OSError, which the plugin reports as the server's failure) naming the SYNs it sent."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        address = Address(*listener.getsockname())
        held = []
        try:
            with pytest.raises(TimeoutError, match="SYNs sent"):
                for _ in range(8):  # the kernel completes a handshake or two on its own
                    held.append(connect(address, Bounds(scale=0.25)))
        finally:
            for sock in held:
                sock.close()


def test_a_first_failure_that_ran_out_stops_hypothesis():
    budget, calls = CheckBudget(Bounds()), []

    @budgeted
    @given(n=st.integers())
    @settings(check_settings(), database=None, max_examples=50, report_multiple_bugs=False)
    def check(check_budget, n):
        with check_budget.example(n):
            calls.append(n)
            check_budget.ran_out()  # as if a stall bound had run out
            require(False, expected="an echo", observed="nothing")

    with pytest.raises(Violation) as failure:
        check(check_budget=budget)
    assert len(calls) == 1, "Hypothesis ran further examples after a final failure"
    assert any("failing example" in note for note in failure.value.__notes__)


def test_a_failure_seen_at_once_still_shrinks():
    budget, calls = CheckBudget(Bounds()), []

    @budgeted
    @given(data=st.binary(min_size=1))
    @settings(check_settings(), database=None, max_examples=200)  # the checks' own settings
    def check(check_budget, data):
        with check_budget.example(data):
            calls.append(data)
            require(b"\x07" not in data, expected="no BEL", observed=repr(data))

    with pytest.raises(Violation):
        check(check_budget=budget)
    assert b"\x07" in calls, "Hypothesis did not shrink to the minimal example"
