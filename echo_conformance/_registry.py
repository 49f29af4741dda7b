"""The implementations under test: what each declares and how to start it.

An implementation is a name, a command template and its declarations (model, kind,
transports).  Templates are shell-split first and the placeholders filled in per argument,
so a path with spaces in ``{python}`` stays one argument.
"""

from __future__ import annotations

import shlex
import string
import sys
from dataclasses import dataclass, field
from pathlib import Path

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

MODELS = ("serial", "concurrent")
KINDS = ("echo", "relay")
TRANSPORTS = ("tcp", "udp")
PLACEHOLDERS = {"host", "port", "upstream_host", "upstream_port", "python"}
BUNDLED_MANIFEST = Path(__file__).resolve().parent / "implementations" / "manifest.toml"


class ManifestError(ValueError):
    """A usage error in an implementation declaration (reported without a traceback)."""


@dataclass(frozen=True)
class Implementation:
    name: str
    command: str | None  # None: an already running server (--target)
    model: str = "concurrent"
    kind: str = "echo"
    transports: tuple[str, ...] = ("tcp",)
    ipv6: bool = False
    #: the most simultaneous connections it promises to serve (None: no declared limit)
    capacity: int | None = None
    cwd: Path | None = None
    description: str = ""
    target: tuple[str, int] | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def launched(self) -> bool:
        """True if the suite starts (and may inspect) the process itself."""
        return self.command is not None

    def argv(self, **values: object) -> list[str]:
        values.setdefault("python", sys.executable)
        return [arg.format_map(values) for arg in shlex.split(self.command or "")]

    def reproduce_options(self) -> str:
        """The command-line options that select this implementation again."""
        if self.target is not None:
            return f"--target {self.target[0]}:{self.target[1]}"
        if self.extra.get("source") == "cmd":
            opts = [f"--impl-cmd {shlex.quote(self.command or '')}", f"--impl-name {self.name}"]
            opts += [f"--impl-model {self.model}", f"--impl-kind {self.kind}"]
            opts.append(f"--impl-transport {','.join(self.transports)}")
            return " ".join(opts)
        manifest = self.extra.get("manifest")
        prefix = f"--impl-file {manifest} " if manifest else ""
        return f"{prefix}--impl {self.name}"


def _check_choice(name: str, what: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ManifestError(f"{name}: unknown {what} {value!r} (expected one of: {', '.join(choices)})")
    return value


def _check_template(name: str, command: str, kind: str) -> None:
    try:
        args = shlex.split(command)
    except ValueError as exc:
        raise ManifestError(f"{name}: command template cannot be split: {exc}") from None
    if not args:
        raise ManifestError(f"{name}: command template is empty")
    used = set()
    for arg in args:
        try:
            used |= {f for _, f, _, _ in string.Formatter().parse(arg) if f is not None}
        except ValueError as exc:
            raise ManifestError(f"{name}: bad placeholder in {arg!r}: {exc}") from None
    unknown = used - PLACEHOLDERS
    if unknown:
        raise ManifestError(
            f"{name}: unknown placeholder(s) {', '.join('{%s}' % u for u in sorted(unknown))} "
            f"in command template (known: {', '.join('{%s}' % p for p in sorted(PLACEHOLDERS))})"
        )
    if "port" not in used:
        raise ManifestError(f"{name}: command template must contain {{port}}: {command!r}")
    if kind == "relay" and "upstream_port" not in used:
        raise ManifestError(f"{name}: a relay's command template must contain {{upstream_port}}")


def parse_transports(name: str, value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    items = [item.strip() for item in items if item.strip()]
    if not items:
        raise ManifestError(f"{name}: no transport declared")
    for item in items:
        _check_choice(name, "transport", item, TRANSPORTS)
    return tuple(dict.fromkeys(items))


def make(
    name: str,
    command: str,
    *,
    model: str = "concurrent",
    kind: str = "echo",
    transports: str | list[str] | tuple[str, ...] = ("tcp",),
    ipv6: bool = False,
    capacity: int | None = None,
    cwd: Path | None = None,
    description: str = "",
    extra: dict | None = None,
) -> Implementation:
    """Validate one declaration and build an :class:`Implementation`."""
    if not name or not isinstance(name, str):
        raise ManifestError("an implementation needs a non-empty name")
    _check_choice(name, "model", model, MODELS)
    _check_choice(name, "kind", kind, KINDS)
    _check_template(name, command, kind)
    if capacity is not None and (not isinstance(capacity, int) or capacity < 1):
        raise ManifestError(f"{name}: capacity must be a positive number of connections, not {capacity!r}")
    return Implementation(
        name=name,
        command=command,
        model=model,
        kind=kind,
        transports=parse_transports(name, transports),
        ipv6=bool(ipv6),
        capacity=capacity,
        cwd=cwd,
        description=description,
        extra=dict(extra or {}),
    )


_KNOWN_KEYS = {"name", "command", "model", "kind", "transports", "ipv6", "capacity", "cwd", "description"}


def load_manifest(path: Path) -> list[Implementation]:
    """Read a manifest: a TOML file of ``[[implementation]]`` tables.  Commands run in the
    manifest's directory, or in ``cwd`` (relative to it) given at the top or per entry."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"manifest not found: {path}") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc}") from None
    entries = data.get("implementation")
    if not isinstance(entries, list) or not entries:
        raise ManifestError(f"{path}: no [[implementation]] tables")
    here = path.resolve().parent
    default_cwd = data.get("cwd", ".")  # a top-level cwd applies to every entry
    impls, seen = [], set()
    for entry in entries:
        name = entry.get("name", "")
        if "command" not in entry:
            raise ManifestError(f"{path}: implementation {name!r} has no command")
        if name in seen:
            raise ManifestError(f"{path}: implementation {name!r} is listed twice")
        seen.add(name)
        extra = {k: v for k, v in entry.items() if k not in _KNOWN_KEYS}
        extra["manifest"] = str(path)
        impls.append(
            make(
                name,
                entry["command"],
                model=entry.get("model", "concurrent"),
                kind=entry.get("kind", "echo"),
                transports=entry.get("transports", ["tcp"]),
                ipv6=entry.get("ipv6", False),
                capacity=entry.get("capacity"),
                cwd=(here / entry.get("cwd", default_cwd)).resolve(),
                description=entry.get("description", ""),
                extra=extra,
            )
        )
    return impls


def parse_target(value: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT`` -> (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ManifestError(f"--target must be HOST:PORT, got {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def bundled() -> list[Implementation]:
    impls = load_manifest(BUNDLED_MANIFEST)
    # The bundled manifest's name is implied; don't make reproduce lines longer than needed.
    return [
        Implementation(**{**i.__dict__, "extra": {**i.extra, "manifest": None}})  # type: ignore[arg-type]
        for i in impls
    ]
