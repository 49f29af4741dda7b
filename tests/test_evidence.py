"""The evidence's comparison of what came back with what was sent: table-driven, each row fed
whole, and the same streams far longer (the difference deep inside a large transfer)."""

from __future__ import annotations

import random

import pytest

from echo_conformance._evidence import Evidence, compare, newline_cut, notable, stream_fact, transform

RANDOM = random.Random(862).randbytes(300_000)

COMPARE = [
    # expected, got, kind, at, n
    (b"hello", b"hello", "exact", None, None),
    (b"hello", b"hell", "short", 4, 1),
    (b"hello", b"", "short", 0, 5),
    (b"ping", b"ping\n", "long", 4, 1),
    (b"abcdefgh", b"abcd\nefgh", "inserted", 4, 1),
    (b"abcdefgh", b"abcd\r\nefg", "inserted", 4, 2),
    # a newline after every write: the first insertion, the stream going on after it
    (b"\xa5" * 300, b"\xa5\n" + b"\xa5" * 100 + b"\n" + b"\xa5" * 8, "inserted", 1, 1),
    (b"\r\n", b"\n", "deleted", 0, 1),
    (b"abcdefghij", b"abxyefghij", "replaced", 2, 2),
    (b"abcdefgh", b"zzzzzzzz", "other", 0, 8),
]


@pytest.mark.parametrize("expected, got, kind, at, n", COMPARE)
def test_compare(expected, got, kind, at, n):
    found = compare(expected, got)
    assert found["kind"] == kind
    if at is not None:
        assert (found["at"], found["n"]) == (at, n)


@pytest.mark.parametrize("offset", [0, 1, 65_535, 65_536, 200_001])
def test_compare_finds_a_difference_deep_in_a_large_stream(offset):
    assert compare(RANDOM, RANDOM[:offset]) == {"kind": "short", "at": offset, "n": len(RANDOM) - offset}
    inserted = RANDOM[:offset] + b"\n" + RANDOM[offset:offset + 1000]
    assert compare(RANDOM, inserted)["kind"] == "inserted"
    deleted = RANDOM[:offset] + RANDOM[offset + 50_000:offset + 60_000]
    assert (compare(RANDOM, deleted)["kind"], compare(RANDOM, deleted)["n"]) == ("deleted", 50_000)


@pytest.mark.parametrize("expected, got, cut", [
    (b"hello", b"", True),  # no newline at all: nothing comes back
    (b"ab\ncd", b"ab\n", True),  # up to the last newline
    (b"ab\ncd\n", b"ab\n", False),  # a whole line is missing too
    (b"hello", b"hell", False),  # cut inside a line
    (b"ab\n", b"ab\n", False),  # nothing missing
])
def test_newline_cut(expected, got, cut):
    assert newline_cut(expected, got) is cut


@pytest.mark.parametrize("expected, got, name", [
    (b"a\r\nb\r\nc", b"a\nb\nc", "crlf"),
    (b"hello world", b"HELLO WO", "upper"),
    (b"ab\xff\xfecd", "ab\ufffd\ufffdcd".encode(), "utf8-replace"),
    (b"hello", b"hell", None),  # a prefix is not a transformation
    (b"hello", b"jello", None),
])
def test_transform(expected, got, name):
    assert transform(expected, got) == name


def test_a_stream_fact_says_what_differs():
    fact = stream_fact(b"hello", b"", ended="stalled", want=5)
    assert fact["cmp"]["kind"] == "short" and fact["newline_cut"] is True
    assert "newline_cut" not in stream_fact(b"hello", b"hellO", want=5)


def test_evidence_keeps_the_notable_facts_once_it_has_many():
    evidence = Evidence()
    for _ in range(200):
        evidence.add({"fact": "stream", "ended": "complete", "cmp": {"kind": "exact"}})
    evidence.add({"fact": "stream", "ended": "stalled", "cmp": {"kind": "short"}})
    facts = evidence.snapshot()
    assert notable(facts[-1]) and len(facts) < 200 and evidence.dropped > 0
