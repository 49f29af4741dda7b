"""A benchmark point: one implementation measured at one load (connections x message size).

Theory of operation
-------------------
A point is filled in stages, and its fields are grouped by the stage that fills them: the
:class:`Setup` is known before the point runs (``_runner``), the :class:`Traffic` is what the
load generator measured, the :class:`CPU` comes from the runner's readings of the server's
process tree, the :class:`Ratios` are added once every point is in (``_runner.compare``), and
the :class:`Spread` once ``--repeat``'s runs are folded into one (``_runner.median_point``).
Every group is immutable; a later stage makes a new point with ``dataclasses.replace``.

In JSON a point is one flat object with every key of :data:`POINT_KEYS`, in that order (None
where a number does not apply or was not measured: server CPU under --target, an upstream for
an echo server, ...).  Each field is named as its JSON key, so the glossary, the JSON and the
code say the same word; :meth:`Point.to_json` and :meth:`Point.from_json` only flatten the
groups and gather them again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

#: The keys of a point in JSON, in the order they are written.
POINT_KEYS = (
    "implementation", "kind", "model", "connections", "size", "mode", "duration_s", "warmup_s",
    "round_trips", "round_trips_per_s", "mib_per_s",
    "samples", "p50_us", "p90_us", "p99_us", "p999_us", "max_us",
    "server_cpu_us_per_rt", "server_user_us_per_rt", "server_system_us_per_rt", "server_cpu_percent",
    "upstream", "upstream_cpu_us_per_rt",
    "generator_processes", "generator_loop", "generator_cpu_percent", "generator_busy_percent",
    "generator_wait_percent", "generator_saturated", "machine_cpu_percent", "other_cpu_percent",
    "lost_connections", "stalled_messages",
    "offered_rate", "unsent", "send_lag_p99_us",
    "baseline", "cpu_vs_baseline", "throughput_vs_baseline", "throughput_vs_upstream_direct",
    "repeats", "round_trips_per_s_range", "server_cpu_us_per_rt_range",
    "error",
)


@dataclass(frozen=True)
class Setup:
    """What was measured, and how: known before the point runs."""

    implementation: str
    kind: str  # echo | relay
    model: str  # serial | concurrent, as declared
    connections: int
    size: int  # bytes a message
    mode: str  # closed | open
    duration_s: float
    warmup_s: float
    generator_processes: int
    offered_rate: float | None = None  # open loop: messages a second in all
    upstream: str | None = None  # a relay's upstream (a baseline, also measured directly)


@dataclass(frozen=True)
class Traffic:
    """What the load generator measured: the echoes, their latencies, its own effort, and what
    went wrong on the wire."""

    generator_loop: str | None = None
    round_trips: int | None = None
    round_trips_per_s: float | None = None
    mib_per_s: float | None = None
    samples: int | None = None
    p50_us: float | None = None
    p90_us: float | None = None
    p99_us: float | None = None
    p999_us: float | None = None
    max_us: float | None = None
    generator_cpu_percent: float | None = None
    generator_busy_percent: float | None = None
    generator_wait_percent: float | None = None
    generator_saturated: bool = False
    lost_connections: int | None = None
    stalled_messages: int | None = None
    unsent: int | None = None  # open loop only
    send_lag_p99_us: float | None = None  # open loop only


@dataclass(frozen=True)
class CPU:
    """The CPU time of the measured interval: the server's process tree, its upstream's, the machine's."""

    server_cpu_us_per_rt: float | None = None
    server_user_us_per_rt: float | None = None
    server_system_us_per_rt: float | None = None
    server_cpu_percent: float | None = None
    upstream_cpu_us_per_rt: float | None = None
    machine_cpu_percent: float | None = None
    other_cpu_percent: float | None = None


@dataclass(frozen=True)
class Ratios:
    """The point next to others of the same run: the baseline's, and a relay's upstream's measured directly."""

    baseline: str | None = None
    cpu_vs_baseline: float | None = None
    throughput_vs_baseline: float | None = None
    throughput_vs_upstream_direct: float | None = None


@dataclass(frozen=True)
class Spread:
    """How many runs measured the point (``--repeat``), and how far they spread: [lowest, highest]."""

    repeats: int | None = None
    round_trips_per_s_range: tuple[float, float] | None = None
    server_cpu_us_per_rt_range: tuple[float, float] | None = None


@dataclass(frozen=True)
class Point:
    """One implementation at one load.  A point that could not be run has ``error`` set and no
    numbers; one that failed while it ran has both."""

    setup: Setup
    traffic: Traffic = field(default_factory=Traffic)
    cpu: CPU = field(default_factory=CPU)
    ratios: Ratios = field(default_factory=Ratios)
    spread: Spread = field(default_factory=Spread)
    error: str | None = None

    @property
    def load(self) -> tuple[int, int]:
        """(connections, size)."""
        return self.setup.connections, self.setup.size

    @property
    def key(self) -> tuple[str, int, int]:
        """(implementation, connections, size): what tells the points of one run apart."""
        return self.setup.implementation, *self.load

    @property
    def measured(self) -> bool:
        """Whether round trips were measured (whether or not the point failed)."""
        return bool(self.traffic.round_trips_per_s)

    def to_json(self) -> dict:
        """The point as a flat JSON object, keyed (and ordered) by POINT_KEYS."""
        flat = {"error": self.error}
        for name in _GROUPS:
            group = getattr(self, name)
            flat.update((f.name, getattr(group, f.name)) for f in fields(group))
        return {key: list(flat[key]) if isinstance(flat[key], tuple) else flat[key] for key in POINT_KEYS}

    @classmethod
    def from_json(cls, data: dict) -> "Point":
        """The point ``to_json`` wrote (a range comes back as a tuple).  Raises ValueError if
        ``data`` is not one."""
        if not isinstance(data, dict):
            raise ValueError(f"a point is not a JSON object: {data!r:.80}")
        try:
            groups = {name: group(**{f.name: _from_json(data[f.name]) for f in fields(group) if f.name in data})
                      for name, group in _GROUPS.items()}
        except TypeError as exc:  # a key of the setup is missing
            raise ValueError(f"not a bench point ({exc}): {data!r:.80}") from None
        return cls(**groups, error=data.get("error"))


def _from_json(value):
    """A JSON value as a field holds it: a list (a range) as a tuple."""
    return tuple(value) if isinstance(value, list) else value


#: The groups of a point: its attribute, and the class of that attribute.
_GROUPS = {"setup": Setup, "traffic": Traffic, "cpu": CPU, "ratios": Ratios, "spread": Spread}

__all__ = ["POINT_KEYS", "Point", "Setup", "Traffic", "CPU", "Ratios", "Spread"]
