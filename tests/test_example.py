"""A failure's example as data, without Hypothesis' own notes (echo_conformance._example), and
what the plugin makes of what a check raised (``plugin._error_of``): tables, then real
Hypothesis failures run in this process."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.errors import FlakyFailure, FlakyStrategyDefinition
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from echo_conformance import _expect, plugin
from echo_conformance._cases import Violation
from echo_conformance._example import describe, short_repr, split_notes
from echo_conformance._hypothesis import check_settings
from echo_conformance._verdict import OS_ERROR, OTHER, VIOLATION

HYPOTHESIS_CALL = ("Failing test case: test_tcp_echo_binary(\n    impl=Implementation(name='external',\n"
                   "     command='x'),\n    check_budget=<echo_conformance._expect.CheckBudget object at 0x7f5>,\n"
                   "    payload=b'\\x00\\x00',\n    sizes=[1],\n)")
BLOB = "\nYou can reproduce this test case by temporarily adding @reproduce_failure('6.1', b'AE==') as a decorator"


@pytest.mark.parametrize("example, text", [
    (None, ""),
    ({"payload": b"\x00\x00", "sizes": [1]}, "payload=b'\\x00\\x00', sizes=[1]"),
    ({}, ""),
    ("\nstate.open()\nstate.read(index=0)\n", "state.open()\nstate.read(index=0)"),
    ((b"ab", (1, 1)), "(b'ab', (1, 1))"),
])
def test_an_example_as_data(example, text):
    assert describe(example) == text


@pytest.mark.parametrize("value, text", [
    (b"ab", "b'ab'"),
    (b"\x00" * 200, f"{repr(bytes(200))[:120]}... (200 bytes)"),
    ("x" * 130, f"'{'x' * 119}... (132 characters)"),
])
def test_a_long_argument_is_cut_with_its_length(value, text):
    assert short_repr(value) == text


# notes (as an exception carries them) -> the example, the notes that remain
@pytest.mark.parametrize("notes, example, kept", [
    pytest.param([], "", [], id="none"),
    pytest.param(["(the case's time budget of 3 s ran out)"], "", ["(the case's time budget of 3 s ran out)"],
                 id="ours are kept"),
    pytest.param([HYPOTHESIS_CALL, BLOB], "", [], id="a call with fixtures and the blob: gone"),
    pytest.param(["Falsifying example: test(data=b'')", "You can add @seed(123) to this test"], "", [],
                 id="older Hypothesis, a seed"),
    pytest.param(["Failing explicit example: test(\n    payload=b'\\r\\n',\n)"], "", [], id="an explicit example"),
    pytest.param(["Explanation:", "    These lines were always and only run by failing test cases:",
                  "        /x/_expect.py:216", "(mine)"], "", ["(mine)"], id="an explanation and its lines"),
    pytest.param(["Failing test case: <state machine>", "state = EchoMachine()", "state.open_two_connections()",
                  "state.send(data=b'', index=0)", "state.teardown()", BLOB],
                 "state.open_two_connections()\nstate.send(data=b'', index=0)", [], id="a state machine's steps"),
    pytest.param(["Failing test case:", "state = M()", "state.add(n=2)", "state.teardown()"], "state.add(n=2)", [],
                 id="a state machine's steps, Hypothesis before 6.170"),
    pytest.param(["Failing test case: <state machine>", "state = M()", "v1 = state.open()", "(after)"],
                 "v1 = state.open()", ["(after)"], id="steps, then a note of ours"),
    pytest.param(["failing example: (b'\\x00', (1,))\n(Hypothesis was stopped: it has shrunk the failure for 3 s)"],
                 "(b'\\x00', (1,))", ["(Hypothesis was stopped: it has shrunk the failure for 3 s)"],
                 id="our own note naming the example"),
    pytest.param(["failing example: \nstate.open()\nstate.read(index=0)"], "state.open()\nstate.read(index=0)", [],
                 id="our own note with a run's steps"),
])
def test_split_notes(notes, example, kept):
    assert split_notes(notes) == (example, kept)


# --- what the plugin makes of an exception -----------------------------------------------------

def _with_notes(exc: BaseException, *notes: str) -> BaseException:
    for note in notes:
        exc.add_note(note) if hasattr(exc, "add_note") else exc.__dict__.setdefault("__notes__", []).append(note)
    return exc


def _flaky_strategy() -> BaseException:
    """Hypothesis' complaint raised while a server's failure was being handled."""
    try:
        try:
            raise BrokenPipeError(32, "Broken pipe")
        except BrokenPipeError:
            raise FlakyStrategyDefinition("Inconsistent data generation!")
    except FlakyStrategyDefinition as exc:
        return exc


@pytest.mark.parametrize("exc, kind, flaky", [
    (Violation("e", "o"), VIOLATION, False),
    (FlakyFailure("Inconsistent results", [Violation("e", "o")]), VIOLATION, True),
    (_flaky_strategy(), OS_ERROR, True),
    (FlakyFailure("Inconsistent results", [ValueError("a bug")]), OTHER, False),
    (ValueError("a bug"), OTHER, False),
])
def test_a_flaky_failure_is_judged_by_the_failure_inside(exc, kind, flaky):
    error = plugin._error_of(exc)
    assert error.kind == kind
    assert (plugin.FLAKY_NOTE in error.notes) == flaky


def test_the_example_the_check_names_wins_over_hypothesis_notes():
    exc = _with_notes(Violation("e", "o"), HYPOTHESIS_CALL, BLOB, "(mine)")
    exc.conformance_example = {"payload": b"\x00", "sizes": [1]}
    error = plugin._error_of(exc)
    assert (error.example, error.notes) == ("payload=b'\\x00', sizes=[1]", ("(mine)",))


# --- real Hypothesis failures, in this process ----------------------------------------------------

@pytest.fixture
def no_database(monkeypatch):
    """The suite's settings without an example database (nothing written here)."""
    monkeypatch.setattr(_expect, "check_settings", lambda: settings(check_settings(), database=None))


def test_a_property_check_fails_with_its_generated_arguments_only(no_database):
    @given(payload=st.binary(min_size=1), sizes=st.lists(st.integers(1, 9), min_size=1))
    def check(impl, check_budget, payload, sizes):
        with check_budget.example((payload, tuple(sizes))):
            if len(payload) > 1:
                raise Violation("one byte", f"{payload!r}")

    check = _expect.property_check(check)
    with pytest.raises(Violation) as caught:
        check(impl=object(), check_budget=_expect.CheckBudget(_Bounds()))
    assert any("impl=<object object" in note for note in caught.value.__notes__)  # Hypothesis' call
    error = plugin._error_of(caught.value)
    assert error.example == "payload=b'\\x00\\x00', sizes=[1]", error
    text = "\n".join(error.notes)
    assert "impl=" not in text and "reproduce_failure" not in text and "Failing test case" not in text


def test_a_state_machine_fails_with_its_steps(no_database):
    class Machine(RuleBasedStateMachine):
        total = 0

        @rule(n=st.integers(0, 3))
        def add(self, n):
            self.total += n
            if self.total >= 5:
                raise Violation("a total under 5", f"{self.total}")

    with pytest.raises(Violation) as caught:
        run_state_machine_as_test(Machine, settings=settings(check_settings(), database=None))
    assert any(note.startswith("Failing test case:") for note in caught.value.__notes__)
    error = plugin._error_of(caught.value)
    steps = error.example.splitlines()
    assert steps and all(step.startswith("state.add(n=") for step in steps), error
    assert not any("reproduce_failure" in note or "state = " in note for note in error.notes)


class _Bounds:
    """What a CheckBudget reads of the bounds."""

    confirm, progress, shrink_budget = 0.3, 2.0, 3.0
