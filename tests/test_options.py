"""The option table (``echo_conformance/_options.py``) against what is built from it -- the
plugin's options, the command's parser, its pytest arguments, reproduce lines, the README's
table -- and against what is written by hand beside it: the GitHub Action's inputs
(``action.yml``) and its run script (``scripts/action-run.sh``).  And the --case/--skip-case filter."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import pytest

from echo_conformance import plugin
from echo_conformance._options import (COMMAND, GROUPS, OPTIONS, PLUGIN_OPTIONS, PYTEST, SUITE, Option, UsageError,
                                       check_prefixes, reproduce_argv, selected)
from echo_conformance.cli import CHECKS, OWN_OPTIONS, markdown_options, parser, pytest_args

from ._suite import ROOT
from .test_cli import run_action

ACTION = ROOT / "action.yml"
#: the Action's inputs that set no option of the command, and what the Action does with each
ACTION_ONLY = {
    "artifact-name": "names the uploaded report artifact",
    "python-version": "the Python that actions/setup-python installs to run the suite",
    "extra-args": "more options, passed to the command as they are",
}


def action_inputs() -> list[str]:
    text = ACTION.read_text()
    block = text[text.index("\ninputs:\n"):text.index("\nruns:\n")]
    return re.findall(r"^  ([a-z0-9-]+):$", block, re.M)


def plugin_parser() -> argparse.ArgumentParser:
    """An argparse parser holding what the plugin's ``pytest_addoption`` adds (pytest's
    ``addoption`` takes argparse's arguments)."""
    into = argparse.ArgumentParser(add_help=False)

    class Group:
        addoption = staticmethod(into.add_argument)

    class Parser:
        def getgroup(self, *args, **kwargs):
            return Group()

    plugin.pytest_addoption(Parser())  # type: ignore[arg-type]
    return into


def defaults_by_names(p: argparse.ArgumentParser) -> dict[tuple[str, ...], object]:
    return {tuple(a.option_strings): a.default for a in p._actions}


def sample_argv(option: Option) -> list[str]:
    """The command's arguments that give ``option`` a value of its own."""
    if option.metavar is None:
        return [option.name]
    if option.repeatable:
        return [option.name, "first", option.name, "second"]
    return [option.name, "2.5" if option.type is float else f"the-{option.dest}"]


# --- the table ---------------------------------------------------------------------------------

def test_every_option_has_one_name_a_section_and_a_scope():
    every = (*OPTIONS, *OWN_OPTIONS)
    names = [name for o in every for name in o.command_names]
    assert len(names) == len(set(names))
    assert len({o.pytest_dest for o in OPTIONS}) == len(OPTIONS)
    assert all(o.group in GROUPS for o in every)
    assert {o.scope for o in OPTIONS} <= {SUITE, PYTEST} and {o.scope for o in OWN_OPTIONS} == {COMMAND}
    assert not any(o.action_input or o.reproduce for o in OWN_OPTIONS)


def test_the_plugin_adds_the_suite_options_with_the_tables_defaults():
    added = defaults_by_names(plugin_parser())
    assert added == {(o.pytest_name,): o.argparse_kwargs()["default"] for o in PLUGIN_OPTIONS}
    assert not {(o.pytest_name,) for o in OPTIONS if o.scope == PYTEST} & set(added)  # pytest's own


def test_the_commands_parser_has_every_option_with_the_tables_default():
    options = defaults_by_names(parser())
    expected = {o.command_names: o.argparse_kwargs()["default"] for o in (*OPTIONS, *OWN_OPTIONS)}
    assert {names: options[names] for names in expected} == expected
    assert set(options) - set(expected) == {("-h", "--help"), ("--version",)}


def test_the_command_passes_every_option_on_to_pytest_by_its_pytest_name():
    ns = parser().parse_args([arg for o in (*OPTIONS, *OWN_OPTIONS) for arg in sample_argv(o)])
    args = pytest_args(ns, ["-x"])
    under_pytest, _ = plugin_parser().parse_known_args(args)
    for option in PLUGIN_OPTIONS:
        assert getattr(under_pytest, option.pytest_dest) == getattr(ns, option.dest), option.name
    for option in OPTIONS:
        if option.scope == PYTEST:
            assert f"{option.pytest_name}={getattr(ns, option.dest)}" in args, option.name
    for option in OWN_OPTIONS:
        assert not any(arg.startswith(option.name) for arg in args), option.name
    assert args[-2:] == [str(CHECKS), "-x"]  # the checks, then what followed -- as it was


def test_without_options_the_command_passes_on_only_the_options_with_a_default():
    args = pytest_args(parser().parse_args([]), [])
    assert "--numprocesses=auto" in args and "--timeout-scale=1" in args
    assert not any(arg.startswith(f"{o.pytest_name}=") for o in OPTIONS if o.default is None for arg in args)


@pytest.mark.parametrize("scale, under_pytest, expected", [
    (1.0, False, []),
    (3.0, False, ["--timeout-scale", "3"]),
    (2.5, True, ["--timeout-scale", "2.5"]),
])
def test_a_reproduce_line_repeats_the_timeout_scale_unless_it_is_the_default(scale, under_pytest, expected):
    assert reproduce_argv({"timeout_scale": scale, "strict_should": True}, under_pytest) == expected


def test_the_readmes_table_has_a_row_for_every_option():
    rows = markdown_options().splitlines()
    for option in (*OPTIONS, *OWN_OPTIONS):
        name = option.command_names[0]
        assert sum(row.startswith((f"| `{name} ", f"| `{name}`")) for row in rows) == 1, option.name


# --- the GitHub Action -------------------------------------------------------------------------

def test_every_action_input_sets_an_option_of_the_table_or_is_the_actions_own():
    inputs = action_inputs()
    by_table = {o.action_input for o in OPTIONS if o.action_input}
    assert len(inputs) == len(set(inputs))
    assert set(inputs) - set(ACTION_ONLY) == by_table  # both ways: none missing, none unknown
    assert set(ACTION_ONLY) <= set(inputs)


def test_every_input_but_the_setup_ones_reaches_the_run_script():
    text = ACTION.read_text()
    for name in set(action_inputs()) - {"python-version", "artifact-name"}:
        assert f"INPUT_{name.upper().replace('-', '_')}: ${{{{ inputs.{name} }}}}" in text, name


def recorded_argv(tmp: Path, inputs: dict[str, str]) -> list[str]:
    """The command line the run script makes of ``inputs``."""
    recorder = tmp / "record.py"
    recorder.write_text("import json, sys\njson.dump(sys.argv[1:], open('argv.json', 'w'))\n")
    run = run_action(tmp, inputs, f"{sys.executable} {recorder}")
    assert run.returncode == 0, run.stderr
    return json.loads((tmp / "argv.json").read_text())


def test_the_run_script_passes_each_input_to_the_command_as_its_option(tmp_path):
    with_input = [o for o in OPTIONS if o.action_input]
    values = {o.action_input: "true" if o.metavar is None else f"the {o.action_input}" for o in with_input}
    argv = recorded_argv(tmp_path, {**values, "extra-args": "--case 'tcp.echo' --strict-should"})
    ns = parser().parse_args(argv)  # the options' real names, or a usage error
    for option in with_input:
        expected = True if option.metavar is None else values[option.action_input]  # type: ignore[index]
        assert getattr(ns, option.dest) == expected, option.name
    assert (ns.case, ns.strict_should) == (["tcp.echo"], True)


def test_the_run_script_passes_empty_inputs_on_as_nothing(tmp_path):
    assert recorded_argv(tmp_path, {"ipv6": "false"}) == ["--report=echo-conformance-report"]  # the Action's default


# --- the case-prefix filter --------------------------------------------------------------------

SELECTIONS = [  # (case ID, --case prefixes, --skip-case prefixes, selected?)
    ("tcp.echo.binary", [], [], True),
    ("tcp.echo.binary", ["tcp.echo"], [], True),
    ("tcp.echo.binary", ["tcp.halfclose"], [], False),
    ("tcp.echo.binary", ["tcp.halfclose", "tcp.echo.b"], [], True),
    ("tcp.echo.binary", [], ["tcp.echo.binary"], False),
    ("tcp.echo.binary", [], ["udp"], True),
    ("tcp.echo.binary", ["tcp"], ["tcp.echo"], False),  # leaving out wins
    ("tcp6.echo.binary", ["tcp."], [], False),  # a prefix of the ID as written, not of a word
    ("tcp6.echo.binary", ["tcp"], [], True),
]


@pytest.mark.parametrize("case_id, case, skip_case, expected", SELECTIONS)
def test_case_and_skip_case_select_by_prefix(case_id, case, skip_case, expected):
    assert selected(case_id, case, skip_case) is expected


IDS = ["tcp.echo.binary", "tcp.halfclose.small", "udp.echo.small"]


@pytest.mark.parametrize("case, skip_case, message", [
    (["tcp.", "udp.echo.small"], ["tcp.halfclose"], None),
    (["tcp6"], [], "--case tcp6: no case ID starts with 'tcp6' (see echo-conformance --list)"),
    (["tcp"], ["udp.echo.large"], "--skip-case udp.echo.large: no case ID starts with 'udp.echo.large'"),
])
def test_a_prefix_that_starts_no_case_id_is_a_usage_error(case, skip_case, message):
    if message is None:
        check_prefixes(IDS, case, skip_case)
        return
    with pytest.raises(UsageError) as raised:
        check_prefixes(IDS, case, skip_case)
    assert str(raised.value).startswith(message)
