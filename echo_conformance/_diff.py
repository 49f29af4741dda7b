"""Expected-vs-observed descriptions of byte streams, for failure messages."""

from __future__ import annotations


def _hex(data: bytes) -> str:
    return " ".join(f"{b:02x}" for b in data) or "(nothing)"


def first_difference(expected: bytes, observed: bytes) -> int | None:
    """Offset of the first differing byte, or of the end of the shorter stream; None if equal."""
    if expected == observed:
        return None
    n = min(len(expected), len(observed))
    # Compare in blocks first: these streams can be 64 MiB long.
    step = 65536
    i = 0
    while i < n and expected[i : i + step] == observed[i : i + step]:
        i += step
    while i < n and expected[i] == observed[i]:
        i += 1
    return i


def describe_stream(expected: bytes, observed: bytes, *, who: str = "the client", window: int = 8) -> str:
    """Lengths, the first differing offset and a hex window around it."""
    at = first_difference(expected, observed)
    if at is None:
        return f"{who} received exactly the {len(expected):,} bytes it sent"
    lines = [f"{who}: expected {len(expected):,} bytes back, observed {len(observed):,}"]
    if at == len(observed) < len(expected):
        lines.append(f"  missing from offset {at:,}: {len(expected) - at:,} byte(s) never arrived")
    elif at == len(expected) < len(observed):
        lines.append(f"  {len(observed) - at:,} extra byte(s) after the echo, from offset {at:,}")
    else:
        lines.append(f"  first difference at offset {at:,}")
    lo = max(0, at - window)
    lines.append(f"  expected [{lo:,}:{min(len(expected), at + window):,}]: {_hex(expected[lo : at + window])}")
    lines.append(f"  observed [{lo:,}:{min(len(observed), at + window):,}]: {_hex(observed[lo : at + window])}")
    return "\n".join(lines)
