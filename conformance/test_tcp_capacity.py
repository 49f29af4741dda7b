"""Fixed capacity as a promise, both ways.

A server with a fixed pool (N pre-started threads or processes, each serving one client at a
time) declares ``capacity = N``.  It must serve N clients at once (``tcp.scale.connections``
opens that many), and client N+1 must wait its turn: it is neither refused nor dropped, and
as soon as one of the N leaves it is served, with the bytes it sent while waiting echoed in
order.
"""

from __future__ import annotations

import dataclasses

from echo_conformance.check import (COMPLETE, DATA, EOF, PROMISE, RESET, case, connect, describe_stream, exchange,
                                    gather, listen_quietly, observe, require, step)

#: On a server of their own: a client an earlier check left stuck would hold one of the slots.
#: Each occupies the capacity, then waits the serial window: 0.6-0.8 s, 1.8 s loaded.
CAPACITY = dict(models=("concurrent",), needs_capacity=True, fresh_server=True, budget=3.0)


def _occupy(endpoint, bounds, count: int) -> list:
    """``count`` clients, each echoed once (so each holds one of the server's workers)."""
    socks = []
    try:
        for i in range(count):
            with step(f"connecting client {i + 1} of the {count} the capacity promises"):
                socks.append(connect(endpoint, bounds))
        payloads = [f"client {i} holds a worker".encode() for i in range(count)]
        for sock, payload in zip(socks, payloads):
            sock.sendall(payload)
        got = gather(socks, [len(p) for p in payloads], within=bounds.crowd, matching=payloads)
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    wrong = [i for i, (p, g) in enumerate(zip(payloads, got)) if p != g]
    if wrong:
        observe("crowd-served", clients=count, served=count - len(wrong), later=_echoed_later(socks, got, bounds))
        for sock in socks:
            sock.close()
    require(not wrong, expected=f"all {count} clients of the declared capacity are echoed at once",
            observed=lambda: f"{len(wrong)} of them were not (a pool smaller than declared?); first: "
                             + describe_stream(payloads[wrong[0]], got[wrong[0]], who=f"client {wrong[0]}"))
    return socks


def _echoed_later(socks, got: list[bytes], bounds) -> int:
    """Evidence for the diagnosis: how many of the clients that got nothing back have a later
    message echoed (a worker serves them; what they sent first was lost)."""
    silent = [sock for sock, g in zip(socks, got) if not g]
    probe = b"and later?"
    try:
        for sock in silent:
            sock.sendall(probe)
        back = gather(silent, [len(probe)] * len(silent), within=bounds.responsive / 2,
                      matching=[probe] * len(silent))
    except OSError:
        return 0
    return sum(b == probe for b in back)


@case("tcp.capacity.surplus-waits", "With as many clients connected as its declared capacity, the next "
      "client is neither refused, closed nor reset: it waits its turn.", **CAPACITY, guards=PROMISE,
      defect="a pool that turns away the client it has no worker for (closes or resets it)")
def test_tcp_capacity_surplus_waits(impl, endpoint, bounds):
    held = _occupy(endpoint, bounds, impl.capacity)
    try:
        with step(f"connecting client {impl.capacity + 1}, one more than the capacity"):
            extra = connect(endpoint, bounds)
        with extra:
            extra.sendall(b"waiting")
            early = listen_quietly(extra, bounds.serial_quiet)
    finally:
        for sock in held:
            sock.close()
    require(early.ended not in (EOF, RESET),
            expected=f"client {impl.capacity + 1} stays connected for {bounds.serial_quiet:g} s while all "
                     f"{impl.capacity} workers are busy (being served at once is fine too)",
            observed=lambda: f"{early.describe()} after {early.elapsed:.3f} s"
                             + (f", having received {early.received!r}" if early.received else ""))


@case("tcp.capacity.surplus-served", "Once one of the clients of its declared capacity leaves, the waiting "
      "client is served: it receives every byte it sent while waiting, then the rest, in order.",
      **CAPACITY, guards=DATA,
      defect="a pool that loses what a waiting client sent (or never serves it)")
def test_tcp_capacity_surplus_served(impl, endpoint, bounds):
    while_waiting, after = b"sent while waiting; ", b"sent once served"
    held = _occupy(endpoint, bounds, impl.capacity)
    try:
        with step(f"connecting client {impl.capacity + 1}, one more than the capacity"):
            extra = connect(endpoint, bounds)
        with extra:
            extra.sendall(while_waiting)
            # The server's acceptor gets the time it needs to turn the client away (as
            # tcp.capacity.surplus-waits allows it) before a worker frees up: otherwise a pool
            # that sheds the surplus passes whenever its acceptor runs late.
            early = listen_quietly(extra, bounds.serial_quiet)
            if early.ended in (EOF, RESET):
                out = early
            else:
                held.pop(0).close()  # a worker becomes free
                out = exchange(extra, [after], count=len(while_waiting + after) - len(early.received),
                               bounds=bounds, matching=(while_waiting + after)[len(early.received):])
                out = dataclasses.replace(out, received=early.received + out.received)
                if not out.received and out.ended not in (EOF, RESET):
                    observe("echoed-later", clients=1, later=_echoed_later([extra], [b""], bounds))
    finally:
        for sock in held:
            sock.close()
    expected = while_waiting + after
    require(out.received == expected and out.ended == COMPLETE,
            expected=f"after one of the {impl.capacity} leaves, client {impl.capacity + 1} receives "
                     f"{expected!r}",
            observed=lambda: f"{describe_stream(expected, out.received, who=f'client {impl.capacity + 1}')}; "
                             f"{out.describe()} after {out.elapsed:.2f} s")
