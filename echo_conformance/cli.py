"""``echo-conformance``: the command that runs the packaged suite (also ``python -m echo_conformance``).

It runs pytest in this process over the packaged checks only, with the package's own pytest
configuration (``suite.ini``), rootdir and confcutdir, so that no ``pytest.ini``,
``pyproject.toml`` or ``conftest.py`` of the directory it runs in takes part; every option
value reaches pytest as ``--option=value`` (pytest's early rootdir detection would take a
separate value for a path to test).  The options it shares with the plugin, and those it passes
on to pytest, are ``_options.OPTIONS``; its own (:data:`OWN_OPTIONS`) pytest never sees.

Subcommands (``echo-conformance NAME ...``) go in :data:`SUBCOMMANDS`: ``bench`` (the benchmark,
``echo_conformance.bench``; see ``echo-conformance bench --help``) and ``demo`` (the two-client
scene, ``echo_conformance._demo``; see ``echo-conformance demo --help``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import traceback
from pathlib import Path
from typing import Callable

from . import __version__
from ._command import FAILED, INTERNAL_ERROR, INTERRUPTED, OK, UNTESTABLE, USAGE_ERROR, Parser
from ._options import (CASES, CHECKS, COMMAND, OPTIONS, PACKAGE, PROG, SUITE_INI, WHAT, Option, UsageError,
                       check_prefixes, in_groups, markdown_table, pytest_argv, selected)
from ._registry import BUNDLED_MANIFEST, DECLARATIONS, ManifestError, from_options
from ._writable import check_directory, check_file, junit_path


EXIT_STATUS = (
    (OK, "conforming: every MUST-level case that ran passed (a failed SHOULD-level case is reported "
         "as an expected failure, and so is a case listed in --known-failures)"),
    (FAILED, "not conforming: a MUST-level case failed (or a SHOULD-level one, with --strict-should), "
             "or a case listed in --known-failures passed: the list is stale"),
    (INTERRUPTED, "interrupted: stopped before every case ran (Ctrl-C, SIGTERM, a session timeout, -x under "
                  "xdist) with no failure to report; the reports say how many cases ran and never call the run "
                  "conforming; every server the run started is stopped"),
    (INTERNAL_ERROR, "internal error: a bug in the suite or in a pytest plugin (the output has the traceback)"),
    (USAGE_ERROR, "usage error, reported in one line: a bad option, command template, manifest or "
                  "known-failures file, or a selection with no case to run"),
    (UNTESTABLE, "the server could not be tested, reported once, before any case ran: its command was not found "
                 "or could not be run, it exited, it never listened (or bound its UDP port) within the ready "
                 "bound, it answers only on the transport it did not declare, or nothing answers at --target"),
)
# pytest's exit codes are the command's, except 5 (no tests collected): a usage error.  (6 is the
# plugin's own, ``_preflight``'s, which pytest passes on.)
NO_TESTS_COLLECTED = 5


def _bench(argv: list[str]) -> int:
    from .bench.cli import main as bench_main  # only now: the suite's own runs stay as they were

    return bench_main(argv)


def _demo(argv: list[str]) -> int:
    from ._demo import main as demo_main

    return demo_main(argv)


#: ``echo-conformance NAME ARGS...`` runs ``SUBCOMMANDS[NAME](ARGS)``.
SUBCOMMANDS: dict[str, Callable[[list[str]], int]] = {"bench": _bench, "demo": _demo}


# --- the parser ------------------------------------------------------------------------------

def _man(text: str) -> str:
    return text.strip("\n")


DESCRIPTION = _man(f"""
NAME
    {PROG} - check that an echo server (RFC 862, TCP and UDP) or a TCP relay conforms

SYNOPSIS
    {PROG} --impl-cmd TEMPLATE [DECLARATION]... [OPTION]... [-- PYTEST-ARG...]
    {PROG} --target HOST:PORT [DECLARATION]... [OPTION]... [-- PYTEST-ARG...]
    {PROG} --impl-file FILE.toml [--impl NAME]... [OPTION]... [-- PYTEST-ARG...]
    {PROG} --bundled [--impl NAME]... [OPTION]... [-- PYTEST-ARG...]
    {PROG} --list [--markdown] [--case ID-PREFIX]... [--skip-case ID-PREFIX]...
    {PROG} --version | --help

DESCRIPTION
    Starts your server from TEMPLATE on a free loopback port (or talks to the one already
    listening at HOST:PORT), runs every conformance case that applies to what the server
    declares, and stops it, and every process it started, at the end.  Each case has a stable
    ID, a level (MUST or SHOULD) and a one-line requirement; a failure shows the requirement,
    what was expected, what was observed and a command that reproduces it.  The run ends with a
    matrix of verdicts (check group by implementation).

    Before any case runs, the server is started once (or connected to): one that does not
    start, or does not listen where it was told to, is reported once, with the likely cause,
    and the run ends there (exit status 6; --no-preflight runs the cases anyway).

    TEMPLATE is split like a shell command line, then its placeholders are filled in per
    argument:
        {{port}}             the port to listen on (required)
        {{host}}             the address to listen on: 127.0.0.1, or ::1 for the IPv6 cases
        {{python}}           the Python interpreter that runs the suite
        {{upstream_host}}    for a relay (--impl-kind relay): the echo server to relay to,
        {{upstream_port}}    which the suite runs itself ({{upstream_port}} is required)

    The cases run in pytest, in parallel (pytest-xdist), with the package's own pytest
    configuration: no pytest.ini, pyproject.toml or conftest.py of the current directory takes
    part.  Arguments after -- go to pytest as they are, e.g. -- -x --hypothesis-profile=thorough.
""")


def _epilog() -> str:
    keys = ", ".join(d.field for d in DECLARATIONS)
    status = "\n".join(f"    {code}   {_wrap(text, 8)}" for code, text in EXIT_STATUS)
    return _man(f"""
EXIT STATUS
{status}

FILES
    FILE.toml (--impl-file)
        a manifest: one [[implementation]] table per implementation, with the keys
        {_wrap(keys + ' (name and command required; other keys are kept for your own use).', 8)}
        Commands run in the manifest's directory, or in cwd (relative to it), given at the
        top for every entry or per entry.  The bundled one is
        {_wrap(str(BUNDLED_MANIFEST), 8)}
    known-failures FILE.toml (--known-failures)
        [[known-failure]] tables: case (an ID), reason, and optionally implementation (a
        name; default: every implementation under test).

ENVIRONMENT
    HYPOTHESIS_STORAGE_DIRECTORY
        where the failing examples of random checks are kept, to be tried first next time
        (default: ~/.cache/echo-conformance/hypothesis).

EXAMPLES
    {PROG} --impl-cmd "node echo.js {{host}} {{port}}"
    {PROG} --impl-cmd "./echod -l {{host}}:{{port}}" --impl-transport tcp,udp --impl-ipv6
    {PROG} --impl-cmd "./relay {{port}} {{upstream_host}} {{upstream_port}}" --impl-kind relay
    {PROG} --target 127.0.0.1:2007 --case tcp.echo --case tcp.halfclose
    {PROG} --impl-file servers.toml --known-failures known.toml --report out/
    {PROG} --list --case tcp.halfclose

SEE ALSO
    pytest -p echo_conformance --impl-cmd TEMPLATE runs the same cases inside your own pytest
    run (and its JUnit XML), with the same options.
    {PROG} demo NAME (or --impl-cmd, --target) plays the classic two-client scene
    on a server and prints its timeline; {PROG} bench measures it.
    RFC 862: Echo Protocol.
""")


def _wrap(text: str, indent: int, width: int = 92) -> str:
    import textwrap

    lines = textwrap.wrap(text, width - indent, break_on_hyphens=False, break_long_words=False)
    return ("\n" + " " * indent).join(lines)


class _ManFormatter(argparse.RawDescriptionHelpFormatter):
    """Sections like a man page: an option on its line, its help indented below."""

    def __init__(self, prog: str) -> None:
        width = min(shutil.get_terminal_size((100, 24)).columns, 100) - 2
        super().__init__(prog, indent_increment=4, max_help_position=8, width=width)

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if not action.option_strings or action.nargs == 0:
            return super()._format_action_invocation(action)
        metavar = self._format_args(action, self._get_default_metavar_for_optional(action))
        return ", ".join(f"{opt} {metavar}" for opt in action.option_strings)


class _Parser(Parser):
    """The command's parser: its --help laid out as a manual page."""

    def format_help(self) -> str:
        formatter = self._get_formatter()
        formatter.add_text(self.description)
        for group in self._action_groups:
            formatter.start_section(group.title)
            formatter.add_text(group.description)
            formatter.add_arguments(group._group_actions)
            formatter.end_section()
        formatter.add_text(self.epilog)
        text = formatter.format_help()
        return re.sub(r"^([A-Z][^\n:]*):$", r"\1", text, flags=re.M)  # man-style headings


#: the command's own options, which it does not pass to pytest (those it does: ``_options.OPTIONS``)
OWN_OPTIONS = (
    Option("--bundled", "test the bundled reference servers (implied by --impl without --impl-file)", WHAT,
           default=False, scope=COMMAND),
    Option("--list", "list the cases (those selected by --case and --skip-case): ID, level, what it applies to "
                     "and its requirement; run nothing", CASES, default=False, scope=COMMAND),
    Option("--markdown", "with --list: as a Markdown table", CASES, default=False, scope=COMMAND),
)
#: the README's last row of options: what the command does not parse
PYTEST_ARGS_ROW = ("| `-- ARGS` | pass the rest to pytest, e.g. `-- --hypothesis-profile=thorough` (many more "
                   "random payloads and chunkings) |")


def parser() -> argparse.ArgumentParser:
    p = _Parser(PROG, DESCRIPTION, epilog=_epilog(), formatter_class=_ManFormatter)
    for title, options in in_groups((*OPTIONS, *OWN_OPTIONS)):
        group = p.add_argument_group(title)
        for option in options:
            group.add_argument(*option.command_names, **option.argparse_kwargs())
    info = p.add_argument_group("INFORMATION")
    info.add_argument("-h", "--help", action="help", help="show this help and exit")
    info.add_argument("--version", action="version", version=f"{PROG} {__version__}",
                      help="show the version and exit")
    return p


def markdown_options() -> str:
    """The README's table of the command's options (``python -m tests._docs`` writes it)."""
    return f"{markdown_table((*OPTIONS, *OWN_OPTIONS))}\n{PYTEST_ARGS_ROW}"


# --- running ---------------------------------------------------------------------------------

#: What the command's output leaves out of pytest's: the plugin's report writer lists each failure
#: (``_page``) and ends with the tally, so pytest's own failure reports (--tb=no), short
#: summary (-rN) and closing "N passed in X s" line (-qq) would only repeat it; xdist's
#: reporter (its "bringing up nodes..." line, printed twice where the output is not a terminal)
#: is not loaded, which leaves the one line xdist prints itself.
QUIET = ["-qq", "--tb=no", "-rN", "-p", "no:terminaldistreporter"]


def pytest_args(ns: argparse.Namespace, extra: list[str]) -> list[str]:
    """The pytest command line for parsed options ``ns`` (always ``--option=value``)."""
    args = ["-p", "echo_conformance.plugin", "-p", "no:cacheprovider", "-p", "no:randomly",
            f"--config-file={SUITE_INI}", f"--rootdir={PACKAGE.parent}", f"--confcutdir={PACKAGE}", *QUIET]
    return [*args, *pytest_argv(vars(ns)), str(CHECKS), *extra]


def _check(ns: argparse.Namespace) -> None:
    """Everything that can be checked before pytest starts, so bad input is one line."""
    sources = [o for o, v in (("--impl-cmd", ns.impl_cmd), ("--target", ns.target),
                              ("--impl-file", ns.impl_file)) if v is not None]
    if ns.bundled and sources:
        raise UsageError(f"--bundled and {sources[0]}: use only one")
    if not sources and not ns.bundled and not ns.impl:
        raise UsageError("nothing to test: give --impl-cmd TEMPLATE, --target HOST:PORT or --impl-file "
                         "FILE.toml (or --bundled for the reference servers)")
    if ns.workers != "auto" and not (ns.workers.isdigit()):
        raise UsageError(f"--workers must be a number of processes or auto, not {ns.workers!r}")
    if not ns.timeout_scale > 0:
        raise UsageError("--timeout-scale must be positive")
    try:
        from_options(vars(ns))
    except ManifestError as exc:
        raise UsageError(str(exc)) from None
    if ns.report:
        check_directory(ns.report, "--report")
    if ns.junitxml:
        check_file(junit_path(ns.junitxml), "--junitxml")
    # (--case and --skip-case are checked by the plugin: importing the checks here, before
    # pytest starts, would keep pytest from rewriting hypothesis's asserts)


def list_cases(ns: argparse.Namespace) -> int:
    from . import _catalogue

    catalogue = _catalogue.load()
    check_prefixes(catalogue, ns.case, ns.skip_case)
    specs = [spec for spec in catalogue.values() if selected(spec.id, ns.case, ns.skip_case)]
    print(_catalogue.markdown_table(specs) if ns.markdown else _catalogue.text_listing(specs))
    return OK


def run(ns: argparse.Namespace, extra: list[str]) -> int:
    _check(ns)
    import pytest  # only now: --help, --version and --list stay quick

    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY",
                          str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                              / "echo-conformance" / "hypothesis"))
    sys.stdout.flush()
    status = int(pytest.main(pytest_args(ns, extra)))
    if status == NO_TESTS_COLLECTED:
        print(f"{PROG}: error: no case to run: none of the selected cases applies to what the "
              "implementation declares (see --list)", file=sys.stderr)
        return USAGE_ERROR
    return status


def main(argv: list[str] | None = None) -> int:
    status = _main(argv)
    if status == INTERRUPTED:
        _forget_the_interrupt()
    return status


def _forget_the_interrupt() -> None:
    """Exit 2 after Ctrl-C, not by SIGINT.  CPython kills itself with SIGINT at exit if a
    KeyboardInterrupt ever left code run by exec() of a string (dataclasses and namedtuples
    build their methods so), even one caught later, as pytest catches it: the flag is set in
    run_eval_code_obj() in Python/pythonrun.c and cleared only by the next such exec.  Seen
    as exit status -2 in about 1 of 10 interrupted runs."""
    exec("pass")


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS:
            return SUBCOMMANDS[argv[0]](argv[1:])
        extra: list[str] = []
        if "--" in argv:
            at = argv.index("--")
            argv, extra = argv[:at], argv[at + 1:]
        ns = parser().parse_args(argv)
        if ns.list or ns.markdown:
            return list_cases(ns)
        return run(ns, extra)
    except UsageError as exc:
        hint = "" if "(see " in str(exc) else f" (see {PROG} --help)"
        print(f"{PROG}: error: {exc}{hint}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:  # --list | head
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return OK
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else OK
    except Exception:  # noqa: BLE001 - a bug: say so, with the traceback, and exit 3
        traceback.print_exc()
        print(f"{PROG}: internal error (a bug: please report it with the output above)", file=sys.stderr)
        return INTERNAL_ERROR


def entry_point() -> None:
    sys.exit(main())

