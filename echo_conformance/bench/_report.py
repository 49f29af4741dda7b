"""The bench's results: the JSON document, the terminal (and Markdown) table, and the plots."""

from __future__ import annotations

import json
from operator import attrgetter
from pathlib import Path

from ._point import Point

#: What each key means (written into the JSON, so the file explains itself).
GLOSSARY = {
    "round_trips_per_s": "messages sent and fully echoed per second, all connections together "
                         "(counted by the time their echo completed, within the measured interval)",
    "mib_per_s": "echoed payload per second (round_trips_per_s x size; each byte also went the other way)",
    "p50_us/p90_us/p99_us/p999_us/max_us": "percentiles of the per-message latencies, microseconds: closed "
                                           "loop, from the message's send to the last byte of its echo; "
                                           "open loop, from its scheduled send time",
    "samples": "latency samples the percentiles come from",
    "server_cpu_us_per_rt": "CPU time (user + system) of the server's whole process tree per round trip, "
                            "microseconds (a relay: the relay's tree only; its upstream's is "
                            "upstream_cpu_us_per_rt)",
    "server_user_us_per_rt/server_system_us_per_rt": "the same, split: in the server's own code (user) "
                                                      "and in the kernel on its behalf (system: the TCP "
                                                      "work, which no server code can avoid)",
    "server_cpu_percent": "the server tree's CPU use, percent of one core",
    "generator_cpu_percent": "the load generator's CPU use (all its processes), percent of one core",
    "generator_busy_percent": "the busiest generator process's CPU time plus time waiting for a CPU, "
                              "percent of the wall time",
    "generator_wait_percent": "of which waiting for a CPU (runnable, not running: Linux schedstat run_delay), "
                              "percent of the wall time",
    "generator_saturated": "generator_busy_percent >= 90: the generator, not the server, limited this "
                           "point; its numbers describe the generator as much as the server",
    "machine_cpu_percent": "the whole machine's CPU use, percent of one core (other programs included)",
    "other_cpu_percent": "machine_cpu_percent less the server's, its upstream's and the generator's: "
                         "what else ran during the point (noise), percent of one core",
    "cpu_vs_baseline": "server_cpu_us_per_rt / the baseline's at the same connections and size",
    "throughput_vs_baseline": "round_trips_per_s / the baseline's at the same connections and size",
    "throughput_vs_upstream_direct": "a relay's round_trips_per_s / its upstream's measured directly",
    "repeats": "how many runs measured this point (--repeat); its numbers are the run with the median "
               "server_cpu_us_per_rt (the median round_trips_per_s where that is not known)",
    "round_trips_per_s_range/server_cpu_us_per_rt_range": "[lowest, highest] over those runs: how much "
                                                          "the point varied from run to run",
}


# --- JSON ------------------------------------------------------------------------------------------

def document(points: list[Point], skipped: list[dict], failures: list[dict], meta: dict) -> dict:
    """A run: ``meta`` (the command, the machine, the settings), the glossary, its points, the
    points skipped and the implementations that failed to start.  As JSON (write_json), each
    point is written by Point.to_json."""
    return {**meta, "glossary": GLOSSARY, "points": points, "skipped": skipped, "failures": failures}


def write_json(path: Path, doc: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**doc, "points": [p.to_json() for p in doc["points"]]}, indent=1) + "\n")


def read_json(path: Path) -> dict:
    """The document write_json wrote, its points read back as Point."""
    doc = json.loads(Path(path).read_text())
    if not isinstance(doc, dict) or not isinstance(doc.get("points"), list):
        raise ValueError(f"{path}: not a bench result (no list 'points')")
    try:
        return {**doc, "points": [Point.from_json(p) for p in doc["points"]]}
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


# --- the table -------------------------------------------------------------------------------------

COLUMNS = (
    # (heading, the point's attribute, format)
    ("implementation", "setup.implementation", "{}"),
    ("conns", "setup.connections", "{:,}"),
    ("size", "setup.size", "size"),
    ("round trips/s", "traffic.round_trips_per_s", "{:,.0f}"),
    ("MiB/s", "traffic.mib_per_s", "{:,.1f}"),
    ("p50 us", "traffic.p50_us", "{:,.0f}"),
    ("p99 us", "traffic.p99_us", "{:,.0f}"),
    ("p99.9 us", "traffic.p999_us", "{:,.0f}"),
    ("server us/rt", "cpu.server_cpu_us_per_rt", "{:.1f}"),
    ("vs base", "ratios.cpu_vs_baseline", "{:.2f}x"),
    ("server CPU", "cpu.server_cpu_percent", "{:.0f}%"),
    ("gen CPU", "traffic.generator_cpu_percent", "{:.0f}%"),
    ("note", None, ""),
)


def _size(n: int) -> str:
    for unit, scale in (("MiB", 2**20), ("KiB", 1024)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} B"


def _cell(point: Point, attribute: str | None, fmt: str) -> str:
    if attribute is None:
        return _note(point)
    value = attrgetter(attribute)(point)
    if value is None:
        return "-"
    if fmt == "size":
        return _size(value)
    return fmt.format(value)


def _note(point: Point) -> str:
    notes = []
    if point.traffic.generator_saturated:
        wait = point.traffic.generator_wait_percent
        notes.append("GENERATOR SATURATED" + (f" ({wait:.0f}% waiting for a CPU)" if wait and wait >= 10 else ""))
    repeats, spread = point.spread.repeats, point.spread.server_cpu_us_per_rt_range
    if (repeats or 0) > 1 and spread:
        notes.append(f"{spread[0]:.1f}-{spread[1]:.1f} us/rt in {repeats} runs")
    if point.ratios.throughput_vs_upstream_direct is not None:
        notes.append(f"{point.ratios.throughput_vs_upstream_direct:.2f}x direct")
    if point.error:
        notes.append("error: " + point.error)
    return "; ".join(notes)


def rows(points: list[Point]) -> list[list[str]]:
    return [[_cell(p, attribute, fmt) for _, attribute, fmt in COLUMNS] for p in points]


def table(points: list[Point]) -> str:
    """The terminal table: one line per point, numbers right-aligned."""
    head = [h for h, _, _ in COLUMNS]
    body = rows(points)
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    left = {0, len(head) - 1}

    def line(cells):
        return "  ".join(c.ljust(w) if i in left else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [line(head), line(["-" * w for w in widths])]
    previous = None
    for p, r in zip(points, body):
        if previous is not None and p.setup.implementation != previous:
            out.append("")
        previous = p.setup.implementation
        out.append(line(r))
    return "\n".join(out)


def markdown(points: list[Point]) -> str:
    head = [h for h, _, _ in COLUMNS]
    align = ["---" if i in (0, len(head) - 1) else "---:" for i in range(len(head))]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    for r in rows(points):
        lines.append("| " + " | ".join(c.replace("|", "/") for c in r) + " |")
    return "\n".join(lines)


def skipped_summary(skipped: list[dict]) -> list[str]:
    """One line per implementation and reason."""
    grouped: dict[tuple[str, str], list] = {}
    for s in skipped:
        grouped.setdefault((s["implementation"], s["reason"]), []).append(s["connections"])
    out = []
    for (name, reason), conns in grouped.items():
        counts = sorted({c for c in conns if c is not None})
        where = f" at {', '.join(f'{c:,}' for c in counts)} connections" if counts else ""
        out.append(f"{name}{where}: {reason}")
    return out


#: The point each implementation is summed up by (when it was measured): issue 11's.
HEADLINE = (100, 1024)


def headline(points: list[Point]) -> tuple[int, int] | None:
    """The point to sum every implementation up by: HEADLINE if measured, else the most common."""
    keys = [p.load for p in points if p.measured]
    if not keys:
        return None
    return HEADLINE if HEADLINE in keys else max(set(keys), key=keys.count)


def summary(points: list[Point]) -> list[Point]:
    """One point per echo server at the headline point, cheapest server first."""
    key = headline(points)
    chosen = [p for p in points if p.load == key and p.measured and p.setup.kind != "relay"]
    return sorted(chosen, key=lambda p: p.cpu.server_cpu_us_per_rt or float("inf"))


def markdown_document(doc: dict) -> str:
    """The whole run in Markdown: the headline, then every point, what was not measured and
    what failed to start."""
    out = _headline_lines(doc)
    if headline(doc["points"]):
        out += ["", "Every point:", ""]
    out += [markdown(doc["points"])]
    if doc.get("skipped"):
        out += ["", "Not measured:", ""] + [f"- {line}" for line in skipped_summary(doc["skipped"])]
    if doc.get("failures"):
        out += ["", "Failed to start:", ""] + [f"- {f['implementation']}: {f['error'].splitlines()[0]}"
                                               for f in doc["failures"]]
    return "\n".join(out) + "\n"


def _runs(repeat: int) -> str:
    return f", each point the median of {repeat} runs" if repeat > 1 else ""


def _headline_lines(doc: dict) -> list[str]:
    m = doc.get("machine", {})
    s = doc.get("settings", {})
    out = [f"Command: `{doc.get('command', '')}`", "",
           f"Machine: {m.get('cpus')} cores, {m.get('platform', '')}, Python {m.get('python', '')}; "
           f"generator: {m.get('generator_loop', '')} event loop; {s.get('mode', 'closed')} loop, "
           f"{s.get('warmup_s')} s warm-up then {s.get('duration_s')} s measured per point"
           f"{_runs(s.get('repeat') or 1)}; "
           f"baseline: {doc.get('baseline') or 'none'}; {doc.get('started', '')}; the machine was "
           f"{m.get('busy_before_percent', 0):.0f}% busy before the run.", ""]
    key = headline(doc["points"])
    if key:
        echoes = summary(doc["points"])
        if echoes:
            out += [f"Every echo server at {key[0]:,} connections, {_size(key[1])} messages, cheapest "
                    "first:", "", markdown(echoes)]
        relays = [p for p in doc["points"] if p.setup.kind == "relay" and p.setup.connections == key[0]
                  and p.measured]
        if relays:
            if echoes:
                out.append("")
            out += [f"Every relay at {key[0]:,} connections, every message size (x direct: its "
                    "throughput over its upstream's, measured directly in the same run):", "",
                    markdown(relays)]
    return out


# --- plots ----------------------------------------------------------------------------------------

MATPLOTLIB_MISSING = ("--plot needs matplotlib, which is not installed: pip install 'echo-conformance[bench]' "
                      "(or pip install matplotlib)")


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


#: The plots' rows: (the point's attribute, the axis's label, its scale).
PLOT_ROWS = (("traffic.round_trips_per_s", "round trips / s", "linear"),
             ("traffic.p99_us", "p99 latency (us)", "log"),
             ("cpu.server_cpu_us_per_rt", "server CPU per round trip (us)", "log"))


def plot(doc: dict, path: Path) -> None:
    """Throughput, p99 latency and the server's CPU time per round trip against connections,
    one line per implementation and one column per message size; a point where the generator
    was saturated is drawn as a hollow marker.  Needs matplotlib (see MATPLOTLIB_MISSING)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [p for p in doc["points"] if p.measured]
    sizes = sorted({p.setup.size for p in points}) or [0]
    names = list(dict.fromkeys(p.setup.implementation for p in points))
    tab20 = plt.get_cmap("tab20").colors
    colours = tab20[0::2] + tab20[1::2]  # the ten strong colours first, then their light pairs
    fig, axes = plt.subplots(len(PLOT_ROWS), len(sizes), figsize=(5.2 * len(sizes) + 2.8, 12), squeeze=False)
    conns = sorted({p.setup.connections for p in points})
    for col, size in enumerate(sizes):
        column = [axes[r][col] for r in range(len(PLOT_ROWS))]
        for i, name in enumerate(names):
            mine = sorted((p for p in points if p.setup.implementation == name and p.setup.size == size),
                          key=lambda p: p.setup.connections)
            if mine:
                _plot_lines(column, name, mine, colours[i % len(colours)])
        _label_column(column, size, conns)
    _legend(fig, axes)
    m, s = doc.get("machine", {}), doc.get("settings", {})
    fig.suptitle(f"echo-conformance bench: {s.get('mode', 'closed')}-loop ping-pong, "
                 f"{m.get('cpus', '?')} cores, client and server on one machine", fontsize="medium")
    fig.tight_layout(rect=(0, 0, 1 - 2.6 / fig.get_figwidth(), 0.97))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_lines(column: list, name: str, mine: list[Point], colour) -> None:
    """One implementation's line in each plot of a column (dashed: a baseline; dotted: a relay),
    a marker at each point, hollow where the generator was saturated."""
    style = dict(color=colour, linestyle="--" if name.startswith("baseline-")
                 else ":" if mine[0].setup.kind == "relay" else "-", linewidth=1.6)
    for ax, (attribute, _, _) in zip(column, PLOT_ROWS):
        value = attrgetter(attribute)
        have = [p for p in mine if value(p) is not None]
        if not have:
            continue
        x, y = [p.setup.connections for p in have], [value(p) for p in have]
        ax.plot(x, y, label=name, **style)
        for p, xv, yv in zip(have, x, y):
            ax.plot([xv], [yv], marker="o", markersize=6, color=colour,
                    markerfacecolor="white" if p.traffic.generator_saturated else colour)


def _label_column(column: list, size: int, conns: list[int]) -> None:
    column[0].set_title(f"{_size(size)} messages")
    for ax, (_, label, scale) in zip(column, PLOT_ROWS):
        ax.set_xscale("log")
        ax.set_yscale(scale)
        ax.grid(True, which="both", alpha=0.3)
        ax.set_xticks(conns, [f"{c:,}" for c in conns])
        ax.set_ylabel(label)
    column[-1].set_xlabel("connections")
    column[0].set_ylim(bottom=0)


def _legend(fig, axes) -> None:
    """One legend for the figure: every implementation of the top row once, and the hollow marker."""
    from matplotlib.lines import Line2D

    handles, labels = axes[0][0].get_legend_handles_labels()
    seen = dict(zip(labels, handles))
    for ax in axes[0][1:]:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    extra = [Line2D([], [], marker="o", color="grey", markerfacecolor="white", linestyle="",
                    label="generator saturated")]
    fig.legend(list(seen.values()) + extra, list(seen) + ["generator saturated"], loc="center right",
               fontsize="small", frameon=False)


__all__ = ["document", "write_json", "read_json", "table", "markdown", "markdown_document",
           "plot", "matplotlib_available", "MATPLOTLIB_MISSING"]
