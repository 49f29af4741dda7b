"""Table-driven tests of the harness's small pure parts."""

from __future__ import annotations

import pytest

from echo_conformance._client import chunked
from echo_conformance._diff import describe_stream, first_difference
from echo_conformance._registry import ManifestError, make, parse_target, parse_transports


@pytest.mark.parametrize("expected, observed, at", [
    (b"abc", b"abc", None),
    (b"abc", b"ab", 2),
    (b"ab", b"abc", 2),
    (b"abc", b"axc", 1),
    (b"", b"x", 0),
    (bytes(200_000), bytes(199_999) + b"\x01", 199_999),
])
def test_first_difference(expected, observed, at):
    assert first_difference(expected, observed) == at


@pytest.mark.parametrize("expected, observed, phrases", [
    (b"hello", b"hello", ["received exactly the 5 bytes"]),
    (b"hello", b"hell", ["expected 5 bytes back, observed 4", "missing from offset 4", "68 65 6c 6c 6f"]),
    (b"ping", b"ping\n", ["1 extra byte(s) after the echo, from offset 4", "0a"]),
    (b"\x00\x01\x02", b"\x00\xff\x02", ["first difference at offset 1", "00 ff 02"]),
])
def test_describe_stream(expected, observed, phrases):
    text = describe_stream(expected, observed)
    for phrase in phrases:
        assert phrase in text


@pytest.mark.parametrize("payload, sizes, chunks", [
    (b"abcdef", [2], [b"ab", b"cd", b"ef"]),
    (b"abcdef", [1, 4], [b"a", b"bcde", b"f"]),
    (b"abc", [10], [b"abc"]),
    (b"", [3], []),
    (b"abc", [0], [b"a", b"b", b"c"]),
])
def test_chunked_whole_bytewise_and_with_trailing_data(payload, sizes, chunks):
    assert chunked(payload, sizes) == chunks
    assert b"".join(chunked(payload, sizes)) == payload


@pytest.mark.parametrize("value, target", [
    ("127.0.0.1:7", ("127.0.0.1", 7)),
    ("[::1]:2007", ("::1", 2007)),
    ("localhost:65535", ("localhost", 65535)),
])
def test_parse_target(value, target):
    assert parse_target(value) == target


@pytest.mark.parametrize("value", ["localhost", ":7", "host:0", "host:70000", "host:x"])
def test_parse_target_rejects(value):
    with pytest.raises(ManifestError):
        parse_target(value)


def test_transports_are_parsed_and_deduplicated():
    assert parse_transports("x", "tcp, udp,tcp") == ("tcp", "udp")


def test_template_arguments_are_filled_per_argument():
    impl = make("x", "{python} -m server --port {port} --name 'two words'")
    assert impl.argv(python="/path with space/python", port=9, host="::1")[:2] == ["/path with space/python", "-m"]
    assert impl.argv(port=9)[-1] == "two words"
