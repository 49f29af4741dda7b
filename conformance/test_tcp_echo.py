"""TCP echo semantics (RFC 862): what comes back, and when the server closes."""

from __future__ import annotations

import socket
import time

from hypothesis import example, given, strategies as st

from echo_conformance.check import (COMPLETE, DATA, EOF, HANG, RAN_OUT, RFC862, MiB, case, chunked, connect,
                                    describe_stream, exchange, fill_without_reading, listen_quietly, observe,
                                    pseudo_random, require, roundtrip, served)

RFC = 'RFC 862: "Once a connection is established any data received is sent back."'


@case("tcp.echo.binary", f"Arbitrary binary data (every byte value, NUL, CR/LF, invalid UTF-8) sent in "
      f"any chunking comes back byte-exact while the client keeps sending. {RFC}", guards=RFC862,
      defect="bytes altered, dropped, reordered or added (text-mode I/O, encodings, off-by-one buffers)",
      fresh_server=True,  # a connection per example: they would count against a rate limit
      budget=2.5)  # 25 examples of up to 200 KB: 0.4-0.5 s; a failure shrinks within the rest
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
      defect="data held back until a newline or more data arrives: the client waits forever",
      budget=lambda b, n: b.case_budget + 2 * b.confirm)  # the two probes of a held echo: 0.3 s each
def test_tcp_echo_unbuffered(impl, endpoint, bounds):
    payload = b"hello"
    with connect(endpoint, bounds) as sock:
        out = exchange(sock, [payload], matching=payload, bounds=bounds)
        if out.ended in RAN_OUT and len(out.received) < len(payload):
            _held_until(sock, payload, out.received, bounds)
    require(out.received == payload and out.ended == COMPLETE,
            expected=f"the client gets back exactly the {len(payload)} bytes it sent",
            observed=lambda: f"{describe_stream(payload, out.received)}\n"
                             f"  how it ended: {out.describe()} after {out.elapsed:.2f} s")


def _held_until(sock, payload: bytes, got: bytes, bounds) -> None:
    """The evidence, for an echo held back: does the rest come once a newline follows (the
    server echoes lines), or once the client half-closes (it collects until EOF)?  Each probe
    waits ``bounds.confirm``: a server that was only waiting for it answers in milliseconds."""
    rest = payload[len(got):] + b"\n"
    line = exchange(sock, [b"\n"], matching=rest, bounds=bounds, stall=bounds.confirm)
    if line.received == rest:
        observe("held-until", what="newline")
        return
    rest = rest[len(line.received):]
    at_eof = exchange(sock, [], matching=rest, bounds=bounds, stall=bounds.confirm, half_close=True)
    observe("held-until", what="eof" if at_eof.received == rest else None)


@case("tcp.echo.no-banner", "The server sends nothing before the client does (no greeting, no banner), "
      "and then echoes what the client sends on that connection.",
      guards=RFC862, defect="a greeting: data the client never sent")
def test_tcp_echo_no_banner(impl, endpoint, bounds):
    with connect(endpoint, bounds) as sock:
        out = listen_quietly(sock, bounds.quiet)
        require(out.received == b"",
                expected=f"nothing from the server during the first {bounds.quiet:g} s",
                observed=lambda: f"{len(out.received)} unsolicited byte(s): {out.received[:64]!r}")
        # The quiet is the server's only if it serves: a closed or dead one sends nothing too.
        served(sock, bounds, b"hello", "the client, after the quiet window,")


@case("tcp.echo.no-extra", "Nothing beyond the echo is ever sent: no duplicates, no added newline.",
      guards=RFC862, defect="bytes the client never sent: an added newline, a duplicated chunk")
def test_tcp_echo_no_extra(impl, endpoint, bounds):
    with connect(endpoint, bounds) as sock:
        out = exchange(sock, [b"ping"], matching=b"ping", bounds=bounds)
        extra = listen_quietly(sock, bounds.quiet)
    got = out.received + extra.received
    require(got == b"ping",
            expected=f"exactly b'ping' back and then nothing for {bounds.quiet:g} s",
            observed=lambda: describe_stream(b"ping", got))


LARGE = 64 * 1024 * 1024


@case("tcp.echo.large", f"A {LARGE >> 20} MiB stream, far larger than any socket buffer, comes back "
      f"byte-exact while the client keeps sending. {RFC}", guards=DATA, heavy=True,
      defect="data lost or corrupted once the socket buffers fill (partial sends, EAGAIN)",
      # 64 MiB each way: 0.4 s quiet, 2.9 s loaded (making the payload is not counted); an asyncio
      # streams server of the corpus ran out of 6 s at load 10.
      budget=15.0)
def test_tcp_echo_large(impl, endpoint, bounds):
    payload = pseudo_random(862, LARGE)
    roundtrip(endpoint, bounds, chunked(payload, [1 << 20]))


HALF_CLOSE_REPEATS = 5
HALF_CLOSE_LARGE = 8 * MiB


@case("tcp.halfclose.small", "After the client shuts down its write side, the server sends back every "
      "remaining byte and then closes, within the progress bound (a tiny payload, sent with the FIN, "
      "repeated).", guards=DATA, delayed_upstream=True,
      defect="the tail of the echo lost at the client's half-close, or the connection never closed")
def test_tcp_halfclose_small(impl, endpoint, bounds):
    for attempt in range(1, HALF_CLOSE_REPEATS + 1):
        payload = pseudo_random(7 * HALF_CLOSE_REPEATS + attempt, 7)
        roundtrip(endpoint, bounds, [payload], half_close=True,
                  who=f"attempt {attempt} of {HALF_CLOSE_REPEATS} (7 bytes)")


def _pushed_then_half_closed(endpoint, bounds, payload: bytes, who: str, pause: float = 0.0) -> None:
    """Push ``payload`` without reading for as long as the server takes it (its echo backs up
    in the server), then half-close: with what is left sent while reading, or, given a
    ``pause``, at once, and wait that long before reading.  Everything sent must come back,
    then EOF.  A server that took all of it unread (it buffers without bound) holds the whole
    echo when the EOF comes: the client then pauses ``bounds.push_settle`` anyway, long enough for
    the server to read the EOF before the client drains the echo (else whether it had
    flushed would be a race)."""
    with connect(endpoint, bounds) as sock:
        pushed = fill_without_reading(sock, limit=len(payload), settle=bounds.push_settle, bounds=bounds,
                                      data=payload)
        if not pause and pushed == len(payload):
            pause = bounds.push_settle
        if pause:
            payload = payload[:pushed]
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:  # the server has closed the connection already: the exchange says how
                pause = 0.0
            time.sleep(pause)  # the slow reader itself: it reads nothing for this long
            rest = []
        else:
            rest = chunked(payload[pushed:], [MiB])
        out = exchange(sock, rest, matching=payload, bounds=bounds, half_close=not pause, until_eof=True)
    when = f"{pause:g} s after it half-closed" if pause else "once it had sent the rest"
    require(out.received == payload and out.ended == EOF,
            expected=f"{who}: having pushed {pushed:,} bytes without reading, then read them {when}, the "
                     f"client gets back all {len(payload):,} bytes it sent, then EOF",
            observed=lambda: f"{describe_stream(payload, out.received, who=who)}\n"
                             f"  how it ended: {out.describe()} after {out.elapsed:.2f} s")


@case("tcp.halfclose.large", "After the client shuts down its write side, the server sends back every "
      f"remaining byte and then closes ({HALF_CLOSE_LARGE >> 20} MiB, far above the socket buffers, pushed "
      "unread for as long as the server takes it, so that its echo is backed up when the EOF comes; "
      "repeated).", guards=DATA, delayed_upstream=True,
      defect="the tail of a large echo lost at the client's half-close, or the connection never closed",
      budget=10.0)  # 3 x 8 MiB pushed unread (a 0.3 s settle each), then read: 1-1.5 s, 3 s loaded
def test_tcp_halfclose_large(impl, endpoint, bounds):
    for attempt in range(1, 4):
        payload = pseudo_random(8 * HALF_CLOSE_REPEATS + attempt, HALF_CLOSE_LARGE)
        _pushed_then_half_closed(endpoint, bounds, payload, f"attempt {attempt} of 3")


@case("tcp.halfclose.slow-reader", "A client that pushes data unread (up to "
      f"{HALF_CLOSE_LARGE >> 20} MiB, for as long as the server takes it), half-closes and only starts "
      "reading after the half-close pause (2 s) gets back every byte it sent, then EOF: the server "
      "does not give up a fixed time after the client's EOF.", guards=DATA, delayed_upstream=True, heavy=True,
      defect="an echo server that drops what it still buffers a fixed time after the client's EOF "
             "(a client that half-closes and then reads slowly loses the tail)",
      # The half-close pause is paid in full, plus up to 8 MiB: 2.2 s quiet, 2.8 s loaded.
      budget=lambda bounds, connections: bounds.halfclose_pause + 2.5 * bounds.scale)
def test_tcp_halfclose_slow_reader(impl, endpoint, bounds):
    payload = pseudo_random(8 * HALF_CLOSE_REPEATS, HALF_CLOSE_LARGE)
    _pushed_then_half_closed(endpoint, bounds, payload, "the slow reader", pause=bounds.halfclose_pause)


@case("tcp.echo.connect-close", "Clients that connect and close without sending leave the server healthy: "
      "a new client is echoed.", fresh_server=True, guards=HANG,
      defect="a server that dies or stops accepting when a client leaves without sending")
def test_tcp_connect_close(impl, endpoint, bounds):
    closed = 0
    try:
        for _ in range(20):
            connect(endpoint, bounds).close()
            closed += 1
    finally:  # the evidence, also when a connection fails: the server died of an empty one
        observe("empty-connections", count=closed)
    roundtrip(endpoint, bounds, [b"still there?"], who="a client after 20 empty connections")
