"""The implementations under test: what each declares and how to start it.

What an implementation declares (its name, command, model, kind, transports, IPv6,
capacity, connections, working directory, description) is written down once, in :data:`DECLARATIONS`.
Everything else is derived from that table: the keys of a manifest's ``[[implementation]]``
tables and their validation, the ``--impl-*`` options of the pytest plugin and of the
``echo-conformance`` command, the options of the reproduce line printed with every failure
(which therefore names every declaration that differs from its default) and the declarations
a report lists (:meth:`Implementation.declared`).  :class:`Implementation` writes its fields
out, for the reader; a test checks them against the table.

Command templates are shell-split first and the placeholders filled in per argument, so a
path with spaces in ``{python}`` stays one argument.
"""

from __future__ import annotations

import dataclasses
import shlex
import string
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from . import implementations

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

MODELS = ("serial", "concurrent")
KINDS = ("echo", "relay")
TRANSPORTS = ("tcp", "udp")
PLACEHOLDERS = {"host", "port", "upstream_host", "upstream_port", "python"}
BUNDLED_MANIFEST = Path(implementations.__path__[0]) / "manifest.toml"
#: where the bundled servers start (``python -m echo_conformance.implementations...``): the
#: folder that holds the package -- the checkout's root, or site-packages
PACKAGE_HOME = Path(__file__).resolve().parent.parent
SOURCES = ("--impl-cmd", "--impl-file", "--target")  # where the implementations come from
#: How many connections a server is asked to hold open at once (tcp.scale.connections, the
#: bench's largest point) when it declares neither that number nor a capacity: more than
#: select()'s FD_SETSIZE of 1024, so a server that relies on select() shows it.
DEFAULT_CONNECTIONS = 1100


class ManifestError(ValueError):
    """A usage error in an implementation declaration (reported without a traceback)."""


# --- the declaration table -----------------------------------------------------------------

@dataclass(frozen=True)
class Declaration:
    """One property an implementation declares: its manifest key is ``field``, its
    command-line option ``option`` (None: manifests only)."""

    field: str
    #: text | template | choice | list (of choices) | flag | count | directory
    type: str
    #: the value when not declared (a manifest must declare a ``required`` one)
    default: Any
    help: str
    option: str | None = None
    metavar: str | None = None
    choices: tuple[str, ...] = ()
    required: bool = False
    #: it can be declared for an already running server (--target)
    with_target: bool = True
    #: what one value is called in error messages (for lists: one item)
    what: str = ""

    @property
    def dest(self) -> str:
        """The attribute that holds the option's value (``impl_model`` for ``--impl-model``)."""
        return (self.option or "").lstrip("-").replace("-", "_")

    def default_text(self) -> str:
        if self.type == "flag":
            return ""
        if self.type == "list":
            return ",".join(self.default)
        return "" if self.default is None else str(self.default)

    def option_help(self) -> str:
        text = self.help
        if self.type == "list":
            text += f" (any of {', '.join(self.choices)}, comma-separated"
            return text + (f"; default: {self.default_text()})" if self.default_text() else ")")
        return text + (f" (default: {self.default_text()})" if self.default_text() else "")

    def argparse_kwargs(self) -> dict:
        """How to add this declaration's option to an argparse (or pytest) parser.  The
        default is None, meaning "not given": the table's default applies later."""
        if self.type == "flag":
            return {"action": "store_true", "default": None, "help": self.option_help()}
        metavar = self.metavar or ("|".join(self.choices) if self.type == "choice" else self.field.upper())
        return {"default": None, "metavar": metavar, "help": self.option_help()}

    def parse(self, value: Any, label: str, base: Path) -> Any:
        """Validate one declared value (from a manifest, an option or :func:`make`);
        ``label`` names it in the error (``--impl-model``, ``my-server: model``) and
        ``base`` is the directory a relative working directory is resolved against."""
        if self.type == "flag":
            if not isinstance(value, bool):
                raise ManifestError(f"{label} must be true or false, not {value!r}")
            return value
        if self.type == "count":
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ManifestError(f"{label} must be a positive whole number ({self.help}), not {value!r}")
            return value
        if self.type == "list":
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
                raise ManifestError(f"{label} must be a list of {self.what}s, not {value!r}")
            items = [i.strip() for i in items if i.strip()]
            if not items:
                raise ManifestError(f"{label}: no {self.what} declared")
            for item in items:
                if item not in self.choices:
                    raise ManifestError(f"{label}: unknown {self.what} {item!r} "
                                        f"(expected one of: {', '.join(self.choices)})")
            return tuple(dict.fromkeys(items))
        if self.type == "directory":
            if not isinstance(value, (str, Path)) or not str(value):
                raise ManifestError(f"{label} must be a directory, not {value!r}")
            path = (base / value).resolve()
            if not path.is_dir():
                raise ManifestError(f"{label}: no such directory: {path}")
            return path
        if self.type == "choice" and value not in self.choices:
            raise ManifestError(f"{label} must be one of {', '.join(self.choices)}, not {value!r}")
        if not isinstance(value, str):
            raise ManifestError(f"{label} must be a string, not {value!r}")
        if self.type == "template":
            _check_template(label, value)
        if self.required and not value:
            raise ManifestError(f"{label} must not be empty")
        return value

    def argv(self, value: Any) -> list[str]:
        """The option that declares ``value`` again (none for the default)."""
        if self.option is None or value == self.default or value is None:
            return []
        if self.type == "flag":
            return [self.option] if value else []
        return [self.option, ",".join(value) if self.type == "list" else str(value)]


DECLARATIONS: tuple[Declaration, ...] = (
    Declaration("name", "text", "external", "its name in reports and reproduce lines",
                option="--impl-name", metavar="NAME", required=True, what="name"),
    Declaration("command", "template", None,
                "the command that starts it: a shell-split template with {port} (and {host}, {python}; "
                "for relays {upstream_host} and {upstream_port})",
                option="--impl-cmd", metavar="TEMPLATE", required=True, with_target=False, what="command"),
    Declaration("model", "choice", "concurrent", "the concurrency it promises",
                option="--impl-model", choices=MODELS, what="model"),
    Declaration("kind", "choice", "echo", "an echo server, or a TCP relay: tested in front of an echo server",
                option="--impl-kind", choices=KINDS, what="kind"),
    Declaration("transports", "list", ("tcp",), "the transports it serves",
                option="--impl-transport", metavar="LIST", choices=TRANSPORTS, what="transport"),
    Declaration("ipv6", "flag", False, "it also serves on ::1 (the tcp6.* cases)",
                option="--impl-ipv6", what="IPv6 declaration"),
    Declaration("capacity", "count", None,
                "a fixed pool: the most clients it serves at once; the next one waits its turn "
                "(the tcp.capacity.* cases)",
                option="--impl-capacity", metavar="N", what="capacity"),
    Declaration("connections", "count", None,
                "how many connections it holds open and serves at once (tcp.scale.connections; "
                f"default: its capacity, else {DEFAULT_CONNECTIONS:,}, more than select()'s FD_SETSIZE)",
                option="--impl-connections", metavar="N", what="number of connections"),
    Declaration("cwd", "directory", None,
                "the directory its command runs in (default: the current one; in a manifest, the "
                "manifest's, and a relative one is relative to it)",
                option="--impl-cwd", metavar="DIR", with_target=False, what="working directory"),
    Declaration("description", "text", "", "what it is (manifests only; shown in reports)"),
)
DECLARED = {d.field: d for d in DECLARATIONS}
#: the keys an ``[[implementation]]`` table may hold beyond its extras (``must_fail``, ...)
MANIFEST_KEYS = frozenset(DECLARED)


# --- the implementation ----------------------------------------------------------------------

@dataclass(frozen=True)
class Implementation:
    """An implementation under test: first what it declares -- one field per row of
    :data:`DECLARATIONS`, in the table's order and with its default (a test holds the two
    together) -- then where it came from."""

    name: str
    command: str | None  # None: an already running server (--target)
    model: str = "concurrent"
    kind: str = "echo"
    transports: tuple[str, ...] = ("tcp",)
    ipv6: bool = False
    capacity: int | None = None
    connections: int | None = None
    cwd: Path | None = None
    description: str = ""
    #: an already running server (--target): its (host, port)
    target: tuple[str, int] | None = None
    #: how it was selected: "cmd" (--impl-cmd), "target" (--target), "manifest"
    source: str = "cmd"
    #: the manifest it was listed in (None for the bundled one, whose name is implied)
    manifest: str | None = None
    #: a manifest entry's other keys (must_fail, suite_args, ...): no part of its identity
    extra: dict = dataclasses.field(default_factory=dict, compare=False, hash=False)

    @property
    def held_connections(self) -> int:
        """How many connections it is asked to hold open at once: as many as it declares, else
        its capacity, else :data:`DEFAULT_CONNECTIONS`."""
        return self.connections or self.capacity or DEFAULT_CONNECTIONS

    @property
    def launched(self) -> bool:
        """True if the suite starts (and may inspect) the process itself."""
        return self.command is not None

    def argv(self, **values: object) -> list[str]:
        values.setdefault("python", sys.executable)
        return [arg.format_map(values) for arg in shlex.split(self.command or "")]

    def declared(self) -> dict[str, Any]:
        """Every declaration, JSON-ready (for reports)."""
        return {d.field: _json_ready(getattr(self, d.field)) for d in DECLARATIONS}

    def reproduce_argv(self) -> list[str]:
        """The command-line options that select this implementation again, with every
        declaration that differs from its default."""
        if self.source == "manifest":
            prefix = ["--impl-file", self.manifest] if self.manifest else []
            return [*prefix, "--impl", self.name]
        argv = ["--target", format_target(*self.target)] if self.target else []
        for d in sorted(DECLARATIONS, key=lambda d: d.field != "command"):  # --impl-cmd first
            argv += d.argv(getattr(self, d.field))
        return argv

    def reproduce_options(self) -> str:
        return shlex.join(self.reproduce_argv())


def _json_ready(value: Any) -> Any:
    """A declared value as JSON has it: a tuple as a list, a path as its text."""
    return list(value) if isinstance(value, tuple) else str(value) if isinstance(value, Path) else value


# --- building implementations ----------------------------------------------------------------

def _check_template(label: str, command: str) -> None:
    try:
        args = shlex.split(command)
    except ValueError as exc:
        raise ManifestError(f"{label}: the command template cannot be split: {exc}") from None
    if not args:
        raise ManifestError(f"{label}: the command template is empty")
    used = _placeholders(label, args)
    unknown = used - PLACEHOLDERS
    if unknown:
        raise ManifestError(
            f"{label}: unknown placeholder(s) {', '.join('{%s}' % u for u in sorted(unknown))} "
            f"in the command template (known: {', '.join('{%s}' % p for p in sorted(PLACEHOLDERS))})"
        )
    if "port" not in used:
        raise ManifestError(f"{label}: the command template must contain {{port}}: {command!r}")


def _placeholders(label: str, args: list[str]) -> set[str]:
    used: set[str] = set()
    for arg in args:
        try:
            used |= {f for _, f, _, _ in string.Formatter().parse(arg) if f is not None}
        except ValueError as exc:
            raise ManifestError(f"{label}: bad placeholder in {arg!r}: {exc}") from None
    return used


def _build(values: Mapping[str, Any], label: Callable[[Declaration], str], base: Path,
           **identity: Any) -> Implementation:
    """Validate declared ``values`` (field -> value; None or absent: not declared) through
    the table and build the :class:`Implementation`.  A manifest entry must declare the
    required ones; the command line has defaults for them (and --target no command)."""
    declared: dict[str, Any] = {}
    for d in DECLARATIONS:
        value = values.get(d.field)
        if value is None:
            if d.required and identity.get("source") == "manifest":
                raise ManifestError(f"{label(d)} is required")
            declared[d.field] = d.default
        else:
            declared[d.field] = d.parse(value, label(d), base)
    command = declared["command"]
    if command is not None and declared["kind"] == "relay":
        if "upstream_port" not in _placeholders(label(DECLARED["command"]), shlex.split(command)):
            raise ManifestError(f"{label(DECLARED['command'])}: a relay's command template must contain "
                                f"{{upstream_port}}")
    return Implementation(**declared, **identity)


def make(name: str, command: str, **declarations: Any) -> Implementation:
    """Validate one declaration and build an :class:`Implementation` (``make(name, command,
    model=..., kind=..., transports=..., ipv6=..., capacity=..., cwd=..., description=...,
    extra=...)``)."""
    if not isinstance(name, str) or not name:
        raise ManifestError("an implementation needs a non-empty name")
    extra = declarations.pop("extra", None) or {}
    unknown = set(declarations) - MANIFEST_KEYS
    if unknown:
        raise TypeError(f"make() got unknown declaration(s): {', '.join(sorted(unknown))}")
    return _build({**declarations, "name": name, "command": command}, lambda d: f"{name}: {d.field}",
                  Path.cwd(), extra=dict(extra))


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
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise ManifestError(f"{path}: no [[implementation]] tables")
    here = path.resolve().parent
    default_cwd = data.get("cwd", ".")  # a top-level cwd applies to every entry
    impls, seen = [], set()
    for number, entry in enumerate(entries, 1):
        name = entry.get("name")
        who = f"implementation {name!r}" if isinstance(name, str) and name else f"implementation #{number}"
        if name in seen:
            raise ManifestError(f"{path}: {who} is listed twice")
        seen.add(name)
        try:
            impl = _build({**entry, "cwd": entry.get("cwd", default_cwd)}, lambda d: f"{who}: {d.field}", here,
                          source="manifest", manifest=str(path),
                          extra={k: v for k, v in entry.items() if k not in MANIFEST_KEYS})
        except ManifestError as exc:
            raise ManifestError(f"{path}: {exc}") from None
        impls.append(impl)
    return impls


def parse_transports(name: str, value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    return DECLARED["transports"].parse(value, f"{name}: transports", Path.cwd())


def parse_target(value: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT`` -> (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ManifestError(f"--target must be HOST:PORT, got {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def format_target(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _is_ipv6(host: str) -> bool:
    return ":" in host  # an IPv6 literal (a host name or IPv4 address has no colon)


def bundled() -> list[Implementation]:
    # The bundled manifest's name is implied; don't make reproduce lines longer than needed.
    return [dataclasses.replace(i, manifest=None, cwd=PACKAGE_HOME) for i in load_manifest(BUNDLED_MANIFEST)]


def from_options(options: Mapping[str, Any]) -> list[Implementation]:
    """The implementations a command line selects.  ``options`` maps option destinations
    (``impl_cmd``, ``impl_model``, ..., ``impl_file``, ``target``, ``impl``) to their values,
    None for an option not given: ``vars()`` of the pytest or argparse namespace."""
    sources = [opt for opt in SOURCES if options.get(opt.lstrip("-").replace("-", "_")) is not None]
    if len(sources) > 1:
        raise ManifestError(f"use only one of {', '.join(SOURCES[:-1])} and {SOURCES[-1]}")
    given = {d.field: options.get(d.dest) for d in DECLARATIONS if d.option and options.get(d.dest) is not None}
    cmd, target = options.get("impl_cmd"), options.get("target")
    if cmd is not None or target is not None:
        if target is not None:
            for field in given:
                if not DECLARED[field].with_target:
                    raise ManifestError(f"{DECLARED[field].option} does not apply to --target "
                                        "(an already running server)")
            host, port = parse_target(target)
            if given.get("ipv6") and not _is_ipv6(host):
                raise ManifestError("--impl-ipv6 with --target: give the server's IPv6 address "
                                    "(--target [::1]:PORT) and its IPv6 cases run against it")
            given["ipv6"] = _is_ipv6(host)
            impls = [_build(given, lambda d: d.option or d.field, Path.cwd(), source="target",
                            target=(host, port))]
        else:
            impls = [_build({**given, "command": cmd}, lambda d: d.option or d.field, Path.cwd(), source="cmd")]
    else:
        if given:
            options_given = ", ".join(DECLARED[f].option for f in given)  # type: ignore[misc]
            raise ManifestError(f"{options_given}: declarations go with --impl-cmd or --target; "
                                "a manifest declares its implementations itself")
        file = options.get("impl_file")
        impls = load_manifest(Path(file)) if file else bundled()
    names = options.get("impl") or []
    if names:
        unknown = set(names) - {i.name for i in impls}
        if unknown:
            raise ManifestError(f"--impl: no implementation named {', '.join(sorted(unknown))} "
                                f"(known: {', '.join(i.name for i in impls)})")
        impls = [i for i in impls if i.name in names]
    return impls
