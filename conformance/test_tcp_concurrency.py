"""The concurrency behaviour each implementation declares: serial servers make a second
client wait; concurrent ones never let one client hold up another."""

from __future__ import annotations

import time

from echo_conformance.check import (COMPLETE, DATA, PROMISE, STALLED, case, connect, describe_stream, exchange,
                                    fill_without_reading, gather, listen_quietly, observe, require, served, step)


# --- serial ------------------------------------------------------------------------------

@case("tcp.serial.second-waits", "A serial server serves one client at a time: while client 1 is "
      "connected, client 2 gets no echo.", models=("serial",), guards=PROMISE,
      defect="a server declared serial that serves clients concurrently",
      budget=2.5)  # the serial window (0.5 s) and two echoes: 0.5-0.9 s
def test_tcp_serial_second_waits(impl, endpoint, bounds):
    with connect(endpoint, bounds) as one:
        served(one, bounds, b"one", "client 1")
        with connect(endpoint, bounds) as two:
            two.sendall(b"two")
            early = listen_quietly(two, bounds.serial_quiet)
    require(early.received == b"" and early.ended == STALLED,
            expected=f"client 2 receives nothing for {bounds.serial_quiet:g} s while client 1 is "
                     "connected (the declared model is serial)",
            observed=lambda: f"client 2 received {early.received!r} ({early.describe()}) after "
                             f"{early.elapsed:.3f} s: the server serves clients concurrently")


@case("tcp.serial.served-in-order", "Once client 1 disconnects, the waiting client 2 is served and "
      "receives the echo of what it sent while waiting.", models=("serial",), guards=DATA,
      defect="a serial server that turns away or loses the data of the client waiting its turn")
def test_tcp_serial_served_in_order(impl, endpoint, bounds):
    waiting = b"sent while waiting"
    one = connect(endpoint, bounds)
    try:
        served(one, bounds, b"one", "client 1")
        with connect(endpoint, bounds) as two:
            two.sendall(waiting)
            one.close()
            out = exchange(two, [], count=len(waiting), bounds=bounds, matching=waiting)
    finally:
        one.close()
    require(out.received == waiting and out.ended == COMPLETE,
            expected=f"after client 1 disconnects, client 2 receives {waiting!r}",
            observed=lambda: f"{describe_stream(waiting, out.received, who='client 2')}\n"
                             f"  how it ended: {out.describe()}")


# --- concurrent --------------------------------------------------------------------------

MANY = 64


@case("tcp.concurrent.many", f"A concurrent server echoes {MANY} clients connected at the same time (one "
      "that declares a capacity: as many at once as it declares, group after group).",
      models=("concurrent",), guards=PROMISE,
      # A server of its own: connections earlier checks made would count against a rate limit.
      fresh_server=True,
      defect="a server declared concurrent that serves only some clients at a time",
      budget=5.0)  # 64 clients at once (a fork each): 0.02-0.2 s, 0.8 s loaded; a capacity serves them in groups
def test_tcp_concurrent_many(impl, endpoint, bounds):
    at_once = min(MANY, impl.capacity or MANY)
    payloads = [f"client {i:02d} says hello".encode() for i in range(MANY)]
    received: list[bytes] = []
    # In groups of `at_once` (one group unless a smaller capacity is declared): each group
    # connected at once must all be echoed within the progress bound, then leaves.  That a
    # client beyond the capacity waits its turn is what tcp.capacity.surplus-* check.
    for first in range(0, MANY, at_once):
        group = range(first, min(MANY, first + at_once))
        socks = []
        try:
            for i in group:
                with step(f"connecting client {i} of {MANY}"):
                    socks.append(connect(endpoint, bounds))
            time.sleep(bounds.crowd_accepted)  # all accepted before anyone sends
            for sock, i in zip(socks, group):
                try:
                    sock.sendall(payloads[i])
                except (ConnectionResetError, BrokenPipeError):
                    pass  # the server closed it: gather sees it closed, with nothing back
            got = gather(socks, [len(payloads[i]) for i in group], within=bounds.progress, bounds=bounds,
                         matching=[payloads[i] for i in group])
            received += got
            served_now = sum(g == payloads[i] for g, i in zip(got, group))
            if served_now < len(group):
                observe("crowd-served", clients=len(group), served=served_now,
                        late=_served_late(socks, got, [payloads[i] for i in group], bounds))
                _misdelivered(got, [payloads[i] for i in group])
        finally:
            for sock in socks:
                sock.close()
        if received[-len(group):] != payloads[first : first + len(group)]:
            break
    wrong = [i for i, (p, g) in enumerate(zip(payloads, received)) if p != g]
    promise = (f"all {MANY} simultaneously connected clients get their own echo within {bounds.progress:g} s"
               if at_once == MANY else
               f"each group of {at_once} (the declared capacity) simultaneously connected clients gets "
               f"its echo within {bounds.progress:g} s, {MANY} clients in all")
    require(not wrong, expected=promise,
            observed=lambda: f"{len(wrong)} of the {len(received)} tried did not (clients {_ranges(wrong)}); first: "
                             + describe_stream(payloads[wrong[0]], received[wrong[0]], who=f"client {wrong[0]}"))


def _served_late(socks, got: list[bytes], payloads: list[bytes], bounds) -> int:
    """Evidence for the diagnosis: how many of the clients not yet echoed get the rest of their
    echo a little later, all still connected (a slow server; a limited one serves none)."""
    short = [(sock, p, g) for sock, p, g in zip(socks, payloads, got) if g != p and p.startswith(g)]
    if not short:
        return 0
    rest = gather([sock for sock, _, _ in short], [len(p) - len(g) for _, p, g in short],
                  within=bounds.responsive / 2, bounds=bounds, matching=[p[len(g):] for _, p, g in short])
    return sum(r == p[len(g):] for r, (_, p, g) in zip(rest, short))


def _misdelivered(got: list[bytes], payloads: list[bytes]) -> None:
    """Evidence: a client that received another client's bytes."""
    mine = {p: i for i, p in enumerate(payloads)}
    for i, g in enumerate(got):
        if not g or payloads[i].startswith(g):
            continue  # its own echo, whole or in part
        other = next((mine[p] for p in payloads if mine[p] != i and (g.startswith(p) or p.startswith(g))), None)
        if other is not None:
            observe("misdelivered", what=f"client {i} received client {other}'s bytes")
            return


def _ranges(indices: list[int]) -> str:
    spans, start = [], None
    for i, k in enumerate(indices):
        if start is None:
            start = k
        if i + 1 == len(indices) or indices[i + 1] != k + 1:
            spans.append(f"{start}" if start == k else f"{start}-{k}")
            start = None
    return ", ".join(spans)


@case("tcp.concurrent.idle-client", "A connected client that sends nothing does not delay another "
      "client's echo.", models=("concurrent",), guards=PROMISE,
      defect="a silent client blocks everyone (a blocking recv in an event loop)",
      budget=lambda b, n: 1.5 * b.responsive + 0.5 * b.scale)  # the echo, then (the evidence) once the first left
def test_tcp_concurrent_idle_client(impl, endpoint, bounds):
    idle = connect(endpoint, bounds)  # stays idle
    with idle, connect(endpoint, bounds) as other:
        _served_beside(idle, other, bounds, "a silent client", "a second client (the first is idle)")


def _served_beside(first, other, bounds, what: str, who: str) -> None:
    """``other`` gets its echo within the responsiveness bound while ``first`` (``what``) is
    connected.  If not, the evidence says whether it was served as soon as ``first`` left (a
    server that serves one client at a time) or not even then."""
    payload = b"am I served?"
    out = exchange(other, [payload], matching=payload, bounds=bounds, stall=bounds.responsive)
    if out.received != payload or out.ended != COMPLETE:
        first.close()
        after = exchange(other, [], count=len(payload) - len(out.received), bounds=bounds,
                         stall=bounds.responsive / 2)  # a serial server serves it within milliseconds
        observe("blocked", by=what, waited=round(out.elapsed, 2),
                served_after=out.received + after.received == payload)
    require(out.received == payload and out.ended == COMPLETE and out.elapsed <= bounds.responsive,
            expected=f"{who} gets its echo within {bounds.responsive:g} s",
            observed=lambda: f"{describe_stream(payload, out.received, who=who)}; {out.describe()} "
                             f"after {out.elapsed:.2f} s")


#: How much the non-reading client may push; a server without backpressure takes it all.
FILL_LIMIT = 64 * 1024 * 1024


@case("tcp.concurrent.non-reading-client", "A client that sends without ever reading does not delay "
      "another client's echo (the server does not block on one client's full socket).",
      models=("concurrent",), guards=PROMISE,
      defect="a client that never reads blocks everyone (a blocking send in an event loop)",
      budget=lambda b, n: 1.5 * b.responsive + 0.5 * b.scale)  # as tcp.concurrent.idle-client's
def test_tcp_concurrent_non_reading_client(impl, endpoint, bounds):
    with connect(endpoint, bounds) as hog:
        pushed = fill_without_reading(hog, limit=FILL_LIMIT, settle=bounds.push_settle, bounds=bounds)
        with connect(endpoint, bounds) as other:
            _served_beside(hog, other, bounds, "a client that does not read",
                           f"a second client (the first pushed {pushed:,} bytes and reads nothing)")
