"""What happened on the wire, drawn: a case's trace (``_wire``'s JSON form, as report.json
carries it) as a few lines of text (the terminal, report.md) and as an SVG timeline
(report.html, the demo's pictures).  Pure functions of that JSON: nothing here records, and
nothing here knows pytest."""

from __future__ import annotations

import bisect
import math
from html import escape

from ._wire import (ABORT, ACCEPT, BOUND, CLOSE, CONNECT, EOF, HEAD_BYTES, NOTABLE, RECV, REFUSED, RESET, SEND,
                    SHUTDOWN, WINDOW, WRONG)

# --- rendering: shared -----------------------------------------------------------------------

def _size(n: int) -> str:
    return f"{n:,} B"


def describe(event: dict, lanes: dict[int, dict] | None = None) -> str:
    """One event in a few words (without its time)."""
    k, note = event["kind"], event.get("note", "")
    datagram = bool(lanes and lanes.get(event["lane"], {}).get("datagram"))
    if k in (SEND, RECV):
        verb = "sent" if k == SEND else "got"
        n, count = event["n"], event.get("count", 1)
        if datagram:
            what = (f"a {_size(n)} datagram" if count == 1 else f"{count} datagrams ({_size(n)})")
        else:
            what = _size(n) + (f" in {count} chunks" if count > 1 else "")
        head = event.get("head", "")
        if head and n <= HEAD_BYTES and "\\x" not in head:  # readable bytes only: binary is noise here
            what += f" {head}"
        return f"{verb} {what}"
    if k in (BOUND, WINDOW):
        return f"[{_span(event)}: {note}]"
    words = {CONNECT: "connect", REFUSED: "connect refused", ACCEPT: "accepted", SHUTDOWN: "shutdown",
             EOF: "EOF (the peer's FIN)", RESET: "reset (RST)", ABORT: "abort (our RST)", CLOSE: "close",
             WRONG: "wrong"}[k]
    return f"{words} ({note})" if note else words


def _span(event: dict) -> str:
    return f"{event['t']:.3f}-{event.get('until', event['t']):.3f} s"


def failed(trace: dict) -> list[int]:
    """The lanes the case failed on (``_wire``'s ``failed``; -1: a wait of the check as a whole)."""
    return list(trace.get("failed", ()))


def totals(trace: dict, lane: dict) -> tuple[int, int]:
    """The bytes a lane sent and received in all (the recorder's counts; a trace without them:
    what its kept events add up to)."""
    if "sent" in lane:
        return lane["sent"], lane.get("received", 0)
    mine = [e for e in trace["events"] if e["lane"] == lane["id"]]
    return (sum(e.get("n", 0) for e in mine if e["kind"] == SEND),
            sum(e.get("n", 0) for e in mine if e["kind"] == RECV))


def pick_lanes(trace: dict, limit: int) -> list[dict]:
    """The lanes to show, at most ``limit``, in lane order.  The lanes the case failed on
    always (at most ``limit - 1`` of them when there are others, and at least one), then
    the nearest one that went well before them (or after) to compare with; then those with
    a notable event (a wait that ran out, a wrong byte, a refusal, a reset) or a wait that
    went wrong -- leaving room for one that went well -- then the first ones."""
    lanes = trace["lanes"]
    if len(lanes) <= limit:
        return list(lanes)
    bad = {e["lane"] for e in trace["events"] if e["kind"] in NOTABLE} | {l["id"] for l in lanes if l.get("suspect")}
    failing = set(failed(trace))
    chosen = [l for l in lanes if l["id"] in failing][: max(1, limit - 1)]
    if chosen:
        well = [l for l in lanes if l["id"] not in bad and l["id"] not in failing]
        first = chosen[0]["id"]
        before = [l for l in well if l["id"] < first]
        nearest = before[-1:] or well[:1]
        chosen += nearest[: limit - len(chosen)]
    room = limit - 1 - len(chosen) if chosen else max(1, limit - 1)
    chosen += [l for l in lanes if l["id"] in bad and l not in chosen][: max(0, room)]
    chosen += [l for l in lanes if l not in chosen][: limit - len(chosen)]
    return sorted(chosen, key=lambda l: l["id"])


def text(trace: dict, *, max_lanes: int = 6, per_lane: int = 9) -> str:
    """The trace in a few lines: one per connection (at most ``max_lanes``, each with at
    most ``per_lane`` events), times in seconds since the check began.  Each connection says
    how many bytes went each way; the one(s) the case failed on come first, marked FAILED."""
    lanes = pick_lanes(trace, max_lanes)
    by_id = {l["id"]: l for l in trace["lanes"]}
    events = trace["events"]
    failing = failed(trace)
    whole = any(e["lane"] == -1 for e in events)
    roles = trace.get("roles") or {"client": trace["connections"]}
    what = ", ".join(_count(n, _NOUNS.get(role, role)) for role, n in roles.items())
    lines = [f"timeline, in seconds since the check began ({what}, "
             f"{_count(len(events) + trace.get('omitted', 0), 'event')}):"]
    rows = [(l["id"], f"{l['label']}{' FAILED' if l['id'] in failing else ''} ({_bytes(trace, l)})")
            for l in lanes]
    if whole:
        rows.append((-1, "(check) FAILED" if -1 in failing else "(check)"))
    rows.sort(key=lambda row: row[0] not in failing)  # stable: the failed first, else in lane order
    width = max(len(label) for _, label in rows)
    for lane_id, label in rows:
        mine = [e for e in events if e["lane"] == lane_id]
        words = [f"{e['t']:.3f} {describe(e, by_id)}" if e["kind"] not in (BOUND, WINDOW) else describe(e, by_id)
                 for e in mine]
        if len(words) > per_lane:
            keep = per_lane // 2
            words = [*words[:keep], f"... {len(words) - per_lane + 1} more ...", *words[-(per_lane - keep - 1):]]
        lines.append(f"  {label.ljust(width)}  " + ("  ".join(words) or "(its events were not kept)"))
    hidden = trace["connections"] - len(lanes)
    unshown = len({i for i in failing if i >= 0} - {l["id"] for l in lanes})
    notes = []
    if hidden > 0:
        notes.append(f"{_count(hidden, 'more connection')} not shown"
                     + (f", {unshown:,} of them failed" if unshown else ""))
    if trace.get("omitted"):
        a, b = trace["omitted_span"]
        notes.append(f"{trace['omitted']:,} events between {a:.3f} and {b:.3f} s not kept")
    if notes:
        lines.append("  (" + "; ".join(notes) + ")")
    return "\n".join(lines)


def _bytes(trace: dict, lane: dict) -> str:
    sent, received = totals(trace, lane)
    return f"sent {_size(sent)}, got {_size(received)}"


#: what the text form calls each role's lanes
_NOUNS = {"client": "client connection", "upstream": "upstream connection", "peer": "UDP socket"}


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


# --- rendering: the SVG timeline -------------------------------------------------------------

COLOURS = {SEND: "#2f6feb", RECV: "#1a7f37", CONNECT: "#57606a", ACCEPT: "#57606a", REFUSED: "#b42318",
           SHUTDOWN: "#8250df", EOF: "#1f2328", RESET: "#b42318", ABORT: "#b42318", CLOSE: "#57606a",
           WRONG: "#b42318", BOUND: "#b42318", WINDOW: "#6e7781"}
#: the lane the case failed on: its outline and label, and its band's fill
FAILED, FAILED_FILL = "#b42318", "#fdecea"
FAILED_LANE = "failed"  #: its legend entry
LEGEND = ((FAILED_LANE, "the connection the case failed on"), (SEND, "bytes sent"), (RECV, "bytes received"),
          (CONNECT, "connect / accept"), (SHUTDOWN, "our shutdown (FIN)"), (EOF, "EOF seen"),
          (RESET, "reset, abort or refused"), (CLOSE, "close"), (WRONG, "wrong data"),
          (BOUND, "a bound that ran out"), (WINDOW, "a quiet window"))
#: the legend entry a kind is shown under
_LEGEND_OF = {ACCEPT: CONNECT, ABORT: RESET, REFUSED: RESET}


class _Scale:
    """Time to x.  Every gap between two consecutive instants of the trace (an event, the end
    of a run or of a wait) gets a width that grows with the log of its length: equal gaps
    stay equal, a burst of millisecond events gets room to be seen, and a 2 s wait still
    looks long.  The span whose events were not kept is a break of fixed width."""

    BREAK = 26.0

    def __init__(self, instants: list[float], x0: float, x1: float, gap: tuple[float, float] | None) -> None:
        points = sorted(set(instants))
        if gap:
            points = sorted(set([t for t in points if not gap[0] < t < gap[1]] + list(gap)))
        if len(points) < 2:
            points = [points[0] if points else 0.0, (points[0] if points else 0.0) + 1e-3]
        span = points[-1] - points[0]
        tau = max(span / 1000, 2e-4)
        weights = []
        self.breaks: list[float] = []
        for a, b in zip(points, points[1:]):
            weights.append(None if gap and (a, b) == tuple(gap) else math.log1p((b - a) / tau))
        fixed = self.BREAK * sum(w is None for w in weights)
        unit = (x1 - x0 - fixed) / (sum(w for w in weights if w is not None) or 1.0)
        self.times, self.xs = [points[0]], [x0]
        for (a, b), w in zip(zip(points, points[1:]), weights):
            x = self.xs[-1] + (self.BREAK if w is None else w * unit)
            if w is None:
                self.breaks.append((self.xs[-1] + x) / 2)
            self.times.append(b)
            self.xs.append(x)

    def __call__(self, t: float) -> float:
        times, xs = self.times, self.xs
        if t <= times[0]:
            return xs[0]
        if t >= times[-1]:
            return xs[-1]
        i = bisect.bisect_right(times, t)
        a, b = times[i - 1], times[i]
        return xs[i - 1] + (xs[i] - xs[i - 1]) * (t - a) / (b - a or 1.0)

    def ticks(self, min_px: float = 48.0) -> list[tuple[float, str]]:
        """Round times, as many as fit at least ``min_px`` apart (the spacing follows the
        warp); the first instant always."""
        lo, hi = self.times[0], self.times[-1]
        out: list[tuple[float, str]] = [(self.xs[0], _tick_label(lo))]
        for step in sorted({_nice((hi - lo) / n) for n in (2, 4, 8, 16, 32, 64)}, reverse=True):
            k = math.ceil(lo / step - 1e-9)
            while k * step <= hi + 1e-9:
                t = k * step
                x = self(t)
                if all(abs(x - ox) >= min_px for ox, _ in out) and all(abs(x - b) > 14 for b in self.breaks):
                    out.append((x, _tick_label(t, step)))
                k += 1
        return sorted(out)


def _nice(raw: float) -> float:
    """The round step just above ``raw``: 1 or 5 times a power of ten (steps of one family,
    so ticks of different steps together still read as round numbers)."""
    raw = max(raw, 1e-6)
    power = 10 ** math.floor(math.log10(raw))
    return next((m * power for m in (1, 5) if raw <= m * power * (1 + 1e-9)), 10 * power)


def _tick_label(t: float, step: float = 0.0) -> str:
    if abs(t) < 1e-9:
        return "0"
    if t < 1:
        return f"{round(t * 1000, 3):g} ms"
    return f"{round(t, 3):g} s"


def _short(n: int) -> str:
    """A byte count in at most about four digits and a unit (``1.5 KiB``, ``64 MiB``): room
    beside a lane's label is short."""
    if n < 1024:
        return f"{n} B"
    value, units = n / 1024, ["KiB", "MiB", "GiB"]
    while value >= 1000 and len(units) > 1:
        value, units = value / 1024, units[1:]
    return f"{value:.1f} {units[0]}" if value < 10 and value != int(value) else f"{value:.0f} {units[0]}"


def _fit(text: str, px: float, char: float = 5.6) -> str:
    room = int(px / char)
    if len(text) <= room:
        return text
    return text[: max(0, room - 1)] + "…" if room > 3 else ""


def svg(trace: dict, *, width: int = 760, max_lanes: int = 12, caption: tuple[str, ...] = (),
        standalone: bool = False, attrs: dict | None = None) -> str:
    """The trace as an SVG timeline: one lane per connection (and per upstream connection),
    bytes out above the lane's line and in below it as marks along time, connect, FIN, EOF,
    reset and close as symbols, each wait the bounds judged as a shaded interval, a legend.
    Every mark is a ``<g class="mark" data-lane data-kind>`` with a ``<title>`` (its time
    and description).  Each lane (a ``<g class="lane">``) says beside its label how many bytes
    it sent and received; the lane(s) the case failed on are drawn in red, outlined, with
    ``data-failed="true"``.  ``standalone``: a file of its own (fixed size, white
    background); else it scales to its container's width."""
    lanes = pick_lanes(trace, max_lanes)
    shown = {l["id"] for l in lanes}
    by_id = {l["id"]: l for l in trace["lanes"]}
    failing = set(failed(trace))
    events = [e for e in trace["events"] if e["lane"] in shown or e["lane"] == -1]
    left, right, top, lane_h = 132.0, 14.0, 30.0, 34.0
    instants = [t for e in events for t in (e["t"], e.get("until", e["t"]))]
    scale = _Scale(instants, left + 6, width - right - 6,
                   tuple(trace["omitted_span"]) if trace.get("omitted") else None)
    row = {l["id"]: i for i, l in enumerate(lanes)}
    body_h = max(1, len(lanes)) * lane_h
    out: list[str] = []

    # axis and grid
    out.append(f'<g class="axis" font-size="10" fill="#57606a">')
    for x, label in scale.ticks():
        out.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{top + body_h}" stroke="#eaeef2"/>'
                   f'<text x="{x:.1f}" y="{top - 10}" text-anchor="middle">{escape(label)}</text>')
    for x in scale.breaks:
        out.append(f'<path d="M{x - 5:.1f} {top - 4} l5 -6 l5 6" fill="none" stroke="#57606a"/>'
                   f'<rect x="{x - 6:.1f}" y="{top}" width="12" height="{body_h}" fill="#f6f8fa"/>')
    out.append("</g>")

    # the waits of the check as a whole, behind everything
    for e in events:
        if e["lane"] == -1 and e["kind"] in (BOUND, WINDOW):
            out.append(_interval(e, scale, top, body_h, by_id, whole=True, failed_on=-1 in failing))

    for l in lanes:
        cy = top + row[l["id"]] * lane_h + lane_h / 2
        mine = [e for e in events if e["lane"] == l["id"]]
        bad = l["id"] in failing
        out.append(f'<g class="lane" data-lane="{l["id"]}" data-label="{escape(l["label"], quote=True)}"'
                   + (' data-failed="true">' if bad else ">"))
        if bad:
            out.append(f'<rect class="failed" x="1" y="{cy - lane_h / 2 + 1:.1f}" width="{width - 2}" '
                       f'height="{lane_h - 2}" rx="3" fill="{FAILED_FILL}" stroke="{FAILED}" stroke-width="1.5"/>')
        elif row[l["id"]] % 2:
            out.append(f'<rect x="0" y="{cy - lane_h / 2:.1f}" width="{width}" height="{lane_h}" fill="#f6f8fa" '
                       'fill-opacity="0.6"/>')
        where = f' ({l["where"]})' if l.get("where") else ""
        sent, received = totals(trace, l)
        tip = f"{l['label']}{where}: sent {_size(sent)}, received {_size(received)}" + (
            "; the case failed on this connection" if bad else "")
        colour, weight = (FAILED, ' font-weight="600"') if bad else ("#1f2328", "")
        out.append(f'<text class="lane-label" x="{left - 8}" y="{cy - 1:.1f}" text-anchor="end" font-size="11" '
                   f'fill="{colour}"{weight}>{escape(l["label"])}<title>{escape(tip)}</title></text>')
        out.append(f'<text class="lane-bytes" x="{left - 8}" y="{cy + 10:.1f}" text-anchor="end" font-size="9" '
                   f'fill="#57606a"><tspan fill="{COLOURS[SEND]}">sent {_short(sent)}</tspan> · '
                   f'<tspan fill="{COLOURS[RECV]}">got {_short(received)}</tspan><title>{escape(tip)}</title></text>')
        if mine:
            a = scale(min(e["t"] for e in mine))
            b = scale(max(e.get("until", e["t"]) for e in mine))
            out.append(f'<line x1="{a:.1f}" y1="{cy:.1f}" x2="{max(b, a + 1):.1f}" y2="{cy:.1f}" stroke="#8c959f" '
                       'stroke-width="1.5"/>')
        for e in mine:  # intervals first, marks on top
            if e["kind"] in (BOUND, WINDOW):
                out.append(_interval(e, scale, cy - lane_h / 2 + 2, lane_h - 4, by_id))
        last_x = -math.inf
        for e in mine:
            if e["kind"] in (BOUND, WINDOW):
                continue
            x = scale(e["t"])
            if e["kind"] not in (SEND, RECV):
                x = min(max(x, last_x + 8), width - right)  # symbols at the same instant side by side
                last_x = x
            out.append(_mark(e, x, scale, cy, by_id))
        out.append("</g>")

    # legend, notes, caption
    y = top + body_h + 18
    kinds = {_LEGEND_OF.get(e["kind"], e["kind"]) for e in events}
    if failing & (shown | {-1}):
        kinds.add(FAILED_LANE)
    legend = [(k, label) for k, label in LEGEND if k in kinds]
    x = 8.0
    out.append('<g class="legend" font-size="10" fill="#57606a">')
    for k, label in legend:
        w = 18 + len(label) * 5.4 + 12
        if x + w > width:
            x, y = 8.0, y + 15
        out.append(_legend_symbol(k, x + 6, y - 3) + f'<text x="{x + 16:.1f}" y="{y:.1f}">{escape(label)}</text>')
        x += w
    out.append("</g>")
    notes = ["time runs left to right; an idle stretch is drawn shorter than its share of the time "
             "(each gap's width grows with its logarithm)"]
    hidden = trace["connections"] - len(lanes)
    unshown = len({i for i in failing if i >= 0} - shown)
    if hidden > 0:
        notes.append(f"{_count(hidden, 'more connection')} not drawn"
                     + (f", {unshown:,} of them failed" if unshown else ""))
    if -1 in failing:
        notes.append("the case failed on a wait of the check as a whole (the red band across the lanes)")
    if trace.get("omitted"):
        a, b = trace["omitted_span"]
        notes.append(f"{trace['omitted']:,} events between {a:.3f} and {b:.3f} s not kept (the break in the axis)")
    for line in notes:
        y += 15
        out.append(f'<text class="note" x="8" y="{y:.1f}" font-size="10" fill="#57606a">{escape(line)}</text>')
    for i, line in enumerate(caption):
        y += 17
        weight = ' font-weight="600"' if i == len(caption) - 1 and len(caption) > 1 else ""
        out.append(f'<text class="caption" x="8" y="{y:.1f}" font-size="12" fill="#1f2328"{weight}>'
                   f'{escape(line)}</text>')
    height = math.ceil(y + 8)
    extra = "".join(f' {k}="{escape(str(v), quote=True)}"' for k, v in (attrs or {}).items())
    size = f' width="{width}" height="{height}"' if standalone else ""
    label = f"timeline of {_count(len(lanes), 'connection')}: " + "; ".join(
        f"{l['label']}{' (the case failed on it)' if l['id'] in failing else ''}: "
        f"{sum(1 for e in events if e['lane'] == l['id'])} events" for l in lanes)
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" viewBox="0 0 {width} {height}"{size} '
            f'role="img" aria-label="{escape(label, quote=True)}" data-lanes="{len(lanes)}" '
            f'data-events="{len(events)}" data-omitted="{trace.get("omitted", 0)}"{extra} '
            'font-family="system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif">')
    background = f'<rect width="{width}" height="{height}" fill="#ffffff"/>' if standalone else ""
    return head + background + "".join(out) + "</svg>"


def _title(e: dict, by_id: dict) -> str:
    who = by_id.get(e["lane"], {}).get("label", "the check")
    when = _span(e) if "until" in e else f"{e['t']:.3f} s"
    extra = ""
    if e["kind"] in (SEND, RECV):
        extra = f" from offset {e['at']:,}" + (f", starting {e['head']}" if e.get("head") else "")
    return f"<title>{escape(f'{when}: {who}: {describe(e, by_id)}{extra}')}</title>"


def _interval(e: dict, scale: _Scale, y: float, h: float, by_id: dict, whole: bool = False,
              failed_on: bool = False) -> str:
    a, b = scale(e["t"]), scale(e.get("until", e["t"]))
    w = max(b - a, 2.0)
    bound = e["kind"] == BOUND
    fill, stroke = ("#f9c9c6", "#b42318") if bound else ("#d8dee4", "#6e7781")
    label = _fit(e.get("note", ""), w - 6)
    text_y = y + (10 if whole else h - 3)
    failed_on = failed_on and bound  # the wait the case failed on: a solid edge
    edge = ' stroke-width="1.5"' if failed_on else ' stroke-dasharray="3 2" stroke-width="0.8"'
    return (f'<g class="mark" data-lane="{e["lane"]}" data-kind="{e["kind"]}" data-t="{e["t"]}"'
            + (' data-failed="true">' if failed_on else ">")
            + f'<rect x="{a:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}" fill-opacity="0.55" '
            f'stroke="{stroke}"{edge}/>'
            + (f'<text x="{a + 3:.1f}" y="{text_y:.1f}" font-size="9" fill="{stroke}">{escape(label)}</text>'
               if label else "")
            + _title(e, by_id) + "</g>")


def _mark(e: dict, x: float, scale: _Scale, cy: float, by_id: dict) -> str:
    k, c = e["kind"], COLOURS[e["kind"]]
    if k in (SEND, RECV):
        b = scale(e.get("until", e["t"]))
        w = max(b - x, 2.5)
        y = cy - 11 if k == SEND else cy + 3
        shape = f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="8" fill="{c}"/>'
    elif k in (CONNECT, ACCEPT):
        fill = c if k == CONNECT else "#ffffff"
        shape = f'<circle cx="{x:.1f}" cy="{cy:.1f}" r="4" fill="{fill}" stroke="{c}" stroke-width="1.5"/>'
    elif k == SHUTDOWN:  # our FIN: a triangle pointing away from us
        shape = f'<path d="M{x - 4:.1f} {cy - 5:.1f} L{x + 4:.1f} {cy:.1f} L{x - 4:.1f} {cy + 5:.1f} Z" fill="#ffffff" stroke="{c}" stroke-width="1.5"/>'
    elif k == EOF:  # the peer's FIN: a triangle pointing at us
        shape = f'<path d="M{x + 4:.1f} {cy - 5:.1f} L{x - 4:.1f} {cy:.1f} L{x + 4:.1f} {cy + 5:.1f} Z" fill="{c}"/>'
    elif k in (RESET, ABORT, REFUSED, WRONG):
        r = 4.5
        shape = (f'<path d="M{x - r:.1f} {cy - r:.1f} L{x + r:.1f} {cy + r:.1f} M{x - r:.1f} {cy + r:.1f} '
                 f'L{x + r:.1f} {cy - r:.1f}" stroke="{c}" stroke-width="2.2"/>')
        if k == WRONG:
            shape = (f'<path d="M{x:.1f} {cy - 6:.1f} L{x + 6:.1f} {cy:.1f} L{x:.1f} {cy + 6:.1f} L{x - 6:.1f} '
                     f'{cy:.1f} Z" fill="#ffffff" stroke="{c}" stroke-width="1.8"/>')
    else:  # close
        shape = f'<rect x="{x - 1.2:.1f}" y="{cy - 7:.1f}" width="2.4" height="14" fill="{c}"/>'
    return (f'<g class="mark" data-lane="{e["lane"]}" data-kind="{k}" data-t="{e["t"]}">{shape}'
            f'{_title(e, by_id)}</g>')


def _legend_symbol(kind: str, x: float, cy: float) -> str:
    if kind == FAILED_LANE:
        return (f'<rect x="{x - 6:.1f}" y="{cy - 5:.1f}" width="12" height="10" rx="2" fill="{FAILED_FILL}" '
                f'stroke="{FAILED}" stroke-width="1.5"/>')
    if kind in (BOUND, WINDOW):
        fill, stroke = ("#f9c9c6", "#b42318") if kind == BOUND else ("#d8dee4", "#6e7781")
        return (f'<rect x="{x - 6:.1f}" y="{cy - 5:.1f}" width="12" height="10" fill="{fill}" stroke="{stroke}" '
                'stroke-dasharray="3 2" stroke-width="0.8"/>')
    e = {"kind": kind, "lane": -2, "t": 0.0}
    if kind in (SEND, RECV):
        return f'<rect x="{x - 5:.1f}" y="{cy - 4:.1f}" width="10" height="8" fill="{COLOURS[kind]}"/>'
    inner = _mark(e, x, lambda t: x, cy, {})
    return inner.replace('class="mark"', 'class="legend-symbol"', 1).split("<title>")[0] + "</g>"
