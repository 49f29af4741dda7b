"""``_diff.classify``: the shape of a difference between the bytes expected back and those
observed, table-driven and byte by byte, and fast on 64 MiB streams."""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import given, settings, strategies as st

from echo_conformance._diff import (DELETED, EQUAL, EXTRA_TAIL, INSERTED, MISSING_TAIL, OTHER, REPLACED, Difference,
                                    classify, describe_stream, dump_lines)

BASE = b"0123456789"  # distinct bytes: every edit's place is where the streams first differ


def rebuilt(d: Difference, expected: bytes) -> bytes:
    """The observed stream, as the difference says it came from ``expected``."""
    if d.kind == EQUAL:
        return expected
    if d.kind == MISSING_TAIL:
        return expected[: d.offset]
    if d.kind in (EXTRA_TAIL, INSERTED):
        return expected[: d.offset] + d.inserted + expected[d.offset:]
    if d.kind == DELETED:
        return expected[: d.offset] + expected[d.offset + d.count:]
    raise AssertionError(d.kind)


TABLE = [
    # expected, observed, kind, offset, count, sentence
    (b"", b"", EQUAL, 0, 0, "no difference: the same 0 bytes"),
    (BASE, BASE, EQUAL, 0, 0, "no difference: the same 10 bytes"),
    (BASE, b"", MISSING_TAIL, 0, 10, "nothing came back (all 10 bytes missing)"),
    (BASE, BASE[:9], MISSING_TAIL, 9, 1, "truncated: the last one byte never arrived"),
    (BASE, BASE[:3], MISSING_TAIL, 3, 7, "truncated: the last 7 bytes never arrived"),
    (b"", b"x", EXTRA_TAIL, 0, 1, "one extra byte after the echo, from offset 0: b'x'"),
    (BASE, BASE + b"\r\n", EXTRA_TAIL, 10, 2, "2 extra bytes after the echo, from offset 10: b'\\r\\n'"),
    (BASE, b"\n" + BASE, INSERTED, 0, 1, "one byte inserted at offset 0: b'\\n'"),
    (BASE, BASE[:5] + b"\r\n" + BASE[5:], INSERTED, 5, 2, "2 bytes inserted at offset 5: b'\\r\\n'"),
    (BASE, BASE[1:], DELETED, 0, 1, "one byte deleted at offset 0: b'0'"),
    (BASE, BASE[:4] + BASE[7:], DELETED, 4, 3, "3 bytes deleted at offset 4: b'456'"),
    (BASE, b"X" + BASE[1:], REPLACED, 0, 1, "one byte differs, at offset 0"),
    (BASE, BASE[:9] + b"X", REPLACED, 9, 1, "one byte differs, at offset 9"),
    (BASE, BASE.upper().replace(b"1", b"!").replace(b"8", b"*"), REPLACED, 1, 2, "2 bytes differ, the first at offset 1"),
    # equal bytes around an edit: it is placed where the streams first differ
    (b"aab", b"aaab", INSERTED, 2, 1, "one byte inserted at offset 2: b'a'"),
    (b"aaaa", b"aaa", MISSING_TAIL, 3, 1, "truncated: the last one byte never arrived"),
    # two different edits: other
    (BASE, BASE[:2] + b"x" + BASE[2:8] + b"y" + BASE[8:], OTHER, 2, 2, "the streams differ from offset 2 on"),
    (BASE, BASE[:2] + b"x" + BASE[2:8] + BASE[9:], REPLACED, 2, 7, "7 bytes differ, the first at offset 2"),
    (BASE, b"ab" + BASE + b"c", OTHER, 0, 3, "the streams differ from offset 0 on (10 bytes expected, 13 observed)"),
    # one pattern again and again: other, named
    (b"line one\nline two\n", b"line one\r\nline two\r\n", OTHER, 8, 2, "b'\\r' inserted twice, the first at offset 8"),
    (b"abcdefghijkl", b"abc\ndef\nghi\njkl\n", OTHER, 3, 4, "b'\\n' inserted 4 times, every 3 bytes from offset 3"),
    (b"a\r\nb\r\nc\r\n", b"a\nb\nc\n", OTHER, 1, 3, "b'\\r' deleted 3 times, every 2 bytes from offset 1"),
    # a newline after every chunk, some chunks ending in one already: the places still make a grid
    (b"abc\nabcdabc\nabcd", b"abc\n\nabcd\nabc\n\nabcd\n", OTHER, 4, 4,
     "b'\\n' inserted 4 times, every 4 bytes from offset 4"),
]


@pytest.mark.parametrize("expected, observed, kind, offset, count, sentence", TABLE,
                         ids=[f"{row[2]}-{i}" for i, row in enumerate(TABLE)])
def test_classify(expected, observed, kind, offset, count, sentence):
    d = classify(expected, observed)
    assert (d.kind, d.offset, d.count) == (kind, offset, count) or (kind == OTHER and d.kind == OTHER
                                                                   and d.offset == offset), d
    assert d.sentence().startswith(sentence), d.sentence()
    assert (d.expected_length, d.observed_length) == (len(expected), len(observed))
    if kind not in (REPLACED, OTHER):
        assert rebuilt(d, expected) == observed


@pytest.mark.parametrize("at", range(len(BASE) + 1))
def test_every_single_edit_byte_by_byte(at):
    """Each place in the stream: truncated there, a byte inserted, deleted and replaced there."""
    cut = classify(BASE, BASE[:at])
    assert (cut.kind, cut.offset, cut.count) == ((EQUAL, 0, 0) if at == len(BASE) else (MISSING_TAIL, at, len(BASE) - at))
    inserted = classify(BASE, BASE[:at] + b"+" + BASE[at:])
    assert (inserted.kind, inserted.offset, inserted.inserted) == (EXTRA_TAIL if at == len(BASE) else INSERTED, at, b"+")
    if at < len(BASE):
        deleted = classify(BASE, BASE[:at] + BASE[at + 1:])
        assert (deleted.kind, deleted.offset, deleted.count) == (MISSING_TAIL if at == len(BASE) - 1 else DELETED, at, 1)
        replaced = classify(BASE, BASE[:at] + b"+" + BASE[at + 1:])
        assert (replaced.kind, replaced.offset, replaced.count) == (REPLACED, at, 1)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=300), st.integers(0, 300), st.binary(min_size=1, max_size=80), st.booleans())
def test_one_insertion_or_deletion_is_found_and_rebuilds_the_stream(expected, at, edit, insert):
    at = min(at, len(expected))
    if insert:
        observed = expected[:at] + edit + expected[at:]
    else:
        observed = expected[:at] + expected[at + len(edit):]
    d = classify(expected, observed)
    if len(edit) <= 64 or not insert:
        assert rebuilt(d, expected) == observed, d
    assert d.kind in ((INSERTED, EXTRA_TAIL) if insert else (DELETED, MISSING_TAIL, EQUAL))


def test_shown_bytes_are_capped():
    d = classify(b"ab", b"a" + bytes(1000) + b"b")
    assert (d.kind, d.count, len(d.inserted)) == (INSERTED, 1000, 64)
    assert d.sentence().startswith("1,000 bytes inserted at offset 1: b'\\x00") and d.sentence().endswith("...")


MIB = 1 << 20


@pytest.fixture(scope="module")
def big():
    """64 MiB of random bytes, the same in every run: where an edit sits is where the streams
    first differ only if the byte after it differs from the edit (one chance in 256 each)."""
    return random.Random(862).randbytes(64 * MIB)


@pytest.mark.parametrize("edit, kind, sentence", [
    (lambda e: e[:19_038] + e[19_039:], DELETED, "one byte deleted at offset 19,038"),
    (lambda e: e[: 32 * MIB] + b"\r\n" + e[32 * MIB:], INSERTED, "2 bytes inserted at offset 33,554,432: b'\\r\\n'"),
    (lambda e: e[:-1024], MISSING_TAIL, "truncated: the last 1,024 bytes never arrived"),
    (lambda e: e[:-5] + bytes([e[-5] ^ 1]) + e[-4:], REPLACED, "one byte differs, at offset 67,108,859"),
    (lambda e: bytes(b ^ 0x20 for b in e[:MIB]) * 64, REPLACED, "at least "),
    (lambda e: b"".join(e[i:i + 1024] + b"\n" for i in range(0, 4096, 1024)) + e[4096:], OTHER,
     "b'\\n' inserted 4 times, every 1,024 bytes from offset 1,024"),
    (lambda e: b"".join(e[i:i + 1024] + b"\n" for i in range(0, len(e), 1024)), OTHER,
     "b'\\n' inserted at least 256 times, every 1,024 bytes from offset 1,024"),
])
def test_64_mib_streams_are_classified_quickly(big, edit, kind, sentence):
    observed = edit(big)
    start = time.perf_counter()
    d = classify(big, observed)
    took = time.perf_counter() - start
    assert d.kind == kind and d.sentence().startswith(sentence), d.sentence()
    assert took < 2.0, f"{took:.2f} s"  # measured: 0.01-0.1 s on a loaded 2-core machine


def test_describe_stream_has_the_sentence_and_an_ascii_column():
    text = describe_stream(b"hello world", b"hello\r\n world").splitlines()
    assert text[0] == "the client: expected 11 bytes back, observed 13"
    assert text[1] == "  2 bytes inserted at offset 5: b'\\r\\n'"
    assert text[2].endswith("|hello world|") and text[3].endswith("|hello.. world|")
    assert text[2].index("|") == text[3].index("|")  # the ASCII columns line up


def test_dump_lines_pad_the_hex_and_dot_the_unprintable():
    lines = dump_lines([("a", b"A\x00\x7f\xff~ "), ("bb", b"")], width=8)
    assert lines == ["a:  41 00 7f ff 7e 20        |A...~ |", "bb: (nothing)                ||"]
