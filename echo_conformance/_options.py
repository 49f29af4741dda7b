"""The suite's command-line options, written down once in :data:`OPTIONS`.

Theory of operation
-------------------
The options live in two parsers: the pytest plugin's (``pytest -p echo_conformance ...``) and
the ``echo-conformance`` command's, which runs pytest and passes its options on.  Each
:class:`Option` says how the command spells it and how pytest does, its metavar, default and
help, which section of the command's ``--help`` it is shown in, the GitHub Action input that
sets it, and whether a reproduce line repeats it.  From the table are built the plugin's
``pytest_addoption``, the command's parser, the command's translation to pytest arguments
(:func:`pytest_argv`), the ``--timeout-scale`` part of every reproduce line
(:func:`reproduce_argv`) and the README's table of options (:func:`markdown_table`).
``tests/test_options.py`` checks ``action.yml`` and ``scripts/action-run.sh`` against it.

The implementation's declarations (``--impl-cmd``, ``--impl-name``, ...) are ``_registry``'s
table: their rows here take name, metavar, default and help from it.  The command's own options,
which pytest never sees (``--list``, ``--bundled``, ...), are declared in ``cli`` with the same
:class:`Option`.  The case-prefix filter of ``--case`` and ``--skip-case`` is here too, for the
plugin's selection and the command's ``--list`` alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from . import checks
from ._command import UsageError  # noqa: F401  (bad input; under pytest, its usage error)
from ._registry import DECLARATIONS, DECLARED

PROG = "echo-conformance"
PACKAGE = Path(__file__).resolve().parent
#: the checks: conformance/ in a checkout, the package's checks/ when installed
CHECKS = Path(checks.__path__[0]).resolve()
#: the pytest configuration the command runs with (the plugin recognises its runs by it)
SUITE_INI = PACKAGE / "suite.ini"


# --- the table -------------------------------------------------------------------------------

#: where an option exists: the plugin adds it (and the command passes it on) ...
SUITE = "suite"
#: ... pytest or a plugin of it has it already (the command passes it on) ...
PYTEST = "pytest"
#: ... or only the command has it, and pytest never sees it
COMMAND = "command"

#: the sections of the command's --help, in order; each option is shown in one
WHAT = "WHAT TO TEST (one of)"
DECLARING = "DECLARATIONS (with --impl-cmd or --target; a manifest declares them as keys)"
CASES = "CASES"
RUNNING = "RUNNING"
GROUPS = (WHAT, DECLARING, CASES, RUNNING)


@dataclass(frozen=True)
class Option:
    """One option.  Without a ``metavar`` it is a flag; a ``repeatable`` one starts empty."""

    name: str  # the command's: --report
    help: str
    group: str  # its section of the command's --help
    metavar: str | None = None
    default: Any = None
    type: Callable[[str], Any] | None = None
    repeatable: bool = False
    short: str | None = None  # the command's short name: -n
    scope: str = SUITE
    under_pytest: str | None = None  # pytest's name, where it differs: --conformance-report
    action_input: str | None = None  # the GitHub Action's input that sets it (action.yml)
    reproduce: bool = False  # every reproduce line repeats it, unless it has its default

    @property
    def pytest_name(self) -> str:
        return self.under_pytest or self.name

    @property
    def dest(self) -> str:
        """The attribute that holds the command's value (``report`` for ``--report``)."""
        return _dest(self.name)

    @property
    def pytest_dest(self) -> str:
        """The attribute of pytest's ``config.option`` that holds its value."""
        return _dest(self.pytest_name)

    @property
    def command_names(self) -> tuple[str, ...]:
        return (self.short, self.name) if self.short else (self.name,)

    def text(self, value: Any) -> str:
        """``value`` as the command line gives it (3.0 as 3)."""
        return f"{value:g}" if isinstance(value, float) else str(value)

    def help_text(self) -> str:
        shown = self.metavar is not None and not self.repeatable and self.default is not None
        return f"{self.help} (default: {self.text(self.default)})" if shown else self.help

    def argparse_kwargs(self) -> dict[str, Any]:
        """How to add the option to an argparse parser, or to pytest's (``addoption`` takes the same)."""
        if self.metavar is None:
            return {"action": "store_true", "default": self.default, "help": self.help_text()}
        kwargs: dict[str, Any] = {"metavar": self.metavar, "default": [] if self.repeatable else self.default,
                                  "help": self.help_text()}
        if self.repeatable:
            kwargs["action"] = "append"
        if self.type is not None:
            kwargs["type"] = self.type
        return kwargs

    def pytest_argv(self, value: Any) -> list[str]:
        """The pytest arguments that pass the command's ``value`` on (always ``--option=value``)."""
        if value is None or value is False:
            return []
        if value is True:
            return [self.pytest_name]
        values = value if self.repeatable else [value]
        return [f"{self.pytest_name}={self.text(v)}" for v in values]

    def again(self, value: Any, under_pytest: bool) -> list[str]:
        """The arguments that give ``value`` again, spelled for pytest or the command (none for the default)."""
        if value == self.default or value is None or value is False:
            return []
        name = self.pytest_name if under_pytest else self.name
        return [name] if value is True else [name, self.text(value)]


def _dest(name: str) -> str:
    return name.lstrip("-").replace("-", "_")


def _declared(field: str, group: str = DECLARING, meaning: str | None = None,
              action_input: str | None = None) -> Option:
    """The option of one of ``_registry.DECLARATIONS``: its name, metavar, default and help
    are the declaration's; the Action's input is named after its field unless given."""
    d = DECLARED[field]
    kwargs = d.argparse_kwargs()
    return Option(d.option, meaning or kwargs["help"], group, metavar=kwargs.get("metavar"),  # type: ignore[arg-type]
                  action_input=action_input or field)


OPTIONS: tuple[Option, ...] = (
    _declared("command", WHAT, action_input="impl-cmd",
              meaning="test the server this command starts: a template, split like a shell command line, with "
                   "{port} (required), {host} and {python}; for a relay (--impl-kind relay) also "
                   "{upstream_host} and {upstream_port}"),
    Option("--target", "test the server already listening there ([::1]:PORT for IPv6); the cases that start, "
                       "stop or inspect the server process are skipped, with the reason",
           WHAT, metavar="HOST:PORT", action_input="target"),
    Option("--impl-file", "test the implementations listed in this manifest, a TOML file of "
                          "[[implementation]] tables (the bundled one: implementations/manifest.toml)",
           WHAT, metavar="FILE.toml", action_input="impl-file"),
    Option("--impl", "only this implementation of the manifest (repeatable; without --impl-file: of the "
                     "bundled reference servers)", WHAT, metavar="NAME", repeatable=True),
    *(_declared(d.field) for d in DECLARATIONS if d.option and d.field != "command"),
    Option("--case", "only the cases whose ID starts with ID-PREFIX, e.g. tcp.halfclose (repeatable)",
           CASES, metavar="ID-PREFIX", repeatable=True),
    Option("--skip-case", "leave out the cases whose ID starts with ID-PREFIX, e.g. tcp.scale (repeatable)",
           CASES, metavar="ID-PREFIX", repeatable=True),
    Option("--workers", "run on N processes at once; auto: two per CPU core; 0: in this process only",
           RUNNING, metavar="N", default="auto", short="-n", scope=PYTEST, under_pytest="--numprocesses"),
    Option("--timeout-scale", "stretch every time bound of echo_conformance/_bounds.py by FACTOR, e.g. 3 on a "
                              "slow or loaded machine",
           RUNNING, metavar="FACTOR", default=1.0, type=float, reproduce=True),
    Option("--strict-should", "a failed SHOULD-level case fails the run too", RUNNING, default=False),
    Option("--no-preflight", "run the cases even if the server cannot be tested: by default each implementation is "
                             "started (or reached) once first, and one that does not start or does not listen is "
                             "reported once and the run ends with exit status 6", RUNNING, default=False),
    Option("--verbose", "show each failure in full: everything observed, the notes, the server's last output and "
                        "a longer wire timeline (by default a failure takes about a dozen lines)",
           RUNNING, default=False, short="-v", under_pytest="--conformance-verbose"),
    Option("--known-failures", "cases you knowingly fail, a TOML file of [[known-failure]] tables (case, "
                               "reason, and optionally implementation): reported as expected failures; one "
                               "that passes fails the run as stale",
           RUNNING, metavar="FILE.toml", action_input="known-failures"),
    Option("--report", "write report.json, report.md and report.html (every verdict, with what was expected "
                       "and observed and how to reproduce it) to DIR",
           RUNNING, metavar="DIR", under_pytest="--conformance-report", action_input="report-dir"),
    Option("--junitxml", "also write JUnit XML (each case's ID is a property)", RUNNING, metavar="FILE",
           scope=PYTEST),
)
#: the options the plugin adds to pytest
PLUGIN_OPTIONS = tuple(option for option in OPTIONS if option.scope == SUITE)


def in_groups(options: Iterable[Option]) -> list[tuple[str, list[Option]]]:
    """``options`` by section of the command's --help, in :data:`GROUPS` order."""
    options = list(options)
    return [(group, [o for o in options if o.group == group]) for group in GROUPS]


def pytest_argv(values: Mapping[str, Any]) -> list[str]:
    """The pytest arguments that pass the command's option ``values`` (by ``dest``) on."""
    return [arg for option in OPTIONS if option.scope != COMMAND for arg in option.pytest_argv(values.get(option.dest))]


def reproduce_argv(values: Mapping[str, Any], under_pytest: bool) -> list[str]:
    """The options of pytest's ``values`` (by ``pytest_dest``) that a reproduce line repeats."""
    return [arg for option in OPTIONS if option.reproduce
            for arg in option.again(values.get(option.pytest_dest), under_pytest)]


def markdown_table(options: Iterable[Option]) -> str:
    """The README's table of ``options``, in the order of the command's --help."""
    lines = ["| option | meaning |", "|---|---|"]
    for _, group in in_groups(options):
        lines += [f"| {_markdown_names(o)} | {_markdown_help(o)} |" for o in group]
    return "\n".join(lines)


def _markdown_names(option: Option) -> str:
    metavar = f" {option.metavar}" if option.metavar else ""
    return ", ".join(f"`{name}{metavar}`".replace("|", "\\|") for name in option.command_names)


#: what the README shows as code: options, placeholders and file names
_CODE = re.compile(r"--[a-z][a-z-]*|\{[a-z_]+\}|[\w/]+\.(?:py|toml)\b")


def _markdown_help(option: Option) -> str:
    text = _CODE.sub(lambda found: f"`{found.group()}`", option.help_text())
    if option.scope == COMMAND:
        text += " — the command's own"
    elif option.under_pytest:
        metavar = f" {option.metavar}" if option.metavar else ""
        text += f" — under pytest: `{option.under_pytest}{metavar}`"
    return text.replace("|", "\\|")


# --- the case-prefix filter ------------------------------------------------------------------

def _starts_any(case_id: str, prefixes: Iterable[str]) -> bool:
    return any(case_id.startswith(prefix) for prefix in prefixes)


def selected(case_id: str, case: Sequence[str], skip_case: Sequence[str]) -> bool:
    """--case and --skip-case: the case runs if its ID starts with a --case prefix (or none is
    given) and with no --skip-case prefix."""
    return (not case or _starts_any(case_id, case)) and not _starts_any(case_id, skip_case)


def check_prefixes(case_ids: Iterable[str], case: Sequence[str], skip_case: Sequence[str]) -> None:
    """A --case or --skip-case prefix that starts none of ``case_ids`` is a typo: say so rather than run nothing."""
    case_ids = list(case_ids)
    for option, prefixes in (("--case", case), ("--skip-case", skip_case)):
        for prefix in prefixes:
            if not any(selected(case_id, [prefix], []) for case_id in case_ids):
                raise UsageError(f"{option} {prefix}: no case ID starts with {prefix!r} (see {PROG} --list)")
