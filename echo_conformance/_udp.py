"""UDP client helpers: bounded retries that tell a lost datagram from a wrong answer.

UDP may drop a datagram even on loopback (a full socket buffer), so a datagram with no
answer is sent again, a bounded number of times, and only then reported as *lost*.  An
answer that arrives but differs from what was sent is *wrong* at once: retrying cannot make
a wrong answer right.  Every probe datagram a check sends is distinct, so an answer can be
told apart from the answer to another datagram or another peer.
"""

from __future__ import annotations

import selectors
import socket
import time
from collections import Counter
from dataclasses import dataclass, field

from . import _budget, _evidence, _wire
from ._diff import describe_stream
from ._outcomes import ANSWERED, LOST, WRONG  # how one datagram's exchange ended

#: The largest UDP payload over IPv4: 65,535 - 20 (IP header) - 8 (UDP header).
MAX_IPV4 = 65_507
#: Receive buffer for answers: larger than any datagram, so an oversized answer is seen whole.
RECV_SIZE = 65_536
#: A datagram without an answer counts as lost after ``TRIES * Bounds.udp_answer`` seconds,
#: sent again and again meanwhile (see :func:`resend_waits`).
TRIES = 5


def udp_socket(address, *, rcvbuf: int | None = None) -> socket.socket:
    """An unconnected UDP socket on the loopback address of ``address``'s family (unconnected,
    so an answer sent to the wrong address or from the wrong port is still seen)."""
    sock = _wire.TracedSocket(address.family, socket.SOCK_DGRAM)
    try:
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.bind(("::1" if address.family == socket.AF_INET6 else "127.0.0.1", 0))
        _wire.opened(sock, "peer")
    except BaseException:
        sock.close()
        raise
    return sock


@dataclass
class Answer:
    """How one datagram's exchange ended."""

    sent: bytes
    verdict: str
    tries: int
    elapsed: float
    got: bytes | None = None  # the (first) answer, if any
    source: tuple | None = None
    errors: list[str] = field(default_factory=list)
    cut: str = ""  # the case's time budget ran out before the loss window did

    def describe(self, who: str = "the client") -> str:
        if self.verdict == LOST and self.cut:
            return (f"lost: {who} got no answer to its {len(self.sent):,}-byte datagram, sent "
                    f"{self.tries} time(s) over {self.elapsed:.2f} s {self.cut}")
        if self.verdict == ANSWERED:
            return f"{who} got its {len(self.sent):,}-byte datagram back after {self.elapsed:.3f} s"
        if self.verdict == LOST:
            errs = f" (send errors: {'; '.join(self.errors)})" if self.errors else ""
            return (f"lost: {who} got no answer to its {len(self.sent):,}-byte datagram, sent "
                    f"{self.tries} time(s) over {self.elapsed:.2f} s{errs}")
        return (f"wrong answer (try {self.tries}, from {_addr(self.source)}): the answer datagram is not "
                f"the datagram sent\n{describe_stream(self.sent, self.got or b'', who=who)}")


def _addr(source) -> str:
    return f"{source[0]}:{source[1]}" if source else "?"


def resend_waits(wait: float, tries: int) -> list[float]:
    """How long each send of one datagram is awaited: a loss window of ``tries * wait``
    seconds in all, the first resend after ``wait / 5``, then twice as long each time (at most
    ``wait``).  A datagram lost once (a full buffer) costs a tenth of a second, not ``wait``;
    an answer to an earlier send that comes late still counts (every send is the same)."""
    window, waits, step = tries * wait, [], wait / 5
    while (left := window - sum(waits)) > 1e-9:
        waits.append(min(step, left))
        step = min(step * 2, wait)
    return waits


def ask(sock: socket.socket, address, data: bytes, *, wait: float, tries: int = TRIES) -> Answer:
    """Send ``data`` to ``address`` and wait for the answer; while nothing arrives, resend it
    (see :func:`resend_waits`) until ``tries * wait`` seconds have passed.  The first answer
    that arrives decides: equal to ``data`` (answered) or not (wrong)."""
    answer = _ask(sock, address, data, wait, tries)
    _wire.asked(sock, answer)
    _evidence.datagram(answer)
    return answer


def _ask(sock: socket.socket, address, data: bytes, wait: float, tries: int) -> Answer:
    start = time.monotonic()
    budget = _budget.current()
    errors: list[str] = []
    waits = resend_waits(wait, tries)
    for attempt, each in enumerate(waits, 1):
        if budget.expired("ask"):  # the case's deadline came before the loss window's end
            return Answer(data, LOST, attempt - 1, time.monotonic() - start, errors=errors, cut=budget.note())
        try:
            sock.sendto(data, (address.host, address.port))
        except OSError as exc:  # e.g. ECONNREFUSED from an earlier ICMP error
            errors.append(f"try {attempt}: {exc}")
        deadline = budget.until(time.monotonic() + each)
        while (left := deadline - time.monotonic()) > 0:
            sock.settimeout(left)
            try:
                got, source = sock.recvfrom(RECV_SIZE)
            except socket.timeout:
                break
            except OSError as exc:  # an ICMP error reported on this socket
                errors.append(f"try {attempt}: {exc}")
                continue
            verdict = ANSWERED if got == data else WRONG
            return Answer(data, verdict, attempt, time.monotonic() - start, got, source, errors)
    if budget.expired("ask"):
        return Answer(data, LOST, len(waits), time.monotonic() - start, errors=errors, cut=budget.note())
    return Answer(data, LOST, len(waits), time.monotonic() - start, errors=errors)


def collect(socks: list[socket.socket], expect: list[int], *, within: float) -> list[list[bytes]]:
    """Read datagrams on every socket at once until each has ``expect[i]`` of them or
    ``within`` seconds pass; returns what each received."""
    start = time.monotonic()
    received: list[list[bytes]] = [[] for _ in socks]
    budget = _budget.current()
    deadline = budget.until(time.monotonic() + within)  # the case's deadline may come first
    with selectors.DefaultSelector() as sel:
        for i, sock in enumerate(socks):
            sock.setblocking(False)
            if expect[i] > 0:
                sel.register(sock, selectors.EVENT_READ, i)
        try:
            while sel.get_map() and (left := deadline - time.monotonic()) > 0:
                for key, _ in sel.select(timeout=min(left, 0.1)):
                    i = key.data
                    while True:  # drain: everything queued on this socket
                        try:
                            got, _ = socks[i].recvfrom(RECV_SIZE)
                        except (BlockingIOError, InterruptedError):
                            break
                        except OSError:
                            continue  # an ICMP error: not an answer
                        received[i].append(got)
                    if len(received[i]) >= expect[i]:
                        sel.unregister(socks[i])
            if sel.get_map():
                budget.expired("collect")  # still waiting on some: marked if the budget cut it
        finally:
            for sock in socks:
                sock.setblocking(True)
    _wire.shortfalls(socks, expect, [len(r) for r in received], since=start, unit="answers")
    return received


def multiset_difference(sent: list[bytes], got: list[bytes]) -> tuple[Counter, Counter]:
    """(sent but not answered, answered but never sent -- or more often than sent)."""
    s, g = Counter(sent), Counter(got)
    return s - g, g - s


def size_list(datagrams) -> str:
    sizes = [len(d) for d in datagrams]
    return "[" + ", ".join(f"{n:,}" for n in sizes) + "]"
