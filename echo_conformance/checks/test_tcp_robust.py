"""Robustness and resources: resets, slow readers, backpressure, churn and scale."""

from __future__ import annotations

import random

from .._cases import case, require
from .._client import COMPLETE, abort, chunked, connect, exchange, fill_without_reading, gather
from .._diff import describe_stream
from .._expect import roundtrip
from .._process import settle, snapshot

MiB = 1 << 20


# --- resets ------------------------------------------------------------------------------

@case("tcp.robust.reset-midstream", "A client that resets its connection while the server still has "
      "echo data for it does not stop the server serving other and new clients.")
def test_tcp_robust_reset_midstream(impl, endpoint, bounds):
    with connect(endpoint, bounds) as bystander:
        for _ in range(5):
            sock = connect(endpoint, bounds)
            fill_without_reading(sock, limit=4 * MiB, settle=0.05, bounds=bounds)
            abort(sock)
        payload = b"bystander"
        out = exchange(bystander, [payload], expect=len(payload), bounds=bounds)
    require(out.received == payload and out.ended == COMPLETE,
            expected="a client connected throughout is still echoed after 5 others reset mid-stream",
            observed=lambda: f"{describe_stream(payload, out.received, who='the bystander')}; {out.describe()}")
    roundtrip(endpoint, bounds, [b"are you still there?"], who="a new client after 5 others reset mid-stream")


@case("tcp.robust.reset-on-connect", "Clients that reset their connection right after connecting do not "
      "stop the server serving new clients.")
def test_tcp_robust_reset_on_connect(impl, endpoint, bounds):
    for _ in range(20):
        abort(connect(endpoint, bounds))
    roundtrip(endpoint, bounds, [b"are you still there?"], who="a new client after 20 resets on connect")


# --- slow readers and backpressure ---------------------------------------------------------

SLOW_READER_SIZE = 16 * MiB
#: A sender counts as blocked once its sends make no progress for this long.
SETTLE = 0.3


@case("tcp.robust.slow-reader", "A client that stops reading until the server's buffers fill, then reads, "
      "receives every byte exactly (a server that ignores send()'s count or EAGAIN loses data here).")
def test_tcp_robust_slow_reader(impl, endpoint, bounds):
    payload = random.Random(7).randbytes(SLOW_READER_SIZE)
    with connect(endpoint, bounds) as sock:
        pushed = fill_without_reading(sock, limit=len(payload) // 2, settle=SETTLE, bounds=bounds,
                                      data=payload)
        rest = chunked(payload[pushed:], [MiB])
        out = exchange(sock, rest, expect=len(payload), bounds=bounds)
    require(out.received == payload and out.ended == COMPLETE,
            expected=f"all {len(payload):,} bytes back after a pause with {pushed:,} bytes pushed unread",
            observed=lambda: f"{describe_stream(payload, out.received)}; {out.describe()}")


#: How much a client that never reads may push before its send blocks.  Loopback socket
#: buffers can hold up to ~40 MiB across the two connections' four buffers (Linux
#: tcp_rmem max 32 MiB, tcp_wmem max 4 MiB), plus the server's own high-water mark.
PUSH_BOUND = 64 * MiB
#: How much the check tries to push: a server without backpressure takes it all.
PUSH_TRY = 256 * MiB
#: How much the server's process tree may grow meanwhile.
RSS_BOUND = 64 * MiB


@case("tcp.robust.backpressure", f"A client that sends without reading is stopped (its send blocks) "
      f"after at most {PUSH_BOUND >> 20} MiB: the server does not buffer without bound.")
def test_tcp_robust_backpressure(impl, endpoint, bounds):
    with connect(endpoint, bounds) as sock:
        pushed = fill_without_reading(sock, limit=PUSH_TRY, settle=SETTLE, bounds=bounds)
    require(pushed <= PUSH_BOUND,
            expected=f"the client's send blocks after at most {PUSH_BOUND:,} bytes",
            observed=f"it pushed {pushed:,} bytes without reading"
                     + (" (everything it tried: no backpressure at all)" if pushed >= PUSH_TRY else ""))


@case("tcp.resources.memory", f"The server's memory grows by at most {RSS_BOUND >> 20} MiB while a "
      f"client sends without reading.", needs_process=True, fresh_server=True)
def test_tcp_resources_memory(impl, launch, bounds):
    server = launch()
    before = snapshot(server.pid)
    with connect(server.address, bounds) as sock:
        pushed = fill_without_reading(sock, limit=PUSH_TRY, settle=SETTLE, bounds=bounds)
        during = snapshot(server.pid)
    growth = during.rss - before.rss
    require(growth <= RSS_BOUND,
            expected=f"the server tree's RSS grows by at most {RSS_BOUND >> 20} MiB",
            observed=f"it grew by {growth / MiB:.1f} MiB ({before.describe()} -> {during.describe()}) "
                     f"while the client pushed {pushed:,} bytes unread")


# --- churn and scale -------------------------------------------------------------------------

CHURN = 1000
#: Every n-th churn cycle ends with a reset instead of an orderly close.
RESET_EVERY = 4


@case("tcp.resources.churn", f"After {CHURN:,} connect/echo/close cycles (every {RESET_EVERY}th "
      f"reset), the server's fds, threads and processes return to baseline and no child is left a zombie.",
      needs_process=True)
def test_tcp_resources_churn(impl, launch, bounds):
    server = launch()
    for _ in range(3):  # warm up: lazily created pools and caches are not leaks
        with connect(server.address, bounds) as sock:
            exchange(sock, [b"warm"], expect=4, bounds=bounds)
    baseline = settle(server.pid, snapshot(server.pid), bounds.release)  # warm-up children reaped
    require(baseline is not None, expected="the server runs after 3 warm-up connections",
            observed=f"it exited (status {server.exit_code})")
    for i in range(CHURN):
        with connect(server.address, bounds) as sock:
            sock.sendall(b"churn")
            got = _recv_exactly(sock, 5)
            if i % RESET_EVERY == 0:
                abort(sock)
        require(got == b"churn", expected="every churn cycle is echoed", observed=f"cycle {i}: {got!r}")
    after = settle(server.pid, baseline, bounds.release)
    require(after is not None and after.back_to(baseline),
            expected=f"back to the baseline ({baseline.describe()}) within {bounds.release:g} s",
            observed=lambda: f"after {CHURN:,} cycles: "
                             + (after.describe() if after else f"the server exited (status {server.exit_code})"))


def _recv_exactly(sock, n: int) -> bytes:
    """Blocking reads (the socket's timeout is the progress bound) until n bytes or EOF."""
    data = b""
    try:
        while len(data) < n and (chunk := sock.recv(n - len(data))):
            data += chunk
    except OSError:
        pass
    return data


SCALE = 1100


@case("tcp.scale.connections", f"A concurrent server holds {SCALE:,} connections open at once (more than "
      f"select()'s FD_SETSIZE of 1024), or the capacity it declares, and the newest still echo.",
      models=("concurrent",))
def test_tcp_scale_connections(impl, endpoint, bounds):
    count = min(SCALE, impl.capacity or SCALE)
    socks = []
    try:
        for _ in range(count):
            socks.append(connect(endpoint, bounds))
        newest = socks[-16:]
        first = count - len(newest)
        payloads = [f"connection {first + i}".encode() for i in range(len(newest))]
        for sock, payload in zip(newest, payloads):
            sock.sendall(payload)
        got = gather(newest, [len(p) for p in payloads], within=bounds.crowd)
    except OSError as exc:
        require(False, expected=f"{count:,} connections accepted",
                observed=f"connection {len(socks) + 1} failed: {exc}")
    finally:
        for sock in socks:
            sock.close()
    wrong = [i for i, (p, g) in enumerate(zip(payloads, got)) if p != g]
    require(not wrong, expected=f"the {len(newest)} newest of {count:,} open connections are echoed",
            observed=lambda: f"{len(wrong)} of them were not; e.g. "
                             + describe_stream(payloads[wrong[0]], got[wrong[0]], who=f"connection {first + wrong[0]}"))
