"""What the commands (``echo-conformance``, its ``demo`` and ``bench``) share: their exit statuses, the parts of their
parsers that are the same (errors raised as usage errors, the options that declare a server),
and the wrapper that turns a command's outcome into a message and an exit status.

A command is a function ``run(argv) -> status``; :func:`run_command` calls it and reports a
:class:`UsageError` as one line on stderr (status 4), Ctrl-C as ``interrupted`` (status 2), and
``--help``'s exit as the status it asked for.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, NoReturn

from ._registry import DECLARATIONS, DECLARED

OK, FAILED, INTERRUPTED, INTERNAL_ERROR, USAGE_ERROR = 0, 1, 2, 3, 4
#: the server could not be tested: it did not start, or did not listen (or answer) where it was
#: told to (``_preflight``); not 5, which pytest's run, under the plugin, returns for "no tests collected"
UNTESTABLE = 6


class UsageError(Exception):
    """Bad input: reported in one line, exit status 4."""


class Parser(argparse.ArgumentParser):
    """A command's parser: its description printed as written, no abbreviated options, -h in a
    group of its own (add_information, last), and errors raised as UsageError rather than printed."""

    def __init__(self, prog: str, description: str, *, epilog: str | None = None,
                 formatter_class: type[argparse.HelpFormatter] = argparse.RawDescriptionHelpFormatter) -> None:
        super().__init__(prog=prog, description=description, epilog=epilog, formatter_class=formatter_class,
                         add_help=False, allow_abbrev=False)

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)

    def add_declarations(self) -> None:
        """The suite's declarations of a server given by --impl-cmd or --target (--impl-name, ...)."""
        declared = self.add_argument_group("DECLARATIONS (with --impl-cmd or --target, as for the suite)")
        for d in DECLARATIONS:
            if d.option and d is not DECLARED["command"]:
                declared.add_argument(d.option, dest=d.dest, **d.argparse_kwargs())

    def add_information(self) -> None:
        info = self.add_argument_group("INFORMATION")
        info.add_argument("-h", "--help", action="help", help="show this help and exit")


def add_command_template(group, help: str) -> None:
    """The --impl-cmd option (a command template that starts the server), with this command's ``help``."""
    command = DECLARED["command"]
    group.add_argument(command.option, dest=command.dest, **{**command.argparse_kwargs(), "help": help})


def positive(text: str) -> float:
    """An argparse type: a number greater than zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def run_command(prog: str, run: Callable[[list[str]], int], argv: list[str] | None = None) -> int:
    """``run(argv)`` (the process's arguments by default), its failures told as ``prog``'s."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return run(argv)
    except UsageError as exc:
        print(f"{prog}: error: {exc} (see {prog} --help)", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else OK
