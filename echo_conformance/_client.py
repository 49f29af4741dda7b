"""The suite's test client: bounded, loopback-only socket helpers.

Every loop here is bounded in bytes and in time, and reports *how* it ended, so a check
can tell a reset from an orderly close, and a stall from a wrong answer.
"""

from __future__ import annotations

import functools
import random
import selectors
import socket
import struct
import time
from dataclasses import dataclass
from typing import Iterable

from . import _budget, _evidence, _wire
from ._bounds import PACE, PACED_BLOCK, PACED_BYTES, Bounds
from ._outcomes import COMPLETE, EOF, RESET, SLOW, STALLED, TIMEOUT, WRONG  # how an exchange ended

RECV_SIZE = 256 * 1024
#: What ``fill_without_reading`` and ``burst`` send when not given data.
FILLER = b"\xa5"

MiB = 1 << 20
#: Hold a partial segment back until more data or the FIN (Linux; elsewhere 0: no effect).
MSG_MORE = getattr(socket, "MSG_MORE", 0)


@functools.lru_cache(maxsize=16)
def pseudo_random(seed: int, size: int) -> bytes:
    """``size`` reproducible pseudo-random bytes.  Kept per worker: making the 64 MiB of
    tcp.echo.large costs 0.4 s of CPU, paid once instead of once per implementation (and
    not from the case's time budget: it is the suite's own work, 3 s on a loaded machine)."""
    with _budget.current().paused():
        return random.Random(seed).randbytes(size)


@dataclass
class Exchanged:
    """What one client's exchange (or quiet window) ended with: the bytes it received, how it
    ended (one of ``_outcomes``' constants), and when."""

    received: bytes
    ended: str
    elapsed: float
    sent: int = 0
    stall: float | None = None  # the stall bound this exchange used
    cut: str = ""  # why the wait ended before its own bound: the case's time budget ran out

    def describe(self) -> str:
        if not self.cut:
            return self._describe()
        return f"{'nothing more arrived' if self.ended == STALLED else self._describe()} {self.cut}"

    def _describe(self) -> str:
        # Only the stalled and slow outcomes name the stall bound; listen_quietly() has none.
        stall = "the stall bound" if self.stall is None else f"{self.stall:g} s"
        if self.ended == STALLED:
            return f"nothing more arrived (no progress for {stall})"
        if self.ended == SLOW:
            return (f"the echo came too slowly: {len(self.received):,} bytes after {self.elapsed:.2f} s, "
                    f"behind the slowest rate allowed (the byte at offset n is due within {stall} "
                    "plus n / 1 MiB times the per_mib bound)")
        return {
            COMPLETE: "all expected bytes arrived",
            EOF: "the server closed the connection (EOF)",
            RESET: "the connection was reset",
            WRONG: "a byte came back that differs from the byte sent (the exchange stopped there)",
            TIMEOUT: "the exchange exceeded its overall bound",
        }[self.ended]


def connect(address, bounds: Bounds, *, nodelay: bool = True) -> socket.socket:
    """A connected TCP socket to ``address`` (an :class:`Address`), within the progress bound.
    A handshake that does not complete soon (a SYN a full backlog dropped) is started over on
    a new socket, at once rather than at the kernel's retransmission (``Bounds.syn_resend``
    says why and how soon)."""
    deadline = time.monotonic() + bounds.progress
    budget = _budget.current()  # the case's deadline may come first
    wait = bounds.syn_resend
    attempts = 0
    while True:
        attempts += 1
        sock = _wire.TracedSocket(address.family, socket.SOCK_STREAM)  # records once connected
        try:
            # connect() with a timeout polls for the handshake (non-blocking connect, in C)
            sock.settimeout(max(1e-3, min(wait, budget.until(deadline) - time.monotonic())))
            sock.connect((address.host, address.port))
        except TimeoutError:
            sock.close()  # SYN dropped (a full backlog): a new socket sends a new SYN at once
            if time.monotonic() >= budget.until(deadline):
                _wire.connect_failed(TimeoutError(), since=deadline - bounds.progress)
                _evidence.connect_failed(TimeoutError(), _wire.connections())
                if budget.cuts(deadline):
                    budget.mark("connect")
                    raise TimeoutError(f"connecting to {address}: no handshake ({attempts} SYNs sent) "
                                       f"{budget.note()}") from None
                raise TimeoutError(f"connecting to {address}: no handshake within {bounds.progress:g} s "
                                   f"({attempts} SYNs sent; the server does not accept connections, or "
                                   "its listen backlog stays full)") from None
            wait = min(wait * 2, bounds.syn_resend_max)
            continue
        except BaseException as exc:
            sock.close()
            _wire.connect_failed(exc, since=deadline - bounds.progress)
            _evidence.connect_failed(exc, _wire.connections())
            raise
        sock.settimeout(bounds.progress)
        if nodelay:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _wire.connected(sock, since=deadline - bounds.progress, attempts=attempts)
        return sock


def abort(sock: socket.socket) -> None:
    """Close with SO_LINGER 0, so the peer sees a reset (RST) rather than FIN."""
    _wire.aborting(sock)
    lane = getattr(sock, "_trace_lane", None)
    _evidence.observe(_evidence.ABORT, sent=lane.sent if lane is not None else 0)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def exchange(
    sock: socket.socket,
    chunks: Iterable[bytes],
    *,
    count: int | None = None,
    matching: bytes | None = None,
    bounds: Bounds,
    half_close: bool = False,
    until_eof: bool = False,
    stall: float | None = None,
) -> Exchanged:
    """Send ``chunks`` while reading concurrently, until ``count`` bytes have arrived (or,
    with ``until_eof``, until the server closes).  ``half_close`` shuts down the write side
    once everything is sent.  ``stall`` (default ``bounds.progress``) is how long no byte
    may move before the exchange counts as stalled.

    Given ``matching`` (the bytes the echo must equal), the exchange ends as WRONG at the
    first byte that differs: waiting on cannot make a wrong echo right; ``count`` is then
    ``len(matching)`` unless given.  Time is budgeted per exchange, not per wait: the byte at
    offset n of the echo is due within ``stall + n / 1 MiB * bounds.per_mib`` of the start
    (else the exchange ends as SLOW), so a trickle of bytes cannot hold it for long.

    With ``half_close``, the last chunk is sent with MSG_MORE, so the kernel holds its last
    segment until the shutdown and sends the data and the FIN together (Linux puts the FIN on
    an unsent segment).  The server then reads its last data with the EOF already there: a
    server or relay that closes at EOF without flushing the echo it still holds loses it in
    every run, instead of only when the FIN happens to overtake its echo (a race the suite
    would otherwise lose whenever the server is quick).  A correct server cannot tell."""
    if count is None:
        if matching is None:
            raise TypeError("exchange() needs count (bytes to wait for), matching (the bytes expected), or both")
        count = len(matching)
    seen = _evidence.Exchange(sock, want=count, expected=matching, half_close=half_close, until_eof=until_eof,
                              others=_wire.open_connections() - 1)
    out = _exchange(sock, chunks, count, matching, bounds, half_close, until_eof,
                    bounds.progress if stall is None else stall)
    _wire.exchanged(sock, out, matching=matching, wanted=count)
    seen.ended(out)
    return out


def _exchange(sock: socket.socket, chunks: Iterable[bytes], count: int, matching: bytes | None, bounds: Bounds,
              half_close: bool, until_eof: bool, stall: float) -> Exchanged:
    per_byte = bounds.per_mib / MiB
    budget = _budget.current()
    start = last_progress = time.monotonic()
    chunks = iter(chunks)
    upcoming = next(chunks, None)  # one chunk ahead, to know which one is the last
    more = 0  # MSG_MORE while sending the last chunk before a half-close
    pending = memoryview(b"")
    sent = 0
    received = bytearray()
    writing = True
    sock.setblocking(False)
    with selectors.DefaultSelector() as sel:
        sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        try:
            while True:
                if writing and not pending:
                    nxt, upcoming = upcoming, (next(chunks, None) if upcoming is not None else None)
                    if nxt is None:
                        writing = False
                        if half_close:
                            try:
                                sock.shutdown(socket.SHUT_WR)
                            except OSError:  # ENOTCONN: the server has reset the connection already
                                return Exchanged(bytes(received), RESET, time.monotonic() - start, sent, stall)
                        sel.modify(sock, selectors.EVENT_READ)
                    else:
                        pending = memoryview(nxt)
                        more = MSG_MORE if half_close and upcoming is None else 0
                        continue
                if not writing and not until_eof and len(received) >= count:
                    return Exchanged(bytes(received), COMPLETE, time.monotonic() - start, sent, stall)
                now = time.monotonic()
                if now - start > bounds.exchange:
                    return Exchanged(bytes(received), TIMEOUT, now - start, sent, stall)
                if now - last_progress > stall:
                    return Exchanged(bytes(received), STALLED, now - start, sent, stall)
                if len(received) < count and now - start > stall + len(received) * per_byte:
                    return Exchanged(bytes(received), SLOW, now - start, sent, stall)
                if budget.expired("exchange"):  # ends like a stall, at the case's deadline
                    return Exchanged(bytes(received), STALLED, now - start, sent, stall,
                                   cut=f"for {now - last_progress:.2f} s {budget.note()}")
                for _, events in sel.select(timeout=max(0.0, min(0.05, budget.left()))):
                    if events & selectors.EVENT_WRITE and pending:
                        try:
                            n = sock.send(pending[:RECV_SIZE], more)
                        except BlockingIOError:
                            n = 0
                        if n:
                            pending, sent, last_progress = pending[n:], sent + n, time.monotonic()
                    if events & selectors.EVENT_READ:
                        try:
                            data = sock.recv(RECV_SIZE)
                        except BlockingIOError:
                            continue
                        if not data:
                            return Exchanged(bytes(received), EOF, time.monotonic() - start, sent, stall)
                        at = len(received)
                        received += data
                        last_progress = time.monotonic()
                        if matching is not None and matching[at : len(received)] != data:
                            return Exchanged(bytes(received), WRONG, last_progress - start, sent, stall)
        except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
            return Exchanged(bytes(received), RESET, time.monotonic() - start, sent, stall)
        finally:
            sock.setblocking(True)
            sock.settimeout(bounds.progress)


def listen_quietly(sock: socket.socket, seconds: float) -> Exchanged:
    """Collect whatever arrives within ``seconds`` (a negative check's window)."""
    before = _evidence.counts(sock)
    out = _listen(sock, seconds)
    _wire.exchanged(sock, out)
    _evidence.quiet(sock, out, window=seconds, before=before)
    return out


def _listen(sock: socket.socket, seconds: float) -> Exchanged:
    start = time.monotonic()
    budget = _budget.current()
    cut = budget.cuts(start + seconds)  # the window would outlast the case's budget
    seconds = max(0.0, budget.until(start + seconds) - start)
    received = bytearray()
    try:
        while (left := seconds - (time.monotonic() - start)) > 0:
            sock.settimeout(left)
            try:
                data = sock.recv(RECV_SIZE)
            except socket.timeout:
                break
            if not data:
                return Exchanged(bytes(received), EOF, time.monotonic() - start)
            received += data
    except (ConnectionResetError, ConnectionAbortedError):
        return Exchanged(bytes(received), RESET, time.monotonic() - start)
    if cut:  # a quiet window cut short proves nothing: the case fails on its budget
        budget.mark("listen_quietly")
        return Exchanged(bytes(received), STALLED, time.monotonic() - start, cut=budget.note())
    return Exchanged(bytes(received), STALLED, time.monotonic() - start)


def fill_without_reading(sock: socket.socket, *, limit: int, settle: float, bounds: Bounds,
                         data: bytes | None = None) -> int:
    """Send (``data``, or filler) without ever reading until sending makes no progress for
    ``settle`` seconds (the peer's and our buffers are full), or ``limit`` bytes are sent.
    The first ``PACED_BYTES`` go as a lone byte, a pause, a block, and again (see
    ``_bounds.PACE``).  Returns the count."""
    view = memoryview(data) if data is not None else None
    block = FILLER * RECV_SIZE
    sent = 0
    lone = True  # the next paced send is a lone byte
    cut = False
    budget = _budget.current()
    start = last_progress = time.monotonic()
    sock.setblocking(False)
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(sock, selectors.EVENT_WRITE)
            while sent < limit and time.monotonic() - start < bounds.exchange:
                if time.monotonic() - last_progress > settle:
                    break
                if budget.expired("fill_without_reading"):
                    cut = True
                    break
                if sel.select(timeout=max(0.0, min(0.02, budget.left()))):
                    paced = sent < PACED_BYTES
                    try:
                        n = min(1 if paced and lone else PACED_BLOCK if paced else RECV_SIZE, limit - sent)
                        n = sock.send(view[sent : sent + n] if view is not None else block[:n])
                    except BlockingIOError:
                        continue
                    sent += n
                    last_progress = time.monotonic()
                    if paced:
                        if lone:
                            time.sleep(PACE)
                        lone = not lone
        reset = False
    except (ConnectionResetError, BrokenPipeError):
        reset = True
    finally:
        sock.setblocking(True)
    _wire.filled(sock, sent, limit=limit, settle=settle)
    _evidence.pushed(sent, limit=limit, blocked=sent < limit, reset=reset, cut=cut)
    return sent


def burst(sock: socket.socket, size: int, *, bounds: Bounds) -> int:
    """Send ``size`` filler bytes as fast as the socket takes them, without reading (for at
    most ``Bounds.progress``, or what the case's budget leaves).  Returns the count."""
    view = memoryview(FILLER * size)
    sent = 0
    sock.settimeout(max(0.001, min(bounds.progress, _budget.current().left())))
    try:
        while sent < size:
            sent += sock.send(view[sent:])
    except OSError:  # the timeout, or the server reset
        pass
    finally:
        sock.settimeout(None)
    return sent


def chunked(payload: bytes, sizes: Iterable[int]) -> list[bytes]:
    """Split ``payload`` by ``sizes`` (cycled); the last chunk takes what is left."""
    sizes = [max(1, s) for s in sizes] or [len(payload) or 1]
    out, i, k = [], 0, 0
    while i < len(payload):
        n = sizes[k % len(sizes)]
        out.append(payload[i : i + n])
        i, k = i + n, k + 1
    return out


def gather(socks: list[socket.socket], expect: list[int], *, within: float,
           bounds: Bounds | None = None, stall: float | None = None,
           matching: list[bytes] | None = None) -> list[bytes]:
    """Read from every socket at once until each has ``expect[i]`` bytes, one has closed,
    or ``within`` seconds pass; returns what each received.  Given ``bounds``, a socket
    whose echo has begun gets the rest at the ``per_mib`` rate or is given up on (its byte n
    is due within ``progress + n / 1 MiB * per_mib`` of its first): a server that trickles
    cannot hold the whole crowd for ``within``.  Given ``stall``, the wait also ends once
    no socket has completed its echo for ``stall`` seconds: a server that works through a
    crowd one connection at a time (a fork per client) may take ``within``, a hung one
    is given up on after ``stall``.  ``matching``: what each should get back (for the
    evidence: how the first few that did not get it differ)."""
    received = [bytearray() for _ in socks]
    closed = [False] * len(socks)
    began: list[float | None] = [None] * len(socks)
    per_byte = bounds.per_mib / MiB if bounds is not None else 0.0
    start = time.monotonic()
    budget = _budget.current()
    deadline = budget.until(start + within)  # the case's deadline may come first
    last_done = start
    with selectors.DefaultSelector() as sel:
        for i, sock in enumerate(socks):
            if expect[i] > 0:
                sel.register(sock, selectors.EVENT_READ, i)
        while sel.get_map() and (left := min(deadline, last_done + (stall or within)) - time.monotonic()) > 0:
            for key, _ in sel.select(timeout=min(left, 0.1)):
                i = key.data
                try:
                    data = socks[i].recv(RECV_SIZE)
                except (BlockingIOError, socket.timeout):
                    continue
                except OSError:
                    data = b""
                received[i] += data
                if began[i] is None:
                    began[i] = time.monotonic()
                closed[i] = closed[i] or not data
                if not data or len(received[i]) >= expect[i]:
                    sel.unregister(socks[i])
                    last_done = time.monotonic()
            if bounds is not None:
                now = time.monotonic()
                for key in list(sel.get_map().values()):
                    i = key.data
                    if began[i] is not None and now - began[i] > bounds.progress + len(received[i]) * per_byte:
                        sel.unregister(socks[i])  # too slow: what it has is what it gets
        if sel.get_map() and budget.cuts(min(start + within, last_done + (stall or within))):
            budget.mark("gather")  # still waiting on some when the case's budget ran out
    _wire.shortfalls(socks, expect, [len(r) for r in received], since=start, unit="B")
    _evidence.crowd(expect, [bytes(r) for r in received], matching=matching, closed=closed)
    return [bytes(r) for r in received]
