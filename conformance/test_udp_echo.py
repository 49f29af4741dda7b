"""UDP echo (RFC 862): every datagram answered with exactly its data, to its sender.

UDP may lose a datagram even on loopback, so every check here resends an unanswered datagram
a bounded number of times before calling it lost, and reports a wrong answer (different
data, a merged or split datagram, another peer's datagram) as wrong at once.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from hypothesis import given, strategies as st

from echo_conformance.check import (ANSWERED, HANG, LOST, MAX_IPV4, MISDELIVERY, PACE, RFC862, TRIES, CheckBudget,
                                    ask, case, collect, multiset_difference, observe, require, size_list, udp_socket)

RFC = 'RFC 862: "When a datagram is received, the data from it is sent back in an answering datagram."'
UDP = dict(transport="udp", kinds=("echo",))


def _loss_window(bounds, connections: int) -> float:
    """A UDP case's budget: a datagram is called lost only after ``TRIES`` sends over ``TRIES *
    udp_answer`` (2.5 s), and a case may need that once, for a datagram the kernel dropped.  A
    correct server needs 0.2-0.9 s."""
    return TRIES * bounds.udp_answer


def _answered(endpoint, bounds, data: bytes, budget: CheckBudget, who: str = "the client") -> None:
    wait, tries = budget.wait(bounds.udp_answer), budget.tries(TRIES)
    with udp_socket(endpoint) as sock:
        answer = ask(sock, endpoint, data, wait=wait, tries=tries)
    if answer.verdict == LOST:
        budget.ran_out()
    require(answer.verdict == ANSWERED,
            expected=f"{who} gets an answer holding exactly its {len(data):,}-byte datagram "
                     f"(sent again while unanswered, for up to {tries * wait:g} s, in case of loss)",
            observed=lambda: answer.describe(who))


@dataclass(frozen=True)
class Datagram:
    """A large datagram described compactly (so a failing example prints short)."""

    size: int
    pattern: str = "random"
    seed: int = 0

    def build(self) -> bytes:
        if self.pattern == "random":
            return random.Random(self.seed).randbytes(self.size)
        if self.pattern == "every-byte":
            return (bytes(range(256)) * (self.size // 256 + 1))[: self.size]
        return bytes([int(self.pattern, 16)]) * self.size


@case("udp.echo.exact", f"Every datagram (any contents, 0 to 65,507 bytes) is answered with a datagram "
      f"holding exactly its data, sent to the address it came from. {RFC}", **UDP, guards=RFC862,
      defect="datagrams truncated, altered or left unanswered", budget=_loss_window)
@given(payload=st.binary(max_size=512)
       | st.builds(Datagram, st.integers(0, MAX_IPV4), st.just("random"), st.integers(0, 2**32))
       | st.builds(Datagram, st.sampled_from([0, 1, 4096, 4097, 65_000, MAX_IPV4]),
                   st.sampled_from(["every-byte", "00", "ff", "0a"])))
def test_udp_echo_exact(impl, endpoint, bounds, check_budget, payload):
    with check_budget.example(payload):
        _answered(endpoint, bounds, payload if isinstance(payload, bytes) else payload.build(), check_budget)


SIZES = (0, 1, 512, 1472, 8192, MAX_IPV4)


@case("udp.echo.sizes", "Datagrams of 0, 1, 512, 1,472 (a full Ethernet frame), 8,192 and 65,507 bytes "
      "(the IPv4 maximum) are each answered whole: no truncation, no refusal of the empty datagram.", **UDP,
      guards=RFC862, defect="a receive buffer smaller than the datagram (truncation), or no answer to an empty one",
      budget=_loss_window)
def test_udp_echo_sizes(impl, endpoint, bounds, check_budget):
    rng = random.Random(862)
    failures = []
    with udp_socket(endpoint) as sock:
        for size in SIZES:
            # After a first failure the verdict is known: the other sizes are tried once, briefly.
            answer = ask(sock, endpoint, rng.randbytes(size), wait=check_budget.wait(bounds.udp_answer),
                         tries=check_budget.tries(TRIES))
            if answer.verdict != ANSWERED:
                failures.append(answer)
                check_budget.fail()
    require(not failures,
            expected=f"every datagram of {', '.join(f'{s:,}' for s in SIZES)} bytes answered whole "
                     f"(sent again while unanswered, for up to {TRIES * bounds.udp_answer:g} s, in case of loss)",
            observed=lambda: f"{len(failures)} of {len(SIZES)} sizes failed"
                             + (f" (after the first, each size was awaited only {bounds.confirm:g} s)"
                                if len(failures) > 1 else "") + ":\n"
                             + "\n".join(a.describe(f"the {len(a.sent):,}-byte datagram") for a in failures))


BOUNDARY_SIZES = (1, 1472, 17, 4000, 512, 9000, 2, 300, 1, 1400, 64, 2000)


@case("udp.echo.boundaries", f"Datagrams sent back to back come back as as many datagrams of the same "
      f"sizes: each answered on its own, never merged with another or split (in any order). {RFC}", **UDP,
      guards=RFC862, defect="UDP treated as a stream: datagrams merged, split or dropped", budget=_loss_window)
def test_udp_echo_boundaries(impl, endpoint, bounds):
    rng = random.Random(7)
    for attempt in range(1, TRIES + 1):
        # A distinct first byte each, so every answer can be matched to the datagram it echoes.
        sent = [bytes([attempt * 16 + i]) + rng.randbytes(n - 1) for i, n in enumerate(BOUNDARY_SIZES)]
        with udp_socket(endpoint, rcvbuf=1 << 20) as sock:
            for datagram in sent:
                sock.sendto(datagram, (endpoint.host, endpoint.port))
            got = collect([sock], [len(sent)], within=bounds.udp_answer)[0]
        missing, unexpected = multiset_difference(sent, got)
        for shape in _shapes(sent, list(unexpected.elements())):
            observe("datagram-shape", shape=shape)
        require(not unexpected,
                expected=f"{len(sent)} answers of sizes {size_list(sent)} (in any order), each equal to "
                         "one datagram sent",
                observed=lambda: f"wrong answers (try {attempt}): {len(got)} datagram(s) came back, of "
                                 f"sizes {size_list(got)}; {sum(unexpected.values())} of them equal no "
                                 f"datagram sent (sizes {size_list(unexpected.elements())}): "
                                 + _merged_or_split(sent, list(unexpected.elements())))
        if not missing:
            return
    observe("datagrams-lost", what=f"{sum(missing.values())} of {len(sent)} datagrams sent back to back, "
                                   f"{TRIES} times over")
    require(False,
            expected=f"{len(sent)} answers of sizes {size_list(sent)}",
            observed=f"lost: after {TRIES} tries (each {bounds.udp_answer:g} s) the last try still got "
                     f"only {len(got)} answers, all correct; no answer to the datagrams of sizes "
                     f"{size_list(missing.elements())}")


def _shapes(sent: list[bytes], wrong: list[bytes]) -> list[str]:
    """The likely defect of each wrong answer: merged, split (or truncated), or foreign (the
    first byte of every datagram sent is distinct, so an answer that starts like one of them
    belongs to it)."""
    shapes = []
    for w in wrong:
        first = next((s for s in sent if s and w[:1] == s[:1]), None)
        if first is not None and len(w) > len(first) and w.startswith(first):
            shapes.append("merged")
        elif first is not None and len(w) < len(first) and first.startswith(w):
            shapes.append("split")
        else:
            shapes.append("foreign")
    return shapes


_SHAPE_WORDS = {"merged": "the {n:,}-byte datagram merged with what followed it",
                "split": "the first part of the {n:,}-byte datagram (split or truncated)",
                "foreign": "data that is not any datagram sent"}


def _merged_or_split(sent: list[bytes], wrong: list[bytes]) -> str:
    """Name the likely defect of each wrong answer (see ``_shapes``)."""
    notes = []
    for w, shape in zip(wrong[:3], _shapes(sent, wrong[:3])):
        first = next((s for s in sent if s and w[:1] == s[:1]), b"")
        notes.append(f"{len(w):,} bytes: " + _SHAPE_WORDS[shape].format(n=len(first)))
    return "; ".join(notes)


PEERS = 16
PER_PEER = 4


@case("udp.echo.peers", f"{PEERS} peers (separate sockets) sending at the same time get only their own "
      "datagrams back: no answer goes to another peer (losses are judged by the single-peer cases: among "
      "peers sending at once, the server's timing decides them, and no client can force it).",
      **UDP, guards=MISDELIVERY,
      defect="answers sent to the wrong peer (one shared reply address)",
      # It judges where answers go, not losses: a lossy server spends every try, and 16 peers send.
      budget=lambda bounds, connections: _loss_window(bounds, connections) + 1.0 * bounds.scale)
def test_udp_echo_peers(impl, endpoint, bounds):
    rng = random.Random(16)
    socks = [udp_socket(endpoint, rcvbuf=1 << 20) for _ in range(PEERS)]
    try:
        # Each datagram is tagged with its peer and index, so a misdirected answer is named.
        sent = [[f"peer {p:02d} datagram {k} ".encode() + rng.randbytes(rng.randrange(1, 1400))
                 for k in range(PER_PEER)] for p in range(PEERS)]
        owner = {d: p for p, ds in enumerate(sent) for d in ds}
        pending = [list(ds) for ds in sent]
        answered: list[set[bytes]] = [set() for _ in range(PEERS)]
        for attempt in range(1, TRIES + 1):
            for k in range(PER_PEER):  # interleaved: all peers at once
                for p in range(PEERS):
                    if k < len(pending[p]):
                        socks[p].sendto(pending[p][k], (endpoint.host, endpoint.port))
            got = collect(socks, [len(ds) for ds in pending], within=bounds.udp_answer)
            wrong = [(p, d) for p in range(PEERS) for d in got[p] if d not in sent[p]]
            if wrong:
                p, d = wrong[0]
                observe("misdelivered", what=f"peer {p} received " + (f"peer {owner[d]}'s datagram" if d in owner
                                                                      else f"{len(d):,} bytes that no peer sent"),
                        foreign=d not in owner)
                for shape in _shapes(list(owner), [d for _, d in wrong if d not in owner]):
                    observe("datagram-shape", shape=shape)
            require(not wrong,
                    expected=f"each of {PEERS} peers receives only answers to its own datagrams",
                    observed=lambda: f"wrong answers (try {attempt}): {len(wrong)} answer(s) reached the "
                                     "wrong peer, e.g. " + "; ".join(
                                         f"peer {p} received "
                                         + (f"peer {owner[d]}'s datagram" if d in owner
                                            else f"{len(d):,} bytes that no peer sent")
                                         for p, d in wrong[:4]))
            for p in range(PEERS):
                answered[p].update(got[p])
                pending[p] = [d for d in sent[p] if d not in answered[p]]
            if not any(pending):
                return
    finally:
        for sock in socks:
            sock.close()
    require(any(answered),
            expected=f"answers to some of the {PEERS * PER_PEER} datagrams, to see whom they reach",
            observed=f"no answer at all after {TRIES} tries ({bounds.udp_answer:g} s each)")


BURST = 2000
BURST_SIZE = 512
#: The burst's first datagrams go one at a time, ``PACE`` apart, so that the server wakes for
#: each: a rate limit that counts wake-ups (xinetd's cps) trips in every run, not only when the
#: scheduler lets the server wake often enough (it drains what queued while it slept).
BURST_LEAD = 100


@case("udp.echo.burst", f"While one peer sends a burst of {BURST:,} datagrams and reads none of the "
      "answers, another peer's datagram is still answered within the responsiveness bound.", **UDP,
      guards=HANG, defect="one peer's burst starves every other peer (a global rate limit, a blocking loop)",
      budget=_loss_window)
def test_udp_echo_burst(impl, endpoint, bounds):
    data = b"am I answered during the burst?"
    with udp_socket(endpoint) as hog, udp_socket(endpoint) as other:
        hog.settimeout(bounds.progress)
        sent, start = 0, time.monotonic()
        block = b"\x5a" * BURST_SIZE
        try:
            while sent < BURST and time.monotonic() - start < bounds.progress:
                hog.sendto(block, (endpoint.host, endpoint.port))
                sent += 1
                if sent <= BURST_LEAD:
                    time.sleep(PACE)
        except OSError:  # a full send buffer (timeout, ENOBUFS): the burst is as big as it gets
            pass
        answer = ask(other, endpoint, data, wait=bounds.responsive / TRIES)
    if answer.verdict != ANSWERED or answer.elapsed > bounds.responsive:
        observe("burst", sent=sent, lost=answer.verdict != ANSWERED, took=answer.elapsed)
    require(answer.verdict == ANSWERED and answer.elapsed <= bounds.responsive,
            expected=f"the other peer's datagram answered within {bounds.responsive:g} s "
                     "(sent again while unanswered, in case of loss)",
            observed=lambda: (f"after a burst of {sent:,} datagrams from one peer: "
                              + (answer.describe("the other peer") if answer.verdict != ANSWERED
                                 else f"the answer took {answer.elapsed:.2f} s")))
