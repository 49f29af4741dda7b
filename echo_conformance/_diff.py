"""Expected-vs-observed descriptions of byte streams, for failure messages.

Theory of operation
-------------------
:func:`classify` names the difference between the bytes a client expected back and those it
observed, in one of a few shapes a person recognises at once (the echo was cut short, bytes
were added at its end, some were inserted or deleted in the middle, some were replaced), and
:meth:`Difference.sentence` says it in one line.  Streams can be 64 MiB long, so nothing here
walks them byte by byte in Python: equality is compared in blocks (C-speed slices), an
insertion or deletion of ``k`` bytes at the first difference is recognised by comparing the
two tails once, aligned from the end, and replaced bytes are counted a block at a time by
XOR-ing the blocks as integers (bounded: beyond :data:`COUNT_LIMIT` differing bytes examined
the count is a lower bound).

One insertion or one deletion is recognised; several distinct ones are ``other``, except one
short pattern inserted (or deleted) every time it occurs (a newline after every chunk, every
CR dropped), which ``other`` names in its sentence (``pattern`` and ``times``).
:func:`describe_stream` puts the sentence under the lengths, above a hex dump with an ASCII
column (like ``hexdump -C``) around the first difference.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

#: the kinds of difference :func:`classify` tells apart
EQUAL, MISSING_TAIL, EXTRA_TAIL, INSERTED, DELETED, REPLACED, OTHER = (
    "equal", "missing-tail", "extra-tail", "inserted", "deleted", "replaced", "other")
#: at most this many of the inserted (or deleted) bytes are kept
SHOWN = 64
#: differing bytes of "replaced" streams are counted in at most this many bytes of blocks
COUNT_LIMIT = 16 << 20
#: the longest pattern looked for as inserted or deleted everywhere it occurs
PATTERN_MAX = 4
_BLOCK = 65536


@dataclass(frozen=True)
class Difference:
    """How ``observed`` differs from ``expected`` (see :func:`classify`).

    ``offset`` is where the streams first differ; ``count`` how many bytes the difference
    is (missing, extra, inserted, deleted or differing); ``inserted`` the inserted or extra
    bytes and ``deleted`` the deleted or missing ones (at most :data:`SHOWN` of each).  For a
    pattern inserted or deleted again and again (kind ``other``), ``pattern`` is it, ``times``
    how often, ``every`` the distance between its places when that is constant, and then
    ``offset`` its first place."""

    kind: str
    offset: int = 0
    count: int = 0
    inserted: bytes = b""
    deleted: bytes = b""
    expected_length: int = 0
    observed_length: int = 0
    exact: bool = True  # False: ``count`` is a lower bound (replaced bytes past COUNT_LIMIT)
    pattern: bytes = b""
    times: int = 0
    every: int | None = None

    def sentence(self) -> str:
        """The difference in one line, e.g. ``one byte deleted at offset 19,038``."""
        n, at = self.count, f"offset {self.offset:,}"
        if self.kind == EQUAL:
            return f"no difference: the same {self.expected_length:,} bytes"
        if self.kind == MISSING_TAIL:
            if self.offset == 0:
                return f"nothing came back (all {_bytes(n)} missing)"
            return f"truncated: the last {_bytes(n)} never arrived"
        if self.kind == EXTRA_TAIL:
            return f"{_bytes(n, 'extra')} after the echo, from {at}: {_shown(self.inserted, n)}"
        if self.kind == INSERTED:
            return f"{_bytes(n)} inserted at {at}: {_shown(self.inserted, n)}"
        if self.kind == DELETED:
            return f"{_bytes(n)} deleted at {at}: {_shown(self.deleted, n)}"
        if self.kind == REPLACED:
            if n == 1:
                return f"one byte differs, at {at}"
            return f"{'at least ' if not self.exact else ''}{n:,} bytes differ, the first at {at}"
        if self.pattern:
            verb = "inserted" if self.observed_length > self.expected_length else "deleted"
            where = f"every {self.every:,} bytes from {at}" if self.every else f"the first at {at}"
            seen = "" if self.exact else f" (the first {self.times:,} differences checked)"
            return f"{self.pattern!r} {verb} {'at least ' if not self.exact else ''}{_times(self.times)}, {where}{seen}"
        return (f"the streams differ from {at} on ({self.expected_length:,} bytes expected, "
                f"{self.observed_length:,} observed): no single insertion, deletion or cut explains it")


def _bytes(n: int, what: str = "") -> str:
    what = f"{what} " if what else ""
    return f"one {what}byte" if n == 1 else f"{n:,} {what}bytes"


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n:,} times")


def _shown(data: bytes, count: int) -> str:
    return repr(data) if count <= len(data) else f"{data!r}..."


def first_difference(expected: bytes, observed: bytes) -> int | None:
    """Offset of the first differing byte, or of the end of the shorter stream; None if equal."""
    if expected == observed:
        return None
    return _first_difference(expected, 0, observed, 0)


def _first_difference(a: bytes, i: int, b: bytes, j: int) -> int:
    """How many bytes ``a[i:]`` and ``b[j:]`` have in common at their start.  Compared in
    slices that double from 64 bytes to 64 KiB (these streams can be 64 MiB long, and a
    difference is often near), then halved to find the byte."""
    n = min(len(a) - i, len(b) - j)
    k, size = 0, 64
    while k < n:
        size = min(size, n - k)
        if a[i + k : i + k + size] != b[j + k : j + k + size]:
            lo, hi = k, k + size
            while hi - lo > 8:
                mid = (lo + hi) // 2
                if a[i + lo : i + mid] == b[j + lo : j + mid]:
                    lo = mid
                else:
                    hi = mid
            while a[i + lo] == b[j + lo]:
                lo += 1
            return lo
        k += size
        size = min(2 * size, _BLOCK)
    return n


def _same(a: bytes, i: int, b: bytes, j: int) -> bool:
    """``a[i:] == b[j:]``, compared in blocks (no copy of a whole tail)."""
    if len(a) - i != len(b) - j:
        return False
    return _first_difference(a, i, b, j) == len(a) - i


def _count_differing(expected: bytes, observed: bytes, start: int) -> tuple[int, bool]:
    """How many bytes differ from ``start`` on (streams of one length), and whether the count
    is exact (at most COUNT_LIMIT bytes of differing blocks are examined)."""
    count, examined = 0, 0
    for i in range(start, len(expected), _BLOCK):
        a, b = expected[i : i + _BLOCK], observed[i : i + _BLOCK]
        if a == b:
            continue
        if examined >= COUNT_LIMIT:
            return count, False
        # XOR of the blocks read as integers: a zero byte where they agree
        x = (int.from_bytes(a, "little") ^ int.from_bytes(b, "little")).to_bytes(len(a), "little")
        count += len(a) - x.count(0)
        examined += len(a)
    return count, True


def classify(expected: bytes, observed: bytes) -> Difference:
    """How ``observed`` differs from ``expected``: the first shape that explains it of
    equal, missing-tail, extra-tail, inserted (one run of bytes at the first difference),
    deleted (likewise), replaced (same length), else other.  An insertion whose bytes could
    also be placed a little earlier (``aab`` -> ``aaab``) is reported where the streams first
    differ.  Several insertions or deletions are ``other``; one short pattern inserted or
    deleted wherever it occurs is named by ``pattern``."""
    expected, observed = bytes(expected), bytes(observed)
    lengths = dict(expected_length=len(expected), observed_length=len(observed))
    if expected == observed:
        return Difference(EQUAL, **lengths)
    at = _first_difference(expected, 0, observed, 0)
    extra = len(observed) - len(expected)
    if at == len(observed):
        return Difference(MISSING_TAIL, at, -extra, deleted=expected[at : at + SHOWN], **lengths)
    if at == len(expected):
        return Difference(EXTRA_TAIL, at, extra, inserted=observed[at : at + SHOWN], **lengths)
    if extra == 0:
        count, exact = _count_differing(expected, observed, at - at % _BLOCK)
        return Difference(REPLACED, at, count, exact=exact, **lengths)
    if extra > 0 and _same(observed, at + extra, expected, at):
        return Difference(INSERTED, at, extra, inserted=observed[at : at + min(extra, SHOWN)], **lengths)
    if extra < 0 and _same(observed, at, expected, at - extra):
        return Difference(DELETED, at, -extra, deleted=expected[at : at - max(extra, -SHOWN)], **lengths)
    return _pattern(expected, observed, at) or Difference(OTHER, at, abs(extra), **lengths)


def _pattern(expected: bytes, observed: bytes, at: int) -> Difference | None:
    """A short pattern inserted (or deleted) again and again: candidates are the first 1 to
    PATTERN_MAX bytes of the longer stream at the first difference.  Where the pattern never
    occurs in the shorter stream, removing it everywhere from the longer one must give the
    shorter (exact, at C speed); otherwise the streams are walked from difference to
    difference, each one the pattern, for at most PATTERN_PLACES places (then ``exact`` is
    False: the places seen were all the pattern, the rest was not looked at)."""
    longer, shorter = (observed, expected) if len(observed) > len(expected) else (expected, observed)
    extra = len(longer) - len(shorter)
    for size in range(1, PATTERN_MAX + 1):
        pattern = longer[at : at + size]
        if len(pattern) < size or extra % size:
            continue
        if pattern not in shorter:
            if longer.count(pattern) * size != extra or longer.replace(pattern, b"") != shorter:
                continue
            places, exact = _places(longer, pattern), True
            if len(places) < extra // size:  # more places than were listed: no claim of a distance
                places = places[:2]
        else:
            walked = _walk(longer, shorter, at, pattern)
            if walked is None:
                continue
            places, exact = walked
        every, start = _grid(shorter, places, pattern) or (None, at)
        return Difference(OTHER, start, extra, inserted=pattern if longer is observed else b"",
                          deleted=pattern if longer is expected else b"", expected_length=len(expected),
                          observed_length=len(observed), exact=exact, pattern=pattern,
                          times=extra // size if exact else len(places), every=every)
    return None


def _grid(shorter: bytes, places: list[int], pattern: bytes) -> tuple[int, int] | None:
    """(distance, first place) if the pattern sits at a constant distance (three places at
    least).  A place is where the streams first differ; a pattern of one repeated byte could as
    well sit up to as many bytes earlier as that byte repeats before it (``ab\n`` with a
    ``\n`` inserted after ``b`` differs first after the ``\n``), so each place is a range and
    the grid must pass through all of them."""
    if len(places) < 3:
        return None
    ranges = []
    for place in places:
        low = place
        if len(set(pattern)) == 1:
            while low > 0 and place - low < 64 and shorter[low - 1] == pattern[0]:
                low -= 1
        ranges.append((low, place))
    gaps = Counter(b - a for (_, a), (_, b) in zip(ranges, ranges[1:]))
    every = gaps.most_common(1)[0][0]
    first = min(high - i * every for i, (_, high) in enumerate(ranges))  # the latest grid that fits
    if every <= 0 or first < max(low - i * every for i, (low, _) in enumerate(ranges)):
        return None
    return every, first


#: how many places of a pattern :func:`_walk` checks at most
PATTERN_PLACES = 256


def _walk(longer: bytes, shorter: bytes, at: int, pattern: bytes) -> tuple[list[int], bool] | None:
    """Walk both streams from ``at``, skipping ``pattern`` in the longer one at each
    difference: the places skipped (in the shorter stream's offsets) and whether the walk
    reached both ends, or None if a difference was not the pattern."""
    i = j = at
    places: list[int] = []
    while len(places) < PATTERN_PLACES:
        if longer[j : j + len(pattern)] != pattern:
            return None
        places.append(i)
        j += len(pattern)
        common = _first_difference(shorter, i, longer, j)
        i, j = i + common, j + common
        if i == len(shorter) and j == len(longer):
            return places, True
    return places, False


def _places(stream: bytes, pattern: bytes, limit: int = 1 << 20) -> list[int]:
    """Where ``pattern`` sits, in the offsets of the stream without it (at most ``limit``)."""
    places, start, removed = [], 0, 0
    while len(places) < limit and (found := stream.find(pattern, start)) >= 0:
        places.append(found - removed)
        removed += len(pattern)
        start = found + len(pattern)
    return places


# --- the dump ----------------------------------------------------------------------------------

def _hex(data: bytes) -> str:
    return " ".join(f"{b:02x}" for b in data) or "(nothing)"


def _ascii(data: bytes) -> str:
    """Printable ASCII as it is, anything else as ``.`` (like ``hexdump -C``)."""
    return "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in data)


def dump_lines(rows: list[tuple[str, bytes]], width: int) -> list[str]:
    """One line per (label, bytes): the hex, padded to ``width`` bytes, then the ASCII column."""
    label_width = max(len(label) for label, _ in rows)
    return [f"{(label + ':').ljust(label_width + 1)} {_hex(data).ljust(3 * width - 1)}  |{_ascii(data)}|"
            for label, data in rows]


def describe_stream(expected: bytes, observed: bytes, *, who: str = "the client", window: int = 8) -> str:
    """Lengths, the difference in one sentence (:func:`classify`) and a hex dump with an
    ASCII column around the first difference."""
    difference = classify(expected, observed)
    if difference.kind == EQUAL:
        return f"{who} received exactly the {len(expected):,} bytes it sent"
    at = difference.offset
    lo = max(0, at - window)
    rows = [(f"  expected [{lo:,}:{min(len(expected), at + window):,}]", expected[lo : at + window]),
            (f"  observed [{lo:,}:{min(len(observed), at + window):,}]", observed[lo : at + window])]
    return "\n".join([f"{who}: expected {len(expected):,} bytes back, observed {len(observed):,}",
                      f"  {difference.sentence()}", *dump_lines(rows, 2 * window)])
