"""TCP echo semantics (RFC 862): what comes back, and when the server closes."""

from __future__ import annotations

from hypothesis import example, given, strategies as st

from .._cases import DATA, HANG, RFC862, case, require
from .._client import chunked, connect, exchange, listen_quietly, pseudo_random
from .._diff import describe_stream
from .._expect import budgeted, check_budget_fixture, roundtrip  # noqa: F401  (the check_budget fixture)
from .._hypothesis import check_settings

RFC = 'RFC 862: "Once a connection is established any data received is sent back."'


@case("tcp.echo.binary", f"Arbitrary binary data (every byte value, NUL, CR/LF, invalid UTF-8) sent in "
      f"any chunking comes back byte-exact while the client keeps sending. {RFC}", guards=RFC862,
      defect="bytes altered, dropped, reordered or added (text-mode I/O, encodings, off-by-one buffers)")
@budgeted
@check_settings()
@given(payload=st.binary(min_size=1, max_size=200_000) | st.sampled_from(
           [bytes(range(256)), b"\x00" * 64, b"\r\n\r\n.\r\n", b"\xff\xfe\xc3\x28\xed\xa0\x80"]),
       sizes=st.lists(st.integers(1, 70_000), min_size=1, max_size=12))
# Always run CR/LF (random examples may not draw it), small: it is the example reported when
# it fails, and explicit examples are not shrunk.
@example(payload=b"\r\n", sizes=[2])
def test_tcp_echo_binary(impl, endpoint, bounds, check_budget, payload, sizes):
    with check_budget.example((payload, tuple(sizes))):
        roundtrip(endpoint, bounds, chunked(payload, sizes), budget=check_budget)


@case("tcp.echo.unbuffered", "Data without a trailing newline is echoed while the connection stays "
      "open (no line buffering, no waiting for more).", guards=HANG,
      defect="data held back until a newline or more data arrives: the client waits forever")
def test_tcp_echo_unbuffered(impl, endpoint, bounds):
    roundtrip(endpoint, bounds, [b"hello"])


@case("tcp.echo.no-banner", "The server sends nothing before the client does (no greeting, no banner).",
      guards=RFC862, defect="a greeting: data the client never sent")
def test_tcp_echo_no_banner(impl, endpoint, bounds):
    with connect(endpoint, bounds) as sock:
        out = listen_quietly(sock, bounds.quiet)
    require(out.received == b"",
            expected=f"nothing from the server during the first {bounds.quiet:g} s",
            observed=lambda: f"{len(out.received)} unsolicited byte(s): {out.received[:64]!r}")


@case("tcp.echo.no-extra", "Nothing beyond the echo is ever sent: no duplicates, no added newline.",
      guards=RFC862, defect="bytes the client never sent: an added newline, a duplicated chunk")
def test_tcp_echo_no_extra(impl, endpoint, bounds):
    with connect(endpoint, bounds) as sock:
        out = exchange(sock, [b"ping"], expect=4, bounds=bounds, expected=b"ping")
        extra = listen_quietly(sock, bounds.quiet)
    got = out.received + extra.received
    require(got == b"ping",
            expected=f"exactly b'ping' back and then nothing for {bounds.quiet:g} s",
            observed=lambda: describe_stream(b"ping", got))


LARGE = 64 * 1024 * 1024


@case("tcp.echo.large", f"A {LARGE >> 20} MiB stream, far larger than any socket buffer, comes back "
      f"byte-exact while the client keeps sending. {RFC}", guards=DATA, heavy=True,
      defect="data lost or corrupted once the socket buffers fill (partial sends, EAGAIN)")
def test_tcp_echo_large(impl, endpoint, bounds):
    payload = pseudo_random(862, LARGE)
    roundtrip(endpoint, bounds, chunked(payload, [1 << 20]))


HALF_CLOSE_REPEATS = 5


def _half_close(endpoint, bounds, size):
    for attempt in range(1, HALF_CLOSE_REPEATS + 1):
        payload = pseudo_random(size * HALF_CLOSE_REPEATS + attempt, size)
        roundtrip(endpoint, bounds, chunked(payload, [1 << 20]), half_close=True,
                   who=f"attempt {attempt} of {HALF_CLOSE_REPEATS} ({size:,} bytes)")


@case("tcp.halfclose.small", "After the client shuts down its write side, the server sends back every "
      "remaining byte and then closes, within the progress bound (a tiny payload, repeated).", guards=DATA,
      defect="the tail of the echo lost at the client's half-close, or the connection never closed")
def test_tcp_halfclose_small(impl, endpoint, bounds):
    _half_close(endpoint, bounds, 7)


@case("tcp.halfclose.large", "After the client shuts down its write side, the server sends back every "
      "remaining byte and then closes (8 MiB, far above the socket buffers, repeated: losing the "
      "tail is racy).", guards=DATA,
      defect="the tail of a large echo lost at the client's half-close, or the connection never closed")
def test_tcp_halfclose_large(impl, endpoint, bounds):
    _half_close(endpoint, bounds, 8 * 1024 * 1024)


@case("tcp.echo.connect-close", "Clients that connect and close without sending leave the server healthy: "
      "a new client is echoed.", fresh_server=True, guards=HANG,
      defect="a server that dies or stops accepting when a client leaves without sending")
def test_tcp_connect_close(impl, endpoint, bounds):
    for _ in range(20):
        connect(endpoint, bounds).close()
    roundtrip(endpoint, bounds, [b"still there?"], who="a client after 20 empty connections")
