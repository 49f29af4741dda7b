"""Robustness and resources: resets, slow readers, backpressure, churn and scale."""

from __future__ import annotations

from echo_conformance.check import (COMPLETE, DATA, DEFAULT_CONNECTIONS, GROWTH, HANG, LEAK_PER_CONNECTION, PROMISE,
                                    MiB, READ_BACK, Pace, abort, burst, case, caught_up, chunked, connect, describe_stream,
                                    exchange, fill_without_reading, gather, leak_allowance, memory, observe,
                                    pseudo_random, require, roundtrip, settle, steady, step)


# --- resets ------------------------------------------------------------------------------

#: What each client of the first round sends in one go just before its reset: less than
#: loopback's buffers take, so the reset lands while the server still echoes freely, and its
#: next writes fail (ECONNRESET, then EPIPE, whose SIGPIPE kills a server that does not ignore
#: it).  This round goes first: after clients that fill the buffers a server more often lives.
RESET_BURST = MiB
RESET_BURSTS = 10


@case("tcp.robust.reset-midstream", "A client that resets its connection while the server still has "
      "echo data for it does not stop the server serving other and new clients.", guards=HANG,
      defect="a server that dies or stops serving when a write fails with ECONNRESET or EPIPE")
def test_tcp_robust_reset_midstream(impl, endpoint, bounds):
    with connect(endpoint, bounds) as bystander:
        for _ in range(RESET_BURSTS):  # reset while the server still echoes freely
            sock = connect(endpoint, bounds)
            burst(sock, RESET_BURST, bounds=bounds)
            abort(sock)
        for _ in range(5):  # reset with the server's writes backed up
            sock = connect(endpoint, bounds)
            fill_without_reading(sock, limit=4 * MiB, settle=bounds.reset_settle, bounds=bounds)
            abort(sock)
        payload = b"bystander"
        out = exchange(bystander, [payload], count=len(payload), bounds=bounds, matching=payload)
    require(out.received == payload and out.ended == COMPLETE,
            expected=f"a client connected throughout is still echoed after {5 + RESET_BURSTS} others "
                     "reset mid-stream",
            observed=lambda: f"{describe_stream(payload, out.received, who='the bystander')}\n"
                             f"  how it ended: {out.describe()}")
    roundtrip(endpoint, bounds, [b"are you still there?"],
              who=f"a new client after {5 + RESET_BURSTS} others reset mid-stream")


@case("tcp.robust.reset-on-connect", "Clients that reset their connection right after connecting do not "
      "stop the server serving new clients.", guards=HANG,
      defect="a server that dies when accept() or the first recv() reports a reset")
def test_tcp_robust_reset_on_connect(impl, endpoint, bounds):
    for _ in range(20):
        abort(connect(endpoint, bounds))
    roundtrip(endpoint, bounds, [b"are you still there?"], who="a new client after 20 resets on connect")


# --- slow readers and backpressure ---------------------------------------------------------

#: What the slow reader's connection carries: half is pushed unread (or until the server's
#: buffers are full), the rest is sent while reading.  A server whose relaying between its own
#: pipes or buffers loses its balance under a steady stream deadlocks while the rest flows: the
#: more flows, the surer (Ncat's --exec caretaker in every run at 32 MiB).
SLOW_READER_SIZE = 32 * MiB


@case("tcp.robust.slow-reader", "A client that stops reading until the server's buffers fill, then reads, "
      "receives every byte exactly (a server that ignores send()'s count or EAGAIN loses data here).",
      guards=DATA, defect="data dropped when send() is partial or fails with EAGAIN",
      budget=4.0)  # 32 MiB, half pushed unread (paced), then read: 0.55-0.67 s, 0.86 s loaded
def test_tcp_robust_slow_reader(impl, endpoint, bounds):
    payload = pseudo_random(7, SLOW_READER_SIZE)
    with connect(endpoint, bounds) as sock:
        pushed = fill_without_reading(sock, limit=len(payload) // 2, settle=bounds.push_settle, bounds=bounds,
                                      data=payload)
        rest = chunked(payload[pushed:], [MiB])
        out = exchange(sock, rest, count=len(payload), bounds=bounds, matching=payload)
    require(out.received == payload and out.ended == COMPLETE,
            expected=f"all {len(payload):,} bytes back after a pause with {pushed:,} bytes pushed unread",
            observed=lambda: f"{describe_stream(payload, out.received)}\n"
                             f"  how it ended: {out.describe()}")


#: How much a client that never reads may push before its send blocks.  Loopback socket
#: buffers can hold up to ~40 MiB across the two connections' four buffers (Linux
#: tcp_rmem max 32 MiB, tcp_wmem max 4 MiB), plus the server's own high-water mark.
PUSH_BOUND = 64 * MiB
#: How much the check tries to push: a server without backpressure takes it all.
PUSH_TRY = 256 * MiB
#: How much the server's process tree may grow meanwhile.
MEMORY_BOUND = 64 * MiB


@case("tcp.robust.backpressure", f"A client that sends without reading is stopped (its send blocks) "
      f"after at most {PUSH_BOUND >> 20} MiB, and once it reads it gets all of it back: the server does not "
      "buffer without bound, and it stopped reading only until the client caught up.", guards=GROWTH,
      defect="echo buffered in the server without a limit for a client that does not read",
      # up to 256 MiB pushed until the send blocks (a 0.3 s settle): 0.5-0.9 s, 2 s loaded; then up to
      # PUSH_BOUND read back, at 20 MiB/s at worst
      budget=lambda bounds, connections: (2.5 + READ_BACK * PUSH_BOUND / MiB) * bounds.scale)
def test_tcp_robust_backpressure(impl, endpoint, bounds):
    with connect(endpoint, bounds) as sock:
        pushed = fill_without_reading(sock, limit=PUSH_TRY, settle=bounds.push_settle, bounds=bounds)
        require(pushed <= PUSH_BOUND,
                expected=f"the client's send blocks after at most {PUSH_BOUND:,} bytes",
                observed=f"it pushed {pushed:,} bytes without reading"
                         + (" (everything it tried: no backpressure at all)" if pushed >= PUSH_TRY else ""))
        caught_up(sock, bounds, pushed, "the client")  # a server that never reads blocks the send too


@case("tcp.resources.memory", f"The server's memory grows by at most {MEMORY_BOUND >> 20} MiB while a "
      f"client sends without reading.", guards=GROWTH, heavy=True,
      defect="memory that grows with what a non-reading client sends",
      budget=4.0)  # a warm-up, a settle window, up to 256 MiB pushed unread: 1 s, 1.8 s loaded
def test_tcp_resources_memory(impl, launch, bounds):
    server = launch()
    roundtrip(server.address, bounds, [b"warm-up"], who="a first client")  # lazily created runtime state
    # A server that forks its workers after it listens is done forking:
    steady(server.pid, bounds.release, bounds.steady_window)
    before = memory(server.pid)
    with connect(server.address, bounds) as sock:
        pushed = fill_without_reading(sock, limit=PUSH_TRY, settle=bounds.push_settle, bounds=bounds)
        during = memory(server.pid)
    growth = during - before
    if growth > MEMORY_BOUND:
        observe("memory", grew=growth, pushed=pushed, bound=MEMORY_BOUND)
    require(growth <= MEMORY_BOUND,
            expected=f"the server's memory (PSS, summed over its processes) grows by at most "
                     f"{MEMORY_BOUND >> 20} MiB",
            observed=f"it grew by {growth / MiB:.1f} MiB ({before / MiB:.1f} -> {during / MiB:.1f} MiB) "
                     f"while the client pushed {pushed:,} bytes unread")


# --- churn and scale -------------------------------------------------------------------------

#: Connect/echo/close cycles after the warm-up.  A leak of one descriptor, thread or child per
#: connection shows as 300 more (75 on the reset path alone), far beyond any pool a runtime
#: keeps; 1,000 cycles caught nothing more in the faulty catalogue and cost 3x the time.
CHURN = 300
#: Every n-th churn cycle ends with a reset instead of an orderly close.
RESET_EVERY = 4
#: Warm-up cycles (the same mix) before the baseline: runtimes create pollers, wake-up pipes
#: and worker pools lazily on their first connections and keep them; that is not a leak.
#: A leak grows with the work, so it shows after the churn that follows.
WARM_UP = 50
#: Each phase's cycles are paced (``Pace``): a first this many seconds, then each cycle within
#: ``CYCLE``.  A fork server needs 3-10 ms a cycle quiet, 30 ms with the machine loaded (a
#: super-server that forks and execs cat(1) per connection ran out of 6 s for 350 loaded): the
#: budget is the two phases' paces.
CHURN_START, CYCLE = 1.5, 0.03


def _churn(server, bounds, cycles: int, what: str) -> None:
    pace = Pace(CHURN_START * bounds.scale, CYCLE * bounds.scale, f"{what} cycles", cycles)
    for i in range(cycles):
        pace.keep(i)
        with step(f"{what}: cycle {i + 1} of {cycles}"), connect(server.address, bounds) as sock:
            out = exchange(sock, [b"churn"], matching=b"churn", bounds=bounds)
            if i % RESET_EVERY == 0:
                abort(sock)
        require(out.received == b"churn", expected="every churn cycle is echoed",
                observed=lambda: f"{what}, cycle {i}: {out.received!r}; {out.describe()}")


@case("tcp.resources.churn", f"After {CHURN:,} connect/echo/close cycles (every {RESET_EVERY}th reset), "
      f"following {WARM_UP} warm-up cycles, none of the server's counts of fds, threads, processes and "
      f"zombie children has grown by {leak_allowance(CHURN)} ({LEAK_PER_CONNECTION:g} per cycle) or more "
      "over its count after the warm-up: nothing grows with the work.", guards=GROWTH, heavy=True,
      defect="descriptors, threads or child processes leaked per connection (often on the reset path)",
      # the paces of the two phases (a fork server needs 0.9 s in all quiet, 3 s loaded)
      budget=lambda bounds, connections: (2 * CHURN_START + (WARM_UP + CHURN) * CYCLE) * bounds.scale)
def test_tcp_resources_churn(impl, launch, bounds):
    server = launch()
    _churn(server, bounds, WARM_UP, "warm-up")
    baseline = steady(server.pid, bounds.release, bounds.steady_window)
    require(baseline is not None, expected=f"the server runs after {WARM_UP} warm-up cycles",
            observed=f"it exited (status {server.exit_code})")
    _churn(server, bounds, CHURN, "churn")
    allowance = leak_allowance(CHURN)
    after = settle(server.pid, baseline, allowance, bounds.release, bounds.release_stall)
    if after is not None:
        for resource, grown in after.growth(baseline).items():
            if grown > allowance:
                observe("growth", resource=resource, before=baseline.count(resource),
                        after=after.count(resource), cycles=CHURN)
    require(after is not None and after.within(baseline, allowance),
            expected=f"within {bounds.release:g} s, no count more than {allowance} above its count after the "
                     f"warm-up ({baseline.describe()}): a leak grows with the {CHURN:,} cycles, a runtime's own "
                     "pools do not",
            observed=lambda: f"after {CHURN:,} more cycles: " + (
                f"{after.describe()}; grown: "
                + ", ".join(f"{grown} more {name}" for name, grown in after.growth(baseline).items())
                if after else f"the server exited (status {server.exit_code})"))


#: How many of the connections send and must be echoed: the newest (a server that fails at
#: a descriptor limit fails on those) and a spread of the others.
SCALE_ECHOED = 64
#: Connections are opened at a steady pace (``Pace``): a first this many seconds, then each
#: within ``SCALE_EACH`` (a fork server needs 2-14 ms; event loops 0.3-3 s for 10,000).
SCALE_START, SCALE_EACH = 5.0, 0.011


@case("tcp.scale.connections", f"A concurrent server holds the connections it declares ({DEFAULT_CONNECTIONS:,} by "
      f"default, more than select()'s FD_SETSIZE of 1024; a fixed pool, its capacity) open at once, "
      "and they are still echoed, the newest among them.",
      guards=PROMISE, defect="a concurrent server that dies or stops serving at select()'s 1,024 descriptors, "
      "or a pool smaller than it declares", models=("concurrent",), heavy=True,
      fresh_server=True,  # connections an earlier check left stuck would count against the limit
      # the pace of opening them (below): 17 s for the default, 1.7x the 10 s seen in CI
      budget=lambda bounds, connections: (SCALE_START + connections * SCALE_EACH) * bounds.scale)
def test_tcp_scale_connections(impl, endpoint, bounds):
    count = impl.held_connections
    within = bounds.crowd + count * bounds.crowd_each
    pace = Pace(SCALE_START * bounds.scale, SCALE_EACH * bounds.scale, "connections opened", count)
    socks = []
    try:
        for i in range(count):
            pace.keep(i)
            with step(f"opening connection {i + 1} of {count:,}"):
                try:
                    socks.append(connect(endpoint, bounds))
                except (ConnectionRefusedError, ConnectionResetError, TimeoutError) as exc:  # the server's doing
                    require(False, expected=f"{count:,} connections open at once",
                            observed=f"with {i:,} open, connection {i + 1} could not be opened: {exc}")
        chosen = sorted({*range(max(0, count - SCALE_ECHOED // 2), count),
                         *range(0, count, max(1, count // (SCALE_ECHOED // 2)))})
        payloads = {i: f"connection {i}".encode() for i in chosen}
        for i in chosen:
            with step(f"sending on connection {i + 1} of {count:,}"):
                socks[i].sendall(payloads[i])
        got = dict(zip(chosen, gather([socks[i] for i in chosen], [len(payloads[i]) for i in chosen],
                                      within=within, stall=bounds.crowd_stall, bounds=bounds,
                                      matching=[payloads[i] for i in chosen])))
    finally:
        for sock in socks:
            sock.close()
    wrong = [i for i in chosen if payloads[i] != got[i]]
    require(not wrong, expected=f"with {count:,} connections open, each of {len(chosen)} of them (the "
                                f"newest {SCALE_ECHOED // 2} and a spread of the rest) echoed within {within:g} s, "
                                f"one at least every {bounds.crowd_stall:g} s",
            observed=lambda: f"{len(wrong)} were not, e.g. "
                             + describe_stream(payloads[wrong[0]], got[wrong[0]], who=f"connection {wrong[0] + 1}"))
