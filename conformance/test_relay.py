"""A TCP relay's own duties: passing half-close and resets on both ways, surviving a refused
upstream, releasing the upstream connection, backpressure, speed, and chaining.

Most checks start a relay of their own in front of an instrumented fake upstream
(``_upstream``), which can refuse, close or reset, and reports what it saw: its open and
accepted connections, the bytes and the EOF that reached it.  The echo semantics through a
relay are the TCP echo checks, which run against relays too.
"""

from __future__ import annotations

import dataclasses
import random
import selectors
import socket
import time

import psutil
import pytest

from echo_conformance.check import (ANSWER, CLOSE, COMPLETE, DATA, ECHO, EOF, GROWTH, HANG, LEAK_PER_CONNECTION,
                                    MSG_MORE, READ_BACK, REFUSE, RESET, SHOULD, STALLED, Exchanged, Pace, FakeUpstream, abort,
                                    case, caught_up, chunked, connect, describe_stream, exchange, fill_without_reading,
                                    leak_allowance, memory, observe, pseudo_random, require, roundtrip, served, steady,
                                    step, wait_for)

RELAY = dict(kinds=("relay",))
#: Checks that start a relay of their own (in front of the fake upstream) need the process.
OWN_RELAY = dict(kinds=("relay",))


@pytest.fixture
def fake_upstream():
    """``fake_upstream(mode, **options)``: a running :class:`FakeUpstream`, stopped (every
    socket closed, its thread joined) when the check ends."""
    made: list[FakeUpstream] = []

    def make(mode: str = ECHO, **options) -> FakeUpstream:
        fake = FakeUpstream(mode, **options).__enter__()
        made.append(fake)
        return fake

    yield make
    for fake in made:
        fake.close()


def _exit_note(server) -> str:
    return "" if server.alive() else f" (the relay process exited with status {server.exit_code})"


# --- half-close, both ways -------------------------------------------------------------

HALF_CLOSE_SIZE = 1024 * 1024
HALF_CLOSE_REPEATS = 3  # losing the tail is racy


def _carrying(fake, payload: bytes):
    """The fake's connection that received the start of ``payload`` (the relay may also have
    connected upstream for the suite's readiness probe), or None."""
    with fake.lock:
        return next((c for c in fake.connections if c.data and payload.startswith(bytes(c.data[:64]))), None)


def _upstream_saw(fake, rec, payload: bytes, got: bytes, bounds) -> str:
    if rec is None:
        return f"no upstream connection received any of the client's data ({fake.describe()})"
    eof = (f"then EOF after {rec.received_at_eof:,} bytes" if rec.eof
           else f"no EOF within {bounds.progress:g} s")
    if got == payload[: len(got)]:
        return f"the upstream received {rec.received:,} of the {len(payload):,} bytes, {eof}"
    return f"the upstream received different bytes, {eof}:\n" + describe_stream(payload, got, who="the upstream")


@case("relay.halfclose.upstream", "The client's half-close reaches the upstream as EOF, after every byte "
      "the client sent, and the upstream's echo of them all still reaches the client "
      f"({HALF_CLOSE_SIZE >> 20} MiB, repeated).", **OWN_RELAY, guards=DATA,
      defect="a relay that swallows the client's half-close, so the upstream never answers the end")
def test_relay_halfclose_upstream(impl, launch, fake_upstream, bounds):
    # The fake echoes everything and keeps its side open after the EOF, so this check does
    # not depend on the relay passing the upstream's close on (relay.halfclose.downstream).
    fake = fake_upstream(ECHO, close_on_eof=False)
    relay = launch(upstream=fake.address)
    rng = random.Random(1)
    for attempt in range(1, HALF_CLOSE_REPEATS + 1):
        payload = rng.randbytes(HALF_CLOSE_SIZE)
        who = f"attempt {attempt} of {HALF_CLOSE_REPEATS}"
        with connect(relay.address, bounds) as sock:
            out = exchange(sock, chunked(payload, [1 << 16]), count=len(payload), bounds=bounds,
                           half_close=True, matching=payload)
            saw = fake.wait_until(lambda f: (c := _carrying(f, payload)) is not None and c.eof,
                                  bounds.progress)
        rec = _carrying(fake, payload)
        with fake.lock:
            got_up = bytes(rec.data) if rec else b""
        if not (saw and rec.received_at_eof == len(payload) and got_up == payload):
            observe("upstream", received=len(got_up), of=len(payload), eof=bool(rec and rec.eof))
        require(saw and rec.received_at_eof == len(payload) and got_up == payload,
                expected=f"{who}: the upstream receives the {len(payload):,} bytes, then EOF (the client's "
                         f"half-close passed on), within {bounds.progress:g} s",
                observed=lambda: _upstream_saw(fake, rec, payload, got_up, bounds) + _exit_note(relay))
        require(out.received == payload and out.ended == COMPLETE,
                expected=f"{who}: after its half-close the client still gets back all {len(payload):,} bytes",
                observed=lambda: f"{describe_stream(payload, out.received, who='the client')}\n"
                                 f"  how it ended: {out.describe()} after {out.elapsed:.2f} s")


@case("relay.halfclose.downstream", "When the upstream closes after sending data, the client receives all "
      "of that data and then EOF, while its own side is still open "
      f"({HALF_CLOSE_SIZE >> 20} MiB, repeated).", **OWN_RELAY, guards=DATA,
      defect="a relay that loses the upstream's last bytes or never passes its close on")
def test_relay_halfclose_downstream(impl, launch, fake_upstream, bounds):
    fake = fake_upstream(CLOSE, after=HALF_CLOSE_SIZE)  # echoes 1 MiB, then closes
    relay = launch(upstream=fake.address)
    rng = random.Random(2)
    for attempt in range(1, HALF_CLOSE_REPEATS + 1):
        payload = rng.randbytes(HALF_CLOSE_SIZE)
        with connect(relay.address, bounds) as sock:
            # The client does not half-close: only the upstream's close can end this.
            out = exchange(sock, chunked(payload, [1 << 16]), count=len(payload), bounds=bounds,
                           until_eof=True, matching=payload)
        require(out.received == payload and out.ended == EOF,
                expected=f"attempt {attempt} of {HALF_CLOSE_REPEATS}: the upstream echoes "
                         f"{len(payload):,} bytes and closes; the client receives them all, then EOF "
                         f"within {bounds.progress:g} s",
                observed=lambda: f"{describe_stream(payload, out.received, who='the client')}\n"
                                 f"  how it ended: {out.describe()} after {out.elapsed:.2f} s\n"
                                 f"  upstream: {fake.describe()}{_exit_note(relay)}")


#: The upstream's answer to a half-closed request in the slow-reader case: far more than the
#: socket buffers between the relay and a client that does not read can hold.
ANSWER_SIZE = 8 * 1024 * 1024
#: ... and in the slow-upstream case, where the client reads at once.
SLOW_ANSWER_SIZE = 1024 * 1024
REQUEST = b"the whole request; the answer follows its end"


def _paused_budget(bounds, connections: int) -> float:
    """The half-close pause is paid in full, plus the answer: 2.2 s quiet, 2.8 s loaded."""
    return bounds.halfclose_pause + 2.5 * bounds.scale


def _answer_after_half_close(launch, fake_upstream, bounds, *, size: int, delay: float, pause: float, who: str):
    """A client sends a request and half-closes; the fake upstream answers ``size`` bytes
    ``delay`` s after the EOF reached it, then closes; the client starts reading ``pause`` s
    after its half-close.  It must get the whole answer, then EOF."""
    answer = pseudo_random(size + int(delay * 10), size)
    fake = fake_upstream(ANSWER, answer=answer, delay=delay)
    relay = launch(upstream=fake.address)
    with connect(relay.address, bounds) as sock:
        sock.sendall(REQUEST, MSG_MORE)
        sock.shutdown(socket.SHUT_WR)
        if pause:
            time.sleep(pause)  # the slow reader itself: it reads nothing for this long
        # The upstream's own delay is not the relay's: it is added to the stall bound.
        out = exchange(sock, [], matching=answer, bounds=bounds, stall=bounds.progress + delay, until_eof=True)
    rec = _carrying(fake, REQUEST)
    require(out.received == answer and out.ended == EOF,
            expected=f"{who}: the client gets the upstream's whole {len(answer):,}-byte answer, then EOF",
            observed=lambda: f"{describe_stream(answer, out.received, who='the client')}\n"
                             f"  how it ended: {out.describe()} after {out.elapsed:.2f} s\n"
                             f"  upstream: {rec.describe() if rec else fake.describe()}{_exit_note(relay)}")


@case("relay.halfclose.slow-reader", "A client that sends a request, half-closes and only starts reading "
      f"after the half-close pause (2 s) gets the upstream's whole answer ({ANSWER_SIZE >> 20} MiB, sent "
      "at once after the EOF), then EOF: the relay does not end the session a fixed time after the "
      "client's EOF.", **OWN_RELAY, guards=DATA, heavy=True,
      defect="a relay that closes both sides a fixed time after the client's half-close (socat's -t 0.5), "
             "losing the answer a slow reader has not read yet", budget=_paused_budget)
def test_relay_halfclose_slow_reader(impl, launch, fake_upstream, bounds):
    _answer_after_half_close(launch, fake_upstream, bounds, size=ANSWER_SIZE, delay=0.0,
                             pause=bounds.halfclose_pause,
                             who=f"reading {bounds.halfclose_pause:g} s after its half-close")


@case("relay.halfclose.slow-upstream", "A client that sends a request and half-closes gets the upstream's "
      f"whole answer ({SLOW_ANSWER_SIZE >> 20} MiB), then EOF, when the upstream takes the half-close "
      "pause (2 s) after the EOF to answer: the relay does not end the session a fixed time after the "
      "client's EOF.", **OWN_RELAY, guards=DATA, heavy=True,
      defect="a relay that closes both sides a fixed time after the client's half-close, before a slow "
             "upstream has answered", budget=_paused_budget)
def test_relay_halfclose_slow_upstream(impl, launch, fake_upstream, bounds):
    _answer_after_half_close(launch, fake_upstream, bounds, size=SLOW_ANSWER_SIZE, delay=bounds.halfclose_pause,
                             pause=0.0, who=f"the upstream answering {bounds.halfclose_pause:g} s after the EOF")


# --- the upstream misbehaves -----------------------------------------------------------

REFUSED_CLIENTS = 3


def _wait_closed(socks, within: float) -> list[Exchanged]:
    """Read every socket at once until each has ended (EOF or reset) or ``within`` seconds
    pass; one Exchanged per socket (STALLED: still open at the end)."""
    start = time.monotonic()
    received = [bytearray() for _ in socks]
    ended: list[str | None] = [None] * len(socks)
    took = [0.0] * len(socks)
    with selectors.DefaultSelector() as sel:
        for i, sock in enumerate(socks):
            sock.setblocking(False)
            sel.register(sock, selectors.EVENT_READ, i)
        while sel.get_map() and (left := start + within - time.monotonic()) > 0:
            for key, _ in sel.select(timeout=min(left, 0.1)):
                i = key.data
                try:
                    data = socks[i].recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data, ended[i] = b"", RESET
                received[i] += data
                if not data:
                    ended[i], took[i] = ended[i] or EOF, time.monotonic() - start
                    sel.unregister(socks[i])
    return [Exchanged(bytes(r), e or STALLED, t if e else within) for r, e, t in zip(received, ended, took)]


@case("relay.upstream.refused", "While the upstream refuses connections, each client's connection is "
      "closed (EOF or reset) within the give-up bound (retrying first is fine), and the relay keeps "
      "accepting; once the upstream listens again, a new client is relayed.", **OWN_RELAY, guards=HANG,
      defect="a relay that dies when its upstream refuses, or leaves its clients waiting forever",
      budget=5.0)  # a relay may retry a refused upstream first (HAProxy: about 3 s); others close at once
def test_relay_upstream_refused(impl, launch, fake_upstream, bounds):
    fake = fake_upstream(REFUSE)  # bound, not listening: every connection is refused
    relay = launch(upstream=fake.address)
    socks = []
    try:
        for i in range(1, REFUSED_CLIENTS + 1):
            with step(f"connecting client {i} of {REFUSED_CLIENTS} to the relay"):
                try:
                    socks.append(connect(relay.address, bounds))
                except OSError as exc:
                    observe("refused-upstream", closed=i - 1, of=REFUSED_CLIENTS, alive=relay.alive())
                    require(False, expected=f"client {i} is accepted: the relay keeps accepting while its "
                                            "upstream refuses",
                            observed=f"connecting to the relay failed: {exc}{_exit_note(relay)}")
            try:
                socks[-1].sendall(b"anyone there?")
            except OSError:
                pass  # already closed by the relay: what _wait_closed reports next
        # All at once: a relay that retries the upstream (HAProxy: 3 tries, 1 s apart) takes
        # the same few seconds for every client, not a multiple of them.
        outs = _wait_closed(socks, bounds.upstream_giveup)
    finally:
        for sock in socks:
            sock.close()
    bad = [(i, o) for i, o in enumerate(outs, 1) if o.ended not in (EOF, RESET) or o.received]
    observe("refused-upstream", closed=REFUSED_CLIENTS - len(bad), of=REFUSED_CLIENTS, alive=relay.alive())
    require(not bad,
            expected=f"each of {REFUSED_CLIENTS} clients' connections closed (EOF or reset) within "
                     f"{bounds.upstream_giveup:g} s, since the upstream refuses, with nothing received",
            observed=lambda: "; ".join(f"client {i}: {o.describe()} after {o.elapsed:.2f} s"
                                       + (f", having received {o.received[:64]!r}" if o.received else "")
                                       for i, o in bad) + _exit_note(relay))
    require(relay.alive(), expected="the relay process keeps running while its upstream refuses",
            observed=_exit_note(relay).strip(" ()"))
    fake.listen()
    with step("relaying a client after the upstream started listening"):
        roundtrip(relay.address, bounds, chunked(b"the upstream is back", [1 << 16]), half_close=False,
                  who="a client after the upstream started listening")


RESET_AFTER = 256 * 1024
#: What the client has relayed and echoed first.
RESET_FIRST = 64 * 1024


@case("relay.upstream.reset", "When the upstream resets the connection mid-stream, the client, whose first "
      "data was relayed and echoed, sees its connection end (reset or EOF) within the progress bound.",
      **OWN_RELAY, guards=HANG, defect="a client left waiting forever on a connection whose upstream is gone")
def test_relay_upstream_reset(impl, launch, fake_upstream, bounds):
    fake = fake_upstream("reset", after=RESET_AFTER)  # echoes, then resets at 256 KiB
    relay = launch(upstream=fake.address)
    payload = random.Random(3).randbytes(RESET_AFTER)
    first, rest = payload[:RESET_FIRST], payload[RESET_FIRST:]
    with connect(relay.address, bounds) as sock:
        # The connection's end means something only on a connection the relay served.
        served(sock, bounds, first, "the client, before the upstream's reset,")
        # Exactly up to the reset, then only read: the end must come from the upstream's reset.
        out = exchange(sock, chunked(rest, [1 << 16]), count=len(rest), bounds=bounds, until_eof=True)
    require(out.ended in (EOF, RESET),
            expected=f"the client's connection ends (reset or EOF) within {bounds.progress:g} s of the "
                     "upstream's reset",
            observed=lambda: f"{out.describe()} after {out.elapsed:.2f} s, having received "
                             f"{len(out.received):,} bytes; upstream: {fake.describe()}")


# --- the client resets -----------------------------------------------------------------

#: Enough resets that a descriptor leaked per reset (RESET_CLIENTS) stands far above what a
#: runtime's own pools move by (``leak_allowance``: a tenth of them).
RESET_CLIENTS = 100
WARM_UP_RESETS = 2


#: The reset clients are paced (``Pace``): a first this many seconds, then each client within
#: ``RESET_EACH`` (a relay forking per client needs several times the 7-9 ms of a threaded one,
#: loaded): the budget is the two phases' paces.
RESET_START, RESET_EACH = 3.0, 0.05


def _reset_clients(relay, bounds, count: int, who: str) -> None:
    """``count`` clients, each relayed once and then reset (every second one with data in
    flight both ways when the reset comes), at a steady pace."""
    pace = Pace(RESET_START * bounds.scale, RESET_EACH * bounds.scale, f"{who}s relayed", count)
    for i in range(count):
        pace.keep(i)
        with step(f"connecting {who} {i}"):
            sock = connect(relay.address, bounds)
        try:
            greeting = f"{who} {i} before its reset".encode()
            out = exchange(sock, [greeting], count=len(greeting), bounds=bounds)
            require(out.received == greeting,
                    expected=f"{who} {i} is relayed (its greeting echoed) before it resets",
                    observed=lambda: describe_stream(greeting, out.received, who=f"{who} {i}"))
            if i % 2:
                sock.sendall(b"\x00" * 65536)
        finally:
            abort(sock)


@case("relay.client.reset", f"When clients reset their connections ({RESET_CLIENTS}, half of them with data "
      "in flight), the relay closes each one's upstream connection, and its own open descriptors do not "
      f"grow with them: within the progress bound they stand less than {leak_allowance(RESET_CLIENTS)} "
      f"({LEAK_PER_CONNECTION:g} per reset) above their count after a warm-up (a clean client and two "
      "resets).", **OWN_RELAY, guards=GROWTH,
      defect="an upstream connection (and its descriptor) leaked per client reset",
      # the reset clients' paces: 0.7-0.9 s for a threaded relay
      budget=lambda bounds, connections: (RESET_START + (RESET_CLIENTS + WARM_UP_RESETS) * RESET_EACH)
      * bounds.scale)
def test_relay_client_reset(impl, launch, fake_upstream, bounds):
    fake = fake_upstream(ECHO)
    relay = launch(upstream=fake.address)
    # Warm-up, one clean client and two resets: whatever the relay opens once, or lazily on
    # its first resets (not per client), is open now and belongs in the baseline.
    roundtrip(relay.address, bounds, [b"warm-up"], who="a first client")
    _reset_clients(relay, bounds, WARM_UP_RESETS, "warm-up client")
    closed = fake.wait_until(lambda f: f.open_count == 0, bounds.progress)
    if not closed:
        observe("upstream-open", open=fake.open_count, accepted=fake.accepted)
    require(closed,
            expected=f"after the warm-up clients ({WARM_UP_RESETS} of them reset) leave, the relay closes their "
                     f"upstream connections within {bounds.progress:g} s",
            observed=lambda: f"still open: {fake.describe()}{_exit_note(relay)}")
    settled = steady(relay.pid, bounds.progress, bounds.steady_window)
    require(settled is not None, expected="the relay runs after the warm-up", observed=_exit_note(relay))
    baseline = settled.fds
    _reset_clients(relay, bounds, RESET_CLIENTS, "client")
    closed = fake.wait_until(lambda f: f.open_count == 0, bounds.progress)
    with fake.lock:
        still = [c for c in fake.connections if c.open]
    if not closed:
        observe("upstream-open", open=len(still), accepted=fake.accepted)
    require(closed,
            expected=f"all {RESET_CLIENTS} upstream connections closed by the relay within "
                     f"{bounds.progress:g} s of their clients' resets",
            observed=lambda: f"{len(still)} of {fake.accepted} upstream connections still open: "
                             + "; ".join(c.describe() for c in still[:4]) + _exit_note(relay))
    allowance = leak_allowance(RESET_CLIENTS)
    after = wait_for(relay.pid, lambda now: now.fds - baseline <= allowance, bounds.progress)
    if after is not None and after.fds - baseline > allowance:
        observe("growth", resource="open fds", before=baseline, after=after.fds, cycles=RESET_CLIENTS)
    require(after is not None and after.fds - baseline <= allowance,
            expected=f"the relay, still running, has at most {allowance} open descriptors more than the "
                     f"{baseline} after the warm-up, within {bounds.progress:g} s",
            observed=lambda: "the relay process is gone" + _exit_note(relay) if after is None else
                             f"{after.fds} open descriptors: {after.fds - baseline} leaked over {RESET_CLIENTS} "
                             "reset clients")


# --- backpressure ------------------------------------------------------------------------

#: How much the non-reading client offers: enough that a relay buffering without bound
#: takes far more than PUSH_BOUND.
FILL_LIMIT = 256 * 1024 * 1024
#: The most a client that never reads may push before its send blocks.  Between client and
#: blocked send sit the kernel buffers of four sockets in each direction (autotuned to at
#: most a few MiB each), the relay's own buffers and the fake upstream's (256 KiB socket
#: buffers, 1 MiB of pending echo); a relay with backpressure stays far below this.
PUSH_BOUND = 64 * 1024 * 1024
#: The most the relay process's resident memory may grow meanwhile (its own buffers).
RSS_BOUND = 64 * 1024 * 1024


@case("relay.backpressure", f"A client that sends without reading (to an echoing upstream) is blocked "
      f"after at most {PUSH_BOUND >> 20} MiB, and the relay's memory grows by less than "
      f"{RSS_BOUND >> 20} MiB; once the client reads, it gets all of it back: the relay does not buffer "
      "without bound, and it stopped reading only until the client caught up.", **OWN_RELAY, guards=GROWTH,
      defect="a relay that reads without limit into buffers a slow side cannot drain",
      # a client pushing unread through the relay, the relay's memory: 0.8-1.2 s, 2 s loaded; then
      # up to PUSH_BOUND read back (HAProxy pushed 46 MiB)
      budget=lambda bounds, connections: (2.5 + READ_BACK * PUSH_BOUND / 2**20) * bounds.scale)
def test_relay_backpressure(impl, launch, fake_upstream, bounds):
    fake = fake_upstream(ECHO)  # echoes, and stops reading while 1 MiB of echo is pending
    relay = launch(upstream=fake.address)
    before = memory(relay.pid)  # the whole tree: a forking relay buffers in its children
    with connect(relay.address, bounds) as hog:
        pushed = fill_without_reading(hog, limit=FILL_LIMIT, settle=bounds.relay_push_settle, bounds=bounds)
        try:
            grown = memory(relay.pid) - before
        except psutil.NoSuchProcess:
            grown = None
        if grown is not None and grown > RSS_BOUND:
            observe("memory", grew=grown, pushed=pushed, bound=RSS_BOUND)
        require(grown is not None and pushed <= PUSH_BOUND and grown <= RSS_BOUND,
                expected=f"the non-reading client blocked after at most {PUSH_BOUND >> 20} MiB, and the relay's "
                         f"memory (PSS, summed over its processes) grown by at most {RSS_BOUND >> 20} MiB",
                observed=lambda: f"the client pushed {pushed / 2**20:,.1f} MiB before its send blocked"
                                 + (" (it never blocked)" if pushed >= FILL_LIMIT else "")
                                 + (f"; the relay's memory grew by {grown / 2**20:,.1f} MiB" if grown is not None
                                    else f"; the relay exited (status {relay.exit_code})"))
        caught_up(hog, bounds, pushed, "the client")  # a relay that never reads blocks the send too


# --- speed and chaining -----------------------------------------------------------------

THROUGHPUT_SIZE = 16 * 1024 * 1024


@case("relay.throughput", f"{THROUGHPUT_SIZE >> 20} MiB go through the relay (to an echo server) and back "
      "within the throughput bound: the relay does not throttle.", **RELAY, level=SHOULD,
      defect="a relay slowed down on purpose (sleeping per byte); nothing is lost and nothing hangs",
      budget=4.0)  # 16 MiB through the relay and back: 0.7-1 s
def test_relay_throughput(impl, endpoint, bounds):
    payload = pseudo_random(16, THROUGHPUT_SIZE)
    # The exchange gives up at the throughput bound rather than the general exchange bound.
    within = dataclasses.replace(bounds, exchange=bounds.throughput)
    with connect(endpoint, bounds) as sock:
        out = exchange(sock, chunked(payload, [1 << 20]), count=len(payload), bounds=within, matching=payload)
    if out.received == payload[: len(out.received)] and (out.ended != COMPLETE or out.elapsed > bounds.throughput):
        observe("rate", mib_per_s=len(out.received) / 2**20 / max(out.elapsed, 1e-9))
    require(out.received == payload and out.ended == COMPLETE and out.elapsed <= bounds.throughput,
            expected=f"all {THROUGHPUT_SIZE >> 20} MiB back within {bounds.throughput:g} s",
            observed=lambda: f"{out.describe()} after {out.elapsed:.2f} s: "
                             f"{len(out.received) / 2**20:,.1f} MiB came back "
                             f"({len(out.received) / 2**20 / max(out.elapsed, 1e-9):,.2f} MiB/s)"
                             + ("" if out.received == payload[: len(out.received)]
                                else "\n" + describe_stream(payload, out.received)))


CHAIN_SIZE = 1024 * 1024


@case("relay.chain", "A relay in front of another relay of the same implementation (relay -> relay -> "
      f"echo) behaves like echo: binary data comes back byte-exact, and after the client's half-close "
      f"every byte ({CHAIN_SIZE >> 20} MiB) comes back, then EOF.", **OWN_RELAY, guards=DATA,
      defect="a relay that only works in front of a real echo server (half-close or EOF lost between relays)",
      delayed_upstream=True,
      # 2 x 1 MiB through two relays and the delay line (0.1 s a chunk): 0.6-1 s (the second
      # relay's start is not counted).
      budget=6.0)
def test_relay_chain(impl, launch, endpoint, bounds):
    second = launch(upstream=endpoint)  # endpoint: a relay of impl in front of an echo server
    rng = random.Random(4)
    binary = bytes(range(256)) * 64 + rng.randbytes(CHAIN_SIZE - 256 * 64)
    roundtrip(second.address, bounds, chunked(binary, [1 << 16]), half_close=False, who="the client of the chain")
    roundtrip(second.address, bounds, chunked(rng.randbytes(CHAIN_SIZE), [1 << 16]), half_close=True,
               who="the client of the chain (half-closing)")
