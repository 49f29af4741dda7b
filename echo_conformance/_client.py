"""The suite's test client: bounded, loopback-only socket helpers.

Every loop here is bounded in bytes and in time, and reports *how* it ended, so a check
can tell a reset from an orderly close, and a stall from a wrong answer.
"""

from __future__ import annotations

import selectors
import socket
import struct
import time
from dataclasses import dataclass
from typing import Iterable

from ._bounds import Bounds

RECV_SIZE = 256 * 1024

# How an exchange ended.
COMPLETE = "complete"  # everything expected arrived
EOF = "eof"  # the server closed its side (orderly FIN)
RESET = "reset"  # the connection was reset (RST)
STALLED = "stalled"  # no byte moved in either direction for Bounds.progress
TIMEOUT = "timeout"  # data kept moving but the exchange passed Bounds.exchange


@dataclass
class Outcome:
    received: bytes
    ended: str
    elapsed: float
    sent: int = 0

    def describe(self) -> str:
        return {
            COMPLETE: "all expected bytes arrived",
            EOF: "the server closed the connection (EOF)",
            RESET: "the connection was reset",
            STALLED: "nothing more arrived (no progress for the stall bound)",
            TIMEOUT: "the exchange exceeded its overall bound",
        }[self.ended]


def connect(address, bounds: Bounds, *, nodelay: bool = True) -> socket.socket:
    """A connected TCP socket to ``address`` (an :class:`Address`)."""
    sock = socket.socket(address.family, socket.SOCK_STREAM)
    sock.settimeout(bounds.progress)
    try:
        sock.connect((address.host, address.port))
    except BaseException:
        sock.close()
        raise
    if nodelay:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def abort(sock: socket.socket) -> None:
    """Close with SO_LINGER 0, so the peer sees a reset (RST) rather than FIN."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def exchange(
    sock: socket.socket,
    chunks: Iterable[bytes],
    *,
    expect: int,
    bounds: Bounds,
    half_close: bool = False,
    until_eof: bool = False,
    stall: float | None = None,
) -> Outcome:
    """Send ``chunks`` while reading concurrently, until ``expect`` bytes have arrived (or,
    with ``until_eof``, until the server closes).  ``half_close`` shuts down the write side
    once everything is sent.  ``stall`` (default ``bounds.progress``) is how long no byte
    may move before the exchange counts as stalled."""
    stall = bounds.progress if stall is None else stall
    start = last_progress = time.monotonic()
    chunks = iter(chunks)
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
                    nxt = next(chunks, None)
                    if nxt is None:
                        writing = False
                        if half_close:
                            sock.shutdown(socket.SHUT_WR)
                        sel.modify(sock, selectors.EVENT_READ)
                    else:
                        pending = memoryview(nxt)
                        continue
                if not writing and not until_eof and len(received) >= expect:
                    return Outcome(bytes(received), COMPLETE, time.monotonic() - start, sent)
                now = time.monotonic()
                if now - start > bounds.exchange:
                    return Outcome(bytes(received), TIMEOUT, now - start, sent)
                if now - last_progress > stall:
                    return Outcome(bytes(received), STALLED, now - start, sent)
                for _, events in sel.select(timeout=0.05):
                    if events & selectors.EVENT_WRITE and pending:
                        try:
                            n = sock.send(pending[:RECV_SIZE])
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
                            return Outcome(bytes(received), EOF, time.monotonic() - start, sent)
                        received += data
                        last_progress = time.monotonic()
        except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError):
            return Outcome(bytes(received), RESET, time.monotonic() - start, sent)
        finally:
            sock.setblocking(True)
            sock.settimeout(bounds.progress)


def listen_quietly(sock: socket.socket, seconds: float) -> Outcome:
    """Collect whatever arrives within ``seconds`` (a negative check's window)."""
    start = time.monotonic()
    received = bytearray()
    try:
        while (left := seconds - (time.monotonic() - start)) > 0:
            sock.settimeout(left)
            try:
                data = sock.recv(RECV_SIZE)
            except socket.timeout:
                break
            if not data:
                return Outcome(bytes(received), EOF, time.monotonic() - start)
            received += data
    except (ConnectionResetError, ConnectionAbortedError):
        return Outcome(bytes(received), RESET, time.monotonic() - start)
    return Outcome(bytes(received), STALLED, time.monotonic() - start)


def fill_without_reading(sock: socket.socket, *, limit: int, settle: float, bounds: Bounds,
                         data: bytes | None = None) -> int:
    """Send (``data``, or filler) without ever reading until sending makes no progress for
    ``settle`` seconds (the peer's and our buffers are full), or ``limit`` bytes are sent.
    Returns the count."""
    view = memoryview(data) if data is not None else None
    block = b"\xa5" * RECV_SIZE
    sent = 0
    start = last_progress = time.monotonic()
    sock.setblocking(False)
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(sock, selectors.EVENT_WRITE)
            while sent < limit and time.monotonic() - start < bounds.exchange:
                if time.monotonic() - last_progress > settle:
                    break
                if sel.select(timeout=0.02):
                    try:
                        n = min(RECV_SIZE, limit - sent)
                        n = sock.send(view[sent : sent + n] if view is not None else block[:n])
                    except BlockingIOError:
                        continue
                    sent += n
                    last_progress = time.monotonic()
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        sock.setblocking(True)
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


def gather(socks: list[socket.socket], expect: list[int], *, within: float) -> list[bytes]:
    """Read from every socket at once until each has ``expect[i]`` bytes, one has closed,
    or ``within`` seconds pass; returns what each received."""
    received = [bytearray() for _ in socks]
    deadline = time.monotonic() + within
    with selectors.DefaultSelector() as sel:
        for i, sock in enumerate(socks):
            if expect[i] > 0:
                sel.register(sock, selectors.EVENT_READ, i)
        while sel.get_map() and (left := deadline - time.monotonic()) > 0:
            for key, _ in sel.select(timeout=min(left, 0.1)):
                i = key.data
                try:
                    data = socks[i].recv(RECV_SIZE)
                except (BlockingIOError, socket.timeout):
                    continue
                except OSError:
                    data = b""
                received[i] += data
                if not data or len(received[i]) >= expect[i]:
                    sel.unregister(socks[i])
    return [bytes(r) for r in received]
