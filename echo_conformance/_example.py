"""A failure's example, as data, and the notes worth showing with it.

A property check fails with an example: the arguments Hypothesis generated (``payload=b'\\x00',
sizes=[1]``) or a state machine's steps.  Hypothesis reports it as a call of the test function,
fixtures and all (``test_tcp_echo_binary(impl=Implementation(...), bounds=Bounds(...), ...)``),
followed by advice for the test's author (a ``@reproduce_failure`` decorator to add, a seed, an
explanation with source lines): nothing a person testing a server can use.  So the suite names
the example itself -- ``_expect.property_check`` records the generated arguments on the
exception (:data:`ATTRIBUTE`), a check's budget the example it stopped at -- and
:func:`split_notes` keeps only the notes that are not Hypothesis' own.  A state machine's steps
come only from Hypothesis' notes: they are the example, without the machine's boilerplate.

Pure functions of strings and values: ``tests/test_example.py`` has them as a table.
"""

from __future__ import annotations

import re

#: the exception's attribute that holds its example: a dict of the generated arguments (without
#: the check's fixtures), or a value whose repr shows it (a state machine run's steps)
ATTRIBUTE = "conformance_example"

#: how a note of the suite's own that names the example starts
OURS = "failing example:"
#: how Hypothesis' notes that show the failing example as a call start
_CALLS = ("Failing test case:", "Falsifying example:", "Failing explicit example:", "Falsifying explicit example:")
#: Hypothesis' explanation of a failure: the lines of the check that only failing examples ran, in the
#: (indented) notes that follow this one
_EXPLANATION = "Explanation:"
#: Hypothesis' other notes: advice for a test's author, bookkeeping of its search
_ADVICE = ("You can reproduce this test case", "You can add @seed", _EXPLANATION, "Trying example:",
           "Unreliable test timings", "(note: ", "while generating", "while drawing", "while selecting a rule",
           "backend=", "The test sometimes passed", "The test always failed")
#: a state machine step as Hypothesis prints it: ``state.send(data=b'', index=0)``, ``v1 = state.open()``
_STEP = re.compile(r"^(?:[\w, ]+ = )?state\b")
#: the steps every run of a state machine has: creating it and tearing it down
_BOILERPLATE = re.compile(r"^state = \w+\(\)$|^state\.teardown\(\)$")

#: a remark of the suite's own about how the example was found, in the same note
_REMARK = "(Hypothesis was stopped"

#: the longest repr shown of one argument
ARGUMENT_LIMIT = 120


def describe(example) -> str:
    """An example as text: ``name=value, ...`` for generated arguments (each value's repr cut
    at :data:`ARGUMENT_LIMIT` characters, with its length), else the value's repr; "" for none."""
    if example is None:
        return ""
    if isinstance(example, dict):
        return ", ".join(f"{name}={short_repr(value)}" for name, value in example.items())
    if isinstance(example, str):
        return example.strip()
    return repr(example).strip()


def short_repr(value, limit: int = ARGUMENT_LIMIT) -> str:
    """``repr(value)``, cut to ``limit`` characters with the value's length said (a payload
    can be 200 KB long)."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f"{len(value):,} bytes" if isinstance(value, (bytes, bytearray)) else f"{len(text):,} characters"
    return f"{text[:limit]}... ({size})"


def split_notes(notes) -> tuple[str, list[str]]:
    """``(example, notes)`` from an exception's notes: the example a note of the suite's own
    names, or a state machine's steps as Hypothesis lists them; and the notes that remain once
    Hypothesis' own are gone."""
    example, kept, steps, explaining = "", [], None, False
    for note in notes:
        text = str(note).strip("\n")
        first = text.lstrip()
        if explaining and text[:1].isspace():  # an explanation's lines: the check's source lines
            continue
        explaining = first.startswith(_EXPLANATION)
        if steps is not None:  # inside a state machine's steps, one per note
            if _STEP.match(first):
                steps += [line.strip() for line in text.splitlines() if not _BOILERPLATE.match(line.strip())]
                continue
            example, steps = example or "\n".join(steps), None
        if first.startswith(OURS):
            lines = first[len(OURS):].strip("\n ").splitlines()
            remarks = [line for line in lines if line.startswith(_REMARK)]
            example = example or "\n".join(line.strip() for line in lines if line not in remarks).strip()
            kept += remarks
        elif first.startswith(_CALLS):
            # a state machine's steps follow: "Failing test case: <state machine>", or, before
            # Hypothesis 6.170, the heading alone
            if first.rstrip().endswith("<state machine>") or first.rstrip() in _CALLS:
                steps = []
        elif not first.startswith(_ADVICE) and first:
            kept.append(text)
    if steps:
        example = example or "\n".join(steps)
    return example, kept
