"""The ``echo-conformance`` command (run here as ``python -m echo_conformance`` from the checkout,
in a directory outside it) and the GitHub Action's run script.  tests/test_package.py runs the
same command from an installed wheel."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from echo_conformance import __version__
from echo_conformance._catalogue import load, markdown_table
from echo_conformance._launch import free_port
from echo_conformance._options import OPTIONS
from echo_conformance.cli import EXIT_STATUS, OWN_OPTIONS

from ._suite import FAULTY, ROOT, as_in_a_terminal
from .test_harness import _cmdline, _servers, _wait_for

NODE_ECHO = f"node {ROOT / 'examples' / 'node' / 'echo.js'} {{host}} {{port}}"
BANNER = f"{{python}} {ROOT / 'tests' / 'faulty' / 'banner.py'} --host {{host}} --port {{port}}"
THREAD = "{python} -m echo_conformance.implementations.echo_thread --host {host} --port {port}"
QUICK = ["--case", "tcp.echo.unbuffered", "--case", "tcp.halfclose.small"]


def command_env(tmp: Path, **more: str) -> dict:
    """The checkout importable from anywhere, and Hypothesis's database kept in ``tmp``."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "HYPOTHESIS_STORAGE_DIRECTORY": str(tmp / ".hyp"), **more}


def hostile_directory(tmp: Path) -> Path:
    """A directory whose own pytest configuration would break any run that used it."""
    where = tmp / "project"
    where.mkdir()
    (where / "pytest.ini").write_text("[pytest]\naddopts = --no-such-option\n")
    (where / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "--no-such-option"\n')
    (where / "conftest.py").write_text("raise RuntimeError('this conftest.py must not be loaded')\n")
    return where


def echo_conformance(*args: str, cwd: Path, timeout: float = 300, env: dict | None = None):
    return subprocess.run([sys.executable, "-m", "echo_conformance", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=env or command_env(cwd), stdin=subprocess.DEVNULL)


def report_cases(report_dir: Path) -> dict[str, dict]:
    document = json.loads((report_dir / "report.json").read_text())
    return {c["id"]: c for impl in document["implementations"].values() for c in impl["cases"]}


# --- information -------------------------------------------------------------------------------

def test_help_reads_like_a_man_page(tmp_path):
    run = echo_conformance("--help", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    text = run.stdout
    headings = [line for line in text.splitlines() if re.fullmatch(r"[A-Z][A-Z ]+( \(.*\))?", line)]
    assert [h.split(" (")[0] for h in headings] == [
        "NAME", "SYNOPSIS", "DESCRIPTION", "WHAT TO TEST", "DECLARATIONS", "CASES", "RUNNING", "INFORMATION",
        "EXIT STATUS", "FILES", "ENVIRONMENT", "EXAMPLES", "SEE ALSO"]
    for option in [*(o.name for o in (*OPTIONS, *OWN_OPTIONS)), "--version"]:  # every one of the table's too
        assert f"\n    {option}" in text or f", {option}" in text, option
    for code, _ in EXIT_STATUS:
        assert f"\n    {code}   " in text
    assert "{port}" in text and "{upstream_port}" in text


def test_version(tmp_path):
    run = echo_conformance("--version", cwd=tmp_path)
    assert (run.returncode, run.stdout.strip()) == (0, f"echo-conformance {__version__}")


def test_list_shows_every_case_with_its_level_scope_and_requirement(tmp_path):
    run = echo_conformance("--list", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    for spec in load().values():
        assert re.search(rf"^{re.escape(spec.id)} +{spec.level} +\S", run.stdout, re.M), spec.id
        assert spec.requirement in run.stdout
    markdown = echo_conformance("--list", "--markdown", cwd=tmp_path)
    assert markdown.stdout.strip() == markdown_table()
    some = echo_conformance("--list", "--case", "tcp.halfclose", "--skip-case", "tcp.halfclose.large",
                            "--skip-case", "tcp.halfclose.slow", cwd=tmp_path)
    assert re.findall(r"^\S+", some.stdout, re.M) == ["tcp.halfclose.small"]


# --- usage errors: exit 4, one line -------------------------------------------------------------

USAGE_ERRORS = [
    ([], "nothing to test: give --impl-cmd TEMPLATE, --target HOST:PORT or --impl-file"),
    (["--impl-cmd", "node echo.js {host}"], "the command template must contain {port}"),
    (["--impl-cmd", THREAD, "--impl-model", "parallel"], "--impl-model must be one of serial, concurrent"),
    (["--impl-cmd", THREAD, "--impl-capacity", "0"], "--impl-capacity must be a positive whole number"),
    (["--impl-cmd", THREAD, "--impl-cwd", "/no/such/dir"], "--impl-cwd: no such directory"),
    (["--target", "127.0.0.1:7", "--impl-cwd", "."], "--impl-cwd does not apply to --target"),
    (["--impl-file", "missing.toml"], "manifest not found: missing.toml"),
    (["--impl-file", "m.toml", "--impl-model", "serial"], "declarations go with --impl-cmd or --target"),
    (["--bundled", "--impl-cmd", THREAD], "--bundled and --impl-cmd: use only one"),
    (["--impl-cmd", THREAD, "--no-such-option"], "unrecognized arguments: --no-such-option"),
    (["--impl-cmd", THREAD, "-n", "many"], "--workers must be a number of processes or auto"),
    (["--impl-cmd", THREAD, "--timeout-scale", "0"], "--timeout-scale must be positive"),
    (["--impl-cmd", THREAD, "--case", "tcp.nonesuch"], "--case tcp.nonesuch: no case ID starts with 'tcp.nonesuch'"),
    (["--impl-cmd", THREAD, "--skip-case", "nonesuch"], "--skip-case nonesuch: no case ID starts with"),
    (["--impl-cmd", THREAD, "--impl-transport", "udp", "--case", "tcp.echo"],
     "no case to run: none of the selected cases applies"),
    (["--impl-cmd", THREAD, "--known-failures", "missing.toml"], "--known-failures: cannot read missing.toml"),
    (["--list", "--case", "nonesuch"], "--case nonesuch: no case ID starts with"),
    (["--impl-cmd", THREAD, "--report", "/proc/nonesuch/out"], "--report /proc/nonesuch/out: cannot write there"),
    (["--impl-cmd", THREAD, "--report", "m.toml"], "--report m.toml: not a directory"),
    (["--impl-cmd", THREAD, "--report", "m.toml/out"], "--report m.toml/out: m.toml is not a directory"),
    (["--impl-cmd", THREAD, "--junitxml", "/proc/nonesuch/j.xml"], "--junitxml /proc/nonesuch/j.xml: cannot write"),
    (["--impl-cmd", THREAD, "--junitxml", "."], ": a directory, not a file"),
    (["bench"], "unrecognized arguments: bench"),
]


@pytest.mark.parametrize("args, message", USAGE_ERRORS, ids=[m for _, m in USAGE_ERRORS])
def test_usage_error_is_one_line_and_exit_4(args, message, tmp_path):
    (tmp_path / "m.toml").write_text(f'[[implementation]]\nname = "a"\ncommand = "{THREAD}"\n')
    run = echo_conformance("-n", "0", *args, cwd=tmp_path, timeout=120)
    assert run.returncode == 4, run.stdout + run.stderr
    errors = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and message in errors[0], run.stderr
    assert "Traceback" not in run.stdout + run.stderr


def test_report_paths_are_checked_without_leaving_anything_behind(tmp_path):
    """The check creates what the run would and removes it: a run that then stops at a later
    usage error (here an unknown case) leaves no directory."""
    run = echo_conformance("--impl-cmd", THREAD, "--report", "new/deeper/out", "--junitxml", "xml/j.xml", "--case",
                           "nonesuch", "-n", "0", cwd=tmp_path)
    assert run.returncode == 4 and "--case nonesuch" in run.stderr, run.stderr
    assert not (tmp_path / "new").exists() and not (tmp_path / "xml").exists(), list(tmp_path.iterdir())


@pytest.mark.parametrize("option", ["--conformance-report=/proc/nonesuch/out", "--junitxml=/proc/nonesuch/j.xml"])
def test_the_plugin_reports_a_bad_report_path_as_a_usage_error(option, tmp_path):
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "echo_conformance", "-p", "no:cacheprovider",
                          f"--confcutdir={ROOT / 'echo_conformance'}", "--impl-cmd", THREAD, option],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120, env=command_env(tmp_path),
                         stdin=subprocess.DEVNULL)
    assert run.returncode == 4, run.stdout + run.stderr
    assert f"ERROR: {option.split('=')[0]} /proc/nonesuch/" in run.stderr and "cannot write there" in run.stderr


# --- verdicts: exit 0 and 1 ----------------------------------------------------------------------

def test_conforming_server_exits_0_whatever_the_directory_configures(tmp_path):
    where = hostile_directory(tmp_path)
    run = echo_conformance("--impl-cmd", NODE_ECHO, "--impl-name", "node-echo", *QUICK, "--report", "out",
                           cwd=where)  # parallel, the default
    assert run.returncode == 0, run.stdout + run.stderr
    cases = report_cases(where / "out")
    assert {c: v["outcome"] for c, v in cases.items()} == {"tcp.echo.unbuffered": "pass", "tcp.halfclose.small": "pass"}
    assert not (where / ".hypothesis").exists() and not (where / ".pytest_cache").exists()


def test_a_failing_must_exits_1_and_its_reproduce_line_runs_it_again(tmp_path):
    run = echo_conformance("--impl-cmd", BANNER, "--case", "tcp.echo.no-banner", "--case", "tcp.echo.unbuffered",
                           "-n", "0", "--report", "out", cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    case = report_cases(tmp_path / "out")["tcp.echo.no-banner"]
    assert case["outcome"] == "fail"
    line = shlex.split(case["reproduce"])
    assert line[:3] == ["echo-conformance", "--case", "tcp.echo.no-banner"] and line[3:5] == ["--impl-cmd", BANNER]
    again = echo_conformance(*line[1:], "-n", "0", "--report", "again", cwd=tmp_path)
    assert again.returncode == 1 and list(report_cases(tmp_path / "again")) == ["tcp.echo.no-banner"]


#: what no output of the command shows: Hypothesis' and pytest's own reports, paths into the installation
INTERNALS = ("Implementation(", "Bounds(", "check_budget", "reproduce_failure", "Failing test case", "Falsifying",
             "Failing explicit example", "Explanation:", "site-packages", "[gw", "short test summary", " passed in ",
             " failed in ", "Traceback", "_____")


@pytest.mark.parametrize("workers", ["2", "0"])
def test_a_failing_run_is_the_diagnosis_its_evidence_then_the_matrix_and_the_tally(workers, tmp_path):
    """In parallel or in this process alike."""
    run = echo_conformance("--impl-file", str(ROOT / "tests" / "faulty" / "manifest.toml"), "--impl", "adds-newline",
                           "--case", "tcp.echo.binary", "--case", "tcp.echo.no-extra", "-n", workers, cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    # the diagnosis first; then the case its evidence was seen in, in full, and its consequence, a line
    assert lines.index("DIAGNOSIS: what adds-newline does wrong") < lines.index(
        "FAIL tcp.echo.binary (MUST) on adds-newline")
    assert [line.split(":")[0] for line in lines if line.startswith(("FAIL", "ERROR"))] == [
        "FAIL tcp.echo.binary (MUST) on adds-newline", "FAIL tcp.echo.no-extra (MUST) on adds-newline, mistake 1"]
    assert "  failing example: payload=b'\\r\\n', sizes=[2]" in lines
    assert any(line.startswith("  reproduce: echo-conformance --case tcp.echo.binary") for line in lines)
    assert lines[-1] == "2 cases: 2 failed (MUST)"
    assert run.stdout.count("bringing up nodes") <= 1
    for word in INTERNALS:
        assert word not in run.stdout + run.stderr, word


def test_a_passing_run_is_the_matrix_and_the_tally_with_what_did_not_apply(tmp_path):
    run = echo_conformance("--impl-cmd", THREAD, "--case", "tcp.echo.unbuffered", "--case", "tcp6.echo.unbuffered",
                           "--case", "udp.echo.exact", "-n", "0", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-2:] == [
        "1 case: 1 passed; 2 not applicable",
        "  to run them, declare --impl-ipv6 for tcp6.*, --impl-transport tcp,udp for udp.*"]
    assert len(run.stdout.splitlines()) <= 10, run.stdout


def test_an_ipv6_case_reproduce_line_keeps_the_ipv6_declaration(tmp_path):
    run = echo_conformance("--impl-cmd", THREAD, "--impl-ipv6", "--impl-capacity", "2000", "--case",
                           "tcp6.echo.unbuffered", "-n", "0", "--report", "out", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    line = shlex.split(report_cases(tmp_path / "out")["tcp6.echo.unbuffered"]["reproduce"])
    assert "--impl-ipv6" in line and line[line.index("--impl-capacity") + 1] == "2000"
    again = echo_conformance(*line[1:], "-n", "0", "--report", "again", cwd=tmp_path)
    assert again.returncode == 0 and report_cases(tmp_path / "again")["tcp6.echo.unbuffered"]["outcome"] == "pass"


def test_a_target_reproduce_line_keeps_its_declarations_and_skip_case_leaves_cases_out(tmp_path):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "echo_conformance.implementations.echo_thread", "--port",
                               str(port)], cwd=ROOT, stdin=subprocess.DEVNULL)
    try:
        run = echo_conformance("--target", f"127.0.0.1:{port}", "--impl-name", "mine", "--impl-capacity", "50",
                               "--case", "tcp.echo", "--skip-case", "tcp.echo.large", "--skip-case",
                               "tcp.echo.binary", "-n", "0", "--report", "out", cwd=tmp_path)
    finally:
        server.terminate()
        server.wait(10)
    assert run.returncode == 0, run.stdout + run.stderr
    cases = report_cases(tmp_path / "out")
    assert set(cases) == {"tcp.echo.connect-close", "tcp.echo.no-banner", "tcp.echo.no-extra", "tcp.echo.unbuffered"}
    line = shlex.split(cases["tcp.echo.unbuffered"]["reproduce"])
    assert line[3:] == ["--target", f"127.0.0.1:{port}", "--impl-name", "mine", "--impl-capacity", "50"]


# --- exit 2 and 3 ----------------------------------------------------------------------------------

NEVER_CLOSE = str(ROOT / "tests" / "faulty" / "never_close.py")


def _wait_for_the_cases_server(token: str) -> None:
    """Until a never_close.py server the cases talk to runs: the second one started (the preflight
    starts the first, and stops it).  Its own process, not the command's or its keeper's."""
    seen: set[int] = set()

    def second() -> bool:
        seen.update(p.pid for p in _servers(token) if _cmdline(p)[1:2] == [NEVER_CLOSE])
        return len(seen) >= 2

    _wait_for(second, 60, "the cases' server to start, after the preflight's")

@pytest.mark.parametrize("sig, workers", [(signal.SIGINT, "0"), (signal.SIGTERM, "0"), (signal.SIGTERM, "2")],
                         ids=["SIGINT", "SIGTERM", "SIGTERM-xdist"])
def test_interrupted_exits_2_leaves_no_server_and_every_report_says_so(sig, workers, tmp_path):
    """Ctrl-C, or SIGTERM (a cancelled CI job) sent to the command alone: exit 2 without a
    traceback, no server left, and the reports say "interrupted: k of 2 cases ran", never
    conforming.  tcp.echo.unbuffered passes first; tcp.halfclose.small waits (30 x its bound) for
    an EOF that never_close.py never sends, and is interrupted: it has no verdict."""
    token = uuid.uuid4().hex
    never_closes = f"{{python}} {NEVER_CLOSE} --host {{host}} --port {{port}}"
    proc = subprocess.Popen([sys.executable, "-m", "echo_conformance", "--impl-cmd", never_closes, "--case",
                             "tcp.echo.unbuffered", "--case", "tcp.halfclose.small", "--timeout-scale", "30",
                             "-n", workers, "--report", "out"], cwd=tmp_path,
                            env=command_env(tmp_path, ECHO_CONFORMANCE_TEST_TOKEN=token),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                            preexec_fn=as_in_a_terminal)
    try:
        _wait_for_the_cases_server(token)
        time.sleep(1.0)  # the check is now waiting for an EOF that never comes
        proc.send_signal(sig)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 2, f"exit status {proc.returncode}\n{output}"
    _wait_for(lambda: not _servers(token), 20, "every server process to be gone")
    assert not re.search(r"Traceback|Warning|KeyboardInterrupt|crashed", output), output
    document = json.loads((tmp_path / "out" / "report.json").read_text())
    cases = report_cases(tmp_path / "out")
    ran = document["cases_run"]
    assert (document["interrupted"], document["conforming"], document["cases_total"]) == (True, None, 2)
    assert document["interruption"] == ("Ctrl-C" if sig == signal.SIGINT else "SIGTERM")
    assert ran == len(cases) <= 1 and "tcp.halfclose.small" not in cases, cases  # cut short: no verdict
    assert all(c["outcome"] == "pass" for c in cases.values())
    said = f"interrupted: {ran} of 2 cases ran"
    assert said in output and "no verdict" in (tmp_path / "out" / "report.md").read_text()
    for page in ("report.md", "report.html"):
        text = (tmp_path / "out" / page).read_text()
        assert said in text and "conforming" not in text.replace("NOT conforming", ""), page


def test_a_killed_run_leaves_reports_that_say_it_did_not_finish(tmp_path):
    """SIGKILL (or pytest-timeout's thread method, which ends the process with os._exit): nothing
    can write the reports then, so the ones written when the run started stay, saying so."""
    token = uuid.uuid4().hex
    never_closes = f"{{python}} {NEVER_CLOSE} --host {{host}} --port {{port}}"
    proc = subprocess.Popen([sys.executable, "-m", "echo_conformance", "--impl-cmd", never_closes, "--case",
                             "tcp.halfclose.small", "--timeout-scale", "30", "-n", "0", "--report", "out"],
                            cwd=tmp_path, env=command_env(tmp_path, ECHO_CONFORMANCE_TEST_TOKEN=token),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        _wait_for_the_cases_server(token)
    finally:
        proc.kill()
        proc.wait()
    _wait_for(lambda: not _servers(token), 20, "every server process to be gone")
    document = json.loads((tmp_path / "out" / "report.json").read_text())
    assert (document["interrupted"], document["conforming"], document["exit_status"]) == (True, None, None)
    assert document["interruption"].startswith("the run did not finish")
    assert "Verdict: **interrupted: 0 of ? cases ran** — the run did not finish" in \
        (tmp_path / "out" / "report.md").read_text()


def test_a_run_stopped_by_x_is_interrupted_and_not_conforming(tmp_path):
    run = echo_conformance("--impl-cmd", BANNER, "--case", "tcp.echo.unbuffered", "--case", "tcp.echo.no-banner",
                           "-n", "0", "--report", "out", "--", "-x", cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    document = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {k: document[k] for k in ("interrupted", "interruption", "conforming", "cases_run", "cases_total")} == {
        "interrupted": True, "interruption": "stopping after 1 failures", "conforming": False, "cases_run": 1,
        "cases_total": 2}
    assert "interrupted: 1 of 2 cases ran (stopping after 1 failures)" in run.stdout
    assert "Verdict: **NOT conforming** — interrupted: 1 of 2 cases ran" in (tmp_path / "out" / "report.md").read_text()


def test_internal_error_exits_3(tmp_path):
    (tmp_path / "boom_plugin.py").write_text(
        "def pytest_collection_modifyitems(items):\n    raise RuntimeError('boom')\n")
    env = command_env(tmp_path, PYTHONPATH=f"{ROOT}{os.pathsep}{tmp_path}")
    run = echo_conformance("--impl-cmd", THREAD, *QUICK, "-n", "0", "--", "-p", "boom_plugin", cwd=tmp_path, env=env)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "RuntimeError: boom" in run.stdout + run.stderr


# --- the GitHub Action's run script (its inputs against the option table: tests/test_options.py) ----

ACTION_RUN = ROOT / "scripts" / "action-run.sh"


def run_action(tmp: Path, inputs: dict[str, str], command: str, env: dict | None = None, timeout: float = 300):
    variables = {f"INPUT_{name.upper().replace('-', '_')}": value for name, value in inputs.items()}
    return subprocess.run(["bash", str(ACTION_RUN)], cwd=tmp, capture_output=True, text=True, timeout=timeout,
                          env={**(env or command_env(tmp)), **variables, "ECHO_CONFORMANCE": command,
                               "PYTHON": sys.executable}, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("inputs, message", [
    ({"impl-cmd": "x {port}", "ipv6": "yes"}, "ipv6 must be true or false"),
    ({"impl-cmd": "x {port}", "extra-args": "--case 'tcp"}, "extra-args cannot be split"),
])
def test_the_action_rejects_bad_inputs_with_exit_4(inputs, message, tmp_path):
    run = run_action(tmp_path, inputs, "false")
    assert run.returncode == 4 and message in run.stderr


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_action_runs_the_command_and_writes_the_report_and_the_summary(tmp_path):
    command = f"{sys.executable} -m echo_conformance"
    summary = tmp_path / "summary.md"
    env = command_env(tmp_path, GITHUB_STEP_SUMMARY=str(summary))
    ok = run_action(tmp_path, {"impl-cmd": NODE_ECHO, "extra-args": "--case tcp.echo.unbuffered -n 0"}, command, env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert (tmp_path / "echo-conformance-report" / "report.json").exists()
    assert "tcp.echo.unbuffered" in summary.read_text()
    assert "::" not in ok.stdout  # nothing to annotate
    bad = run_action(tmp_path, {"impl-cmd": BANNER, "report-dir": "banner", "extra-args": "--case tcp.echo.no-banner -n 0"},
                     command, env)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert report_cases(tmp_path / "banner")["tcp.echo.no-banner"]["outcome"] == "fail"
    assert ("\n::error title=tcp.echo.no-banner (MUST) failed on external::expected nothing from the server during "
            "the first 0.3 s; observed 28 unsolicited byte(s)") in bad.stdout, bad.stdout
    should = run_action(tmp_path, {"impl-file": str(FAULTY), "report-dir": "should",
                                   "extra-args": "--impl no-reuseaddr --case lifecycle.restart -n 0"}, command, env)
    assert should.returncode == 0, should.stdout + should.stderr
    assert "\n::warning title=lifecycle.restart (SHOULD) not met (SHOULD%2C not fatal) on no-reuseaddr::" in should.stdout


def test_a_cancelled_action_stops_the_command_and_still_writes_the_summary(tmp_path):
    """A cancelled job: SIGTERM to the run script (the runner signals the step's process), which
    passes it on; the command winds down (exit 2), and the summary and an annotation say so."""
    token = uuid.uuid4().hex
    summary = tmp_path / "summary.md"
    env = command_env(tmp_path, GITHUB_STEP_SUMMARY=str(summary), ECHO_CONFORMANCE_TEST_TOKEN=token)
    never_closes = f"{{python}} {NEVER_CLOSE} --host {{host}} --port {{port}}"
    inputs = {"impl-cmd": never_closes, "extra-args": "--case tcp.halfclose.small --timeout-scale 30 -n 0"}
    variables = {f"INPUT_{name.upper().replace('-', '_')}": value for name, value in inputs.items()}
    proc = subprocess.Popen(["bash", str(ACTION_RUN)], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, stdin=subprocess.DEVNULL, preexec_fn=as_in_a_terminal,
                            env={**env, **variables, "ECHO_CONFORMANCE": f"{sys.executable} -m echo_conformance",
                                 "PYTHON": sys.executable})
    try:
        _wait_for_the_cases_server(token)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 2, output
    _wait_for(lambda: not _servers(token), 20, "every server process to be gone")
    assert "\n::warning title=echo-conformance was interrupted::interrupted: 0 of 1 cases ran (SIGTERM)" in output
    assert "Verdict: **interrupted: 0 of 1 cases ran** — SIGTERM" in summary.read_text()


def _annotations_module():
    import importlib.util

    spec = importlib.util.spec_from_file_location("action_annotations", ROOT / "scripts" / "action_annotations.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ANNOTATED = [
    ({"outcome": "pass"}, None),
    ({"outcome": "skip", "reason": "--target"}, None),
    ({"outcome": "fail", "expected": "2 bytes", "observed": "got 1\n  truncated: 1 byte\n  dump"},
     "::error title=c.x (MUST) failed on impl::expected 2 bytes; observed got 1 — truncated: 1 byte"),
    ({"outcome": "error", "message": "Traceback: 100% boom\nmore"},
     "::error title=c.x (MUST) failed on impl::Traceback: 100%25 boom — more"),
    ({"outcome": "stale", "expected": "a failure", "observed": "it passes"},
     "::error title=c.x (MUST) is a stale known failure on impl::expected a failure; observed it passes"),
    ({"outcome": "xfail", "reason": "SHOULD-level case failed (not fatal without --strict-should)",
      "expected": "a, b: c", "observed": "d"},
     "::warning title=c.x (MUST) not met (SHOULD%2C not fatal) on impl::expected a, b: c; observed d"),
    ({"outcome": "xfail", "reason": "known failure: a pool", "expected": "e", "observed": "f"},
     "::notice title=c.x (MUST) failed as listed (known failure%3A a pool) on impl::expected e; observed f"),
]


@pytest.mark.parametrize("case, line", ANNOTATED, ids=[c["outcome"] + str(i) for i, (c, _) in enumerate(ANNOTATED)])
def test_the_action_annotates_each_case_that_did_not_pass_in_one_line(case, line):
    got = _annotations_module().annotation({"id": "c.x", "level": "MUST", "requirement": "r", **case}, "impl")
    assert got == line


def test_the_plugin_leaves_a_projects_own_hypothesis_settings_alone(tmp_path):
    """``pytest -p echo_conformance`` in another project's run: the suite's checks take the
    suite's profile, the project's own property tests keep Hypothesis' defaults (25 derandomized
    examples, as the suite's profile has, would quietly weaken them)."""
    (tmp_path / "test_theirs.py").write_text(
        "from hypothesis import given, settings, strategies as st\n\n\n"
        "@given(st.integers())\n"
        "def test_theirs(n):\n"
        "    assert settings.get_current_profile_name() not in ('conformance', 'thorough', 'verdict')\n"
        "    assert settings.default.max_examples == 100, settings.default\n")
    # --confcutdir: the checks are the checkout's, whose own conftest.py is not the package's
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "echo_conformance", "-p", "no:cacheprovider",
                          f"--confcutdir={ROOT / 'echo_conformance'}", "--impl-cmd", THREAD, "--impl-name", "thread", "--case", "tcp.echo.binary",
                          "test_theirs.py"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300, env=command_env(tmp_path),
                         stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "2 passed" in run.stdout, run.stdout[-3000:]
