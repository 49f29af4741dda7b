"""The preflight (``echo_conformance/_preflight.py``): a server that cannot be tested is reported
once, in one short block with the likely cause, and the run ends at once with exit status 6;
a run whose cases judge the launch themselves (lifecycle.*), or --no-preflight, goes on."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from echo_conformance._catalogue import load
from echo_conformance._command import UNTESTABLE
from echo_conformance._launch import free_port
from echo_conformance._preflight import FAMILIES, transports_needed
from echo_conformance._registry import make

from ._suite import ROOT
from .test_cli import THREAD, command_env, echo_conformance
from .test_harness import _servers, _wait_for

UDP = "{python} -m echo_conformance.implementations.echo_udp --host {host} --port {port}"
SCRIPT = "{python} -c %s {port}"
#: the block's limit, the closing line included
MOST_LINES = 15


def _script(code: str) -> str:
    """A command template that runs ``code`` (given the port as its argument)."""
    return SCRIPT % json.dumps(code)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _not_executable(tmp: Path) -> str:
    path = tmp / "server.py"
    path.write_text("print('never run')\n")
    path.chmod(0o644)
    return f"{path} --port {{port}}"


# --- the table: each bad input, what it must say, how long it may take --------------------------

#: (id, arguments (a callable of tmp for the ones that need a file), a sentence the block must hold, seconds at most)
BAD_INPUTS = [
    ("missing-command", ["--impl-cmd", "/no/such/echod --port {port}"],
     "the command was not found: check the path in --impl-cmd", 10),
    ("not-executable", lambda tmp: ["--impl-cmd", _not_executable(tmp)],
     "the command is not executable: chmod +x", 10),
    ("exits-at-once", ["--impl-cmd", _script("import sys; print('echod: cannot read echod.conf', file=sys.stderr); "
                                             "sys.exit(3)")],
     "likely cause: its output above says why", 10),
    ("exits-silently", ["--impl-cmd", _script("import sys; sys.exit(2)")],
     "likely cause: it said nothing: run its command yourself to see why", 10),
    ("killed", ["--impl-cmd", _script("import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")],
     "it was killed by SIGSEGV before it listened", 10),
    ("daemonizes", ["--impl-cmd", _script("import os, sys, time; os.fork() and sys.exit(0); time.sleep(60)")],
     "does it fork into the background?", 10),
    # the ready bound at --timeout-scale 0.2: 2 s
    ("never-listens", ["--impl-cmd", _script("import time; time.sleep(60)"), "--timeout-scale", "0.2"],
     'does it read the port from the command line? the template passes it as argument 3', 12),
    ("listens-elsewhere", ["--impl-cmd", _script("import socket, time; s = socket.socket(); "
                                                 "s.bind(('127.0.0.1', 0)); s.listen(); time.sleep(60)"),
                           "--timeout-scale", "0.2"],
     "it does not take its port from the command line", 12),
    ("relay-never-listens", ["--impl-kind", "relay", "--impl-cmd", _script("import time; time.sleep(60)") +
                             " {upstream_port}", "--timeout-scale", "0.2"],
     "it never listened on 127.0.0.1:", 12),
    ("declared-both-serves-tcp", ["--impl-cmd", THREAD, "--impl-transport", "tcp,udp", "--timeout-scale", "0.2"],
     "it serves TCP there but not UDP: declare --impl-transport tcp", 12),
    ("target-closed", lambda tmp: ["--target", f"127.0.0.1:{_closed_port()}"],
     "is the server running, and on that port?", 10),
    ("target-closed-udp", lambda tmp: ["--target", f"127.0.0.1:{_closed_port()}", "--impl-transport", "udp"],
     "nothing is bound to UDP port", 10),
    ("udp-declared-tcp-served", ["--impl-cmd", THREAD, "--impl-transport", "udp"],
     "it answers TCP on that port but not UDP: declare --impl-transport tcp", 12),
    ("tcp-declared-udp-served", ["--impl-cmd", UDP],
     "it answers UDP on that port but not TCP: declare --impl-transport udp", 12),
]


@pytest.mark.parametrize("name, args, sentence, seconds", BAD_INPUTS, ids=[row[0] for row in BAD_INPUTS])
def test_a_server_that_cannot_be_tested_is_one_block_and_exit_6(name, args, sentence, seconds, tmp_path):
    token = uuid.uuid4().hex
    args = args(tmp_path) if callable(args) else args
    start = time.monotonic()
    run = echo_conformance(*args, "--report", "out", cwd=tmp_path, timeout=120,
                           env=command_env(tmp_path, ECHO_CONFORMANCE_TEST_TOKEN=token))
    took = time.monotonic() - start
    output = run.stdout + run.stderr
    assert run.returncode == UNTESTABLE, output
    assert sentence in output, output
    assert "cannot test 'external'" in output and "no case ran" in output
    assert len(output.splitlines()) <= MOST_LINES, output
    assert "Traceback" not in output and "Exit:" not in output and "bringing up nodes" not in output, output
    assert took < seconds, f"{took:.1f} s\n{output}"
    assert not _servers(token), "the preflight left a server running"


TARGETS = [
    ("echo_thread", "udp", "it answers TCP on that port but not UDP: declare --impl-transport tcp"),
    ("echo_udp", "tcp", "it answers UDP on that port but not TCP: declare --impl-transport udp"),
    ("echo_thread", "tcp,udp", "it serves TCP there but not the other: declare --impl-transport tcp"),
]


@pytest.mark.parametrize("server, declared, sentence", TARGETS, ids=[f"{s}-as-{d}" for s, d, _ in TARGETS])
def test_a_target_on_the_wrong_transport_is_told_at_once(server, declared, sentence, tmp_path):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", f"echo_conformance.implementations.{server}", "--port",
                                str(port)], cwd=ROOT, stdin=subprocess.DEVNULL)
    try:
        _wait_for(lambda: _answers(port, server), 10, f"{server} on port {port}")
        start = time.monotonic()
        run = echo_conformance("--target", f"127.0.0.1:{port}", "--impl-transport", declared, cwd=tmp_path)
        took = time.monotonic() - start
    finally:
        process.terminate()
        process.wait(10)
    assert run.returncode == UNTESTABLE, run.stdout + run.stderr
    assert sentence in run.stderr, run.stderr
    assert took < 10, f"{took:.1f} s"


def _answers(port: int, server: str) -> bool:
    if server == "echo_udp":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(0.2)
            try:
                s.sendto(b"?", ("127.0.0.1", port))
                return s.recv(16) == b"?"
            except OSError:
                return False
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def test_the_output_tail_and_the_command_are_in_the_block(tmp_path):
    command = _script("import sys; print('echod: cannot read echod.conf', file=sys.stderr); sys.exit(3)")
    run = echo_conformance("--impl-cmd", command, "--impl-name", "my-server", cwd=tmp_path, timeout=120)
    lines = run.stderr.splitlines()
    assert lines[0].startswith("echo-conformance: cannot test 'my-server': it exited with status 3"), run.stderr
    assert lines[1].startswith("  command: ") and "sys.exit(3)" in lines[1], run.stderr
    assert "    | echod: cannot read echod.conf" in lines, run.stderr


def test_a_server_that_never_listens_is_reported_within_the_ready_bound_plus_a_few_seconds(tmp_path):
    """At --timeout-scale 1: the ready bound (10 s) and a few seconds, under 15 s on a quiet machine.
    Measured beyond what the command's own start takes (a missing command's run), which a loaded
    machine stretches by seconds."""
    def timed(*args: str):
        start = time.monotonic()
        return echo_conformance(*args, cwd=tmp_path, timeout=120), time.monotonic() - start

    _, starting = timed("--impl-cmd", "/no/such/echod {port}")
    run, took = timed("--impl-cmd", _script("import time; time.sleep(60)"))
    assert run.returncode == UNTESTABLE, run.stdout + run.stderr
    assert "it never listened on 127.0.0.1:" in run.stderr and "within 10 s" in run.stderr
    assert took - starting < 10 + 3, f"{took:.1f} s, of which the command's start {starting:.1f} s"


def test_every_implementation_of_a_manifest_is_tried_and_each_that_cannot_be_tested_reported(tmp_path):
    manifest = tmp_path / "servers.toml"
    manifest.write_text(f"""
[[implementation]]
name = "good"
command = "{{python}} -m echo_conformance.implementations.echo_thread --host {{host}} --port {{port}}"
[[implementation]]
name = "missing"
command = "./no-such-server {{port}}"
[[implementation]]
name = "udp-only"
command = "{{python}} -m echo_conformance.implementations.echo_udp --host {{host}} --port {{port}}"
""")
    run = echo_conformance("--impl-file", str(manifest), cwd=tmp_path, timeout=120)
    assert run.returncode == UNTESTABLE, run.stdout + run.stderr
    assert "cannot test 'missing'" in run.stderr and "cannot test 'udp-only'" in run.stderr
    assert "'good'" not in run.stderr
    assert 'declare transports = ["udp"] in its manifest entry' in run.stderr
    assert "check the path in its manifest's command" in run.stderr
    assert run.stderr.count("cannot test") == 2


def test_the_pytest_plugin_reports_it_the_same_way(tmp_path):
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "echo_conformance", "-p", "no:cacheprovider",
                          "--impl-cmd", "/no/such/echod --port {port}"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, env=command_env(tmp_path), stdin=subprocess.DEVNULL)
    output = run.stdout + run.stderr
    assert run.returncode == UNTESTABLE, output
    assert "the command was not found" in output and len(output.splitlines()) <= MOST_LINES, output
    assert "Traceback" not in output and "Exit:" not in output, output


# --- what it leaves alone ------------------------------------------------------------------------

NEVER_LISTENS = ["--impl-cmd", _script("import time; time.sleep(60)"), "--timeout-scale", "0.2"]


@pytest.mark.parametrize("args", [
    # lifecycle.ready judges the start itself: it must be free to fail a server slow to listen
    ["--case", "lifecycle.ready"],
    # tcp6.* start their servers on ::1, which the preflight does not try
    ["--case", "tcp6.echo.unbuffered", "--impl-ipv6"],
    # --no-preflight: every case runs, each failing on its own
    ["--case", "tcp.echo.unbuffered", "--no-preflight"],
], ids=["lifecycle-only", "tcp6-only", "no-preflight"])
def test_the_cases_still_run_when_told_to(args, tmp_path):
    run = echo_conformance(*NEVER_LISTENS, *args, "-n", "0", "--report", "out", cwd=tmp_path, timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    document = json.loads((tmp_path / "out" / "report.json").read_text())
    outcomes = {c["id"]: c["outcome"] for impl in document["implementations"].values() for c in impl["cases"]}
    assert outcomes == {args[1]: "fail"}


# --- the tables ---------------------------------------------------------------------------------

def test_every_family_of_cases_says_what_it_needs_of_the_preflight():
    families = {case_id.split(".")[0] for case_id in load()}
    assert families == set(FAMILIES)


ECHO = make("e", "x {port}", transports=["tcp", "udp"])
RELAY = make("r", "x {port} {upstream_port}", kind="relay")
NEEDED = [
    (ECHO, [], [], ["tcp", "udp"]),
    (ECHO, ["tcp.echo"], [], ["tcp"]),
    (ECHO, ["udp"], [], ["udp"]),
    (ECHO, ["tcp"], [], ["tcp"]),  # tcp.* (and tcp6.*, which need nothing)
    (ECHO, ["lifecycle.ready"], [], []),
    (ECHO, ["tcp6"], [], []),
    (ECHO, ["relay"], [], []),
    (ECHO, [], ["udp"], ["tcp"]),
    (ECHO, [], ["udp.echo.exact"], ["tcp", "udp"]),  # other udp.* cases still run
    (ECHO, ["l"], [], []),
    (ECHO, ["t"], [], ["tcp"]),
    (RELAY, ["relay.throughput"], [], ["tcp"]),
    (RELAY, ["udp"], [], []),
]


@pytest.mark.parametrize("impl, case, skip, needed", NEEDED, ids=[f"{i.name}-{c}-{s}" for i, c, s, _ in NEEDED])
def test_the_preflight_tries_the_transports_the_selected_cases_need(impl, case, skip, needed):
    assert transports_needed(impl, case, skip) == needed

