"""Expectations several checks share, each raising a Violation that says what was expected
and what was observed."""

from __future__ import annotations

from ._cases import require
from ._client import COMPLETE, EOF, connect, exchange
from ._diff import describe_stream


def roundtrip(address, bounds, chunks: list[bytes], *, half_close: bool = False, who: str = "the client") -> None:
    """A new connection sends ``chunks`` while reading, and gets back exactly their bytes
    (then, with ``half_close``, EOF after its own half-close)."""
    payload = b"".join(chunks)
    with connect(address, bounds) as sock:
        out = exchange(sock, chunks, expect=len(payload), bounds=bounds, half_close=half_close, until_eof=half_close)
    require(out.received == payload and out.ended == (EOF if half_close else COMPLETE),
            expected=f"{who} gets back exactly the {len(payload):,} bytes it sent" + (", then EOF" if half_close else ""),
            observed=lambda: f"{describe_stream(payload, out.received, who=who)}\n"
                             f"  how it ended: {out.describe()} after {out.elapsed:.2f} s")


def served(sock, bounds, payload: bytes, who: str, *, stall: float | None = None):
    """An open connection sends ``payload`` and gets its echo; returns the exchange."""
    out = exchange(sock, [payload], expect=len(payload), bounds=bounds, stall=stall)
    require(out.received == payload and out.ended == COMPLETE,
            expected=f"{who} gets its echo",
            observed=lambda: f"{describe_stream(payload, out.received, who=who)}; {out.describe()} "
                             f"after {out.elapsed:.2f} s")
    return out
