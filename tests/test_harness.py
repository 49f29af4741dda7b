"""The harness: bad input gets a clear error (never a traceback or a hang), and no server
process outlives the run however it ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import psutil
import pytest

from ._suite import ROOT, as_in_a_terminal, run_suite

THREAD = "{python} -m echo_conformance.implementations.echo_thread --host {host} --port {port}"
QUICK = ["--case", "tcp.echo.unbuffered"]


def _tagged_env() -> tuple[dict, str]:
    token = uuid.uuid4().hex
    return {"ECHO_CONFORMANCE_TEST_TOKEN": token}, token


def _tagged(token: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("ECHO_CONFORMANCE_TEST_TOKEN") == token and proc.status() != "zombie":
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return found


def _servers(token: str) -> list[psutil.Process]:
    """Tagged processes other than pytest itself and its xdist workers."""
    return [p for p in _tagged(token) if "pytest" not in " ".join(_cmdline(p))]


def _cmdline(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return []


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)  # polling the process table: there is no event to wait on
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# --- bad input ---------------------------------------------------------------------------

USAGE_ERRORS = [
    (["--impl-cmd", "{python} -m echo_conformance.implementations.echo_thread"], "must contain {port}"),
    (["--impl-cmd", THREAD + " {bogus}"], "unknown placeholder(s) {bogus}"),
    (["--impl-cmd", THREAD, "--impl-model", "parallel"], "--impl-model must be one of serial, concurrent"),
    (["--impl-cmd", THREAD, "--impl-kind", "proxy"], "--impl-kind must be one of echo, relay"),
    (["--impl-cmd", THREAD, "--impl-transport", "sctp"], "unknown transport 'sctp'"),
    (["--impl-cmd", THREAD, "--impl-kind", "relay"], "must contain {upstream_port}"),
    (["--impl-cmd", "'unbalanced {port}"], "cannot be split"),
    (["--impl-file", "no/such/manifest.toml"], "manifest not found"),
    (["--target", "localhost"], "--target must be HOST:PORT"),
    (["--impl", "no-such-impl"], "no implementation named no-such-impl"),
    (["--timeout-scale", "0"], "--timeout-scale must be positive"),
]


@pytest.mark.parametrize("args, message", USAGE_ERRORS, ids=[m for _, m in USAGE_ERRORS])
def test_usage_error_is_one_clear_line(args, message, tmp_path):
    run = run_suite(*args, tmp=tmp_path, timeout=60)
    assert run.status == 4, run.output
    assert message in run.output
    assert "Traceback" not in run.output


LAUNCH_FAILURES = [
    ("/no/such/server --port {port}", "could not start the command: No such file or directory"),
    ("{python} -c \"import sys; sys.stderr.write('boom: cannot bind\\n'); sys.exit(3)\" {port}",
     "exited with status 3 before it was ready"),
    ("{python} -c \"import time; print('starting'); time.sleep(60)\" {port}",
     "did not accept a TCP connection"),
]


@pytest.mark.parametrize("command, message", LAUNCH_FAILURES, ids=["missing", "exits", "never-listens"])
def test_launch_failure_names_the_implementation_and_shows_its_output(command, message, tmp_path):
    """In a case (the preflight, which says it first and once, is tests/test_preflight.py's)."""
    env, token = _tagged_env()
    start = time.monotonic()
    run = run_suite("--impl-cmd", command, "--impl-name", "my-server", "--timeout-scale", "0.2", "--no-preflight",
                    *QUICK, tmp=tmp_path, timeout=60, env=env)
    assert run.status == 1, run.output
    assert "implementation 'my-server'" in run.output and message in run.output
    assert "Traceback" not in run.output
    if "boom" in command:
        assert "boom: cannot bind" in run.output  # the tail of its stderr
    assert time.monotonic() - start < 30
    assert not _servers(token)


# --- no orphans --------------------------------------------------------------------------

# A server that also leaves a grandchild in a session of its own: only the keeper's
# subreaper can find that one.
ESCAPING = ("sh -c 'setsid sleep 300 & exec \"$0\" -m echo_conformance.implementations.echo_thread --host \"$1\" "
            "--port \"$2\"' {python} {host} {port}")


def _start_suite(token: str, *args: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "pytest", "conformance", "-q", "--impl-cmd", ESCAPING,
           "--case", "tcp.echo.large", *args]
    # A session of its own, so a signal can go to its whole process group as a terminal's would.
    return subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "ECHO_CONFORMANCE_TEST_TOKEN": token},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            start_new_session=True, preexec_fn=as_in_a_terminal)


def _sleepers(token: str) -> list[psutil.Process]:
    return [p for p in _servers(token) if "sleep" in " ".join(_cmdline(p))]


def test_no_orphans_after_a_normal_run(tmp_path):
    env, token = _tagged_env()
    run = run_suite("--impl-cmd", ESCAPING, *QUICK, tmp=tmp_path, env=env)
    assert run.status == 0, run.output
    assert not _servers(token)


@pytest.mark.parametrize("how", ["ctrl-c", "sigkill-pytest", "sigkill-xdist-worker",
                                 # to the whole process group, keepers included: Ctrl-\, a closed
                                 # terminal, `timeout -s ABRT`
                                 "sigquit-group", "sighup-group", "sigabrt-group"])
def test_no_orphans_when_the_run_is_interrupted(how):
    token = uuid.uuid4().hex
    extra = ["-n", "2"] if how == "sigkill-xdist-worker" else []
    suite = _start_suite(token, *extra)
    try:
        _wait_for(lambda: _sleepers(token), 60, "the server (and its escaped grandchild) to start")
        if how == "ctrl-c":
            suite.send_signal(signal.SIGINT)
        elif how == "sigkill-pytest":
            suite.kill()
        elif how.endswith("-group"):
            os.killpg(suite.pid, getattr(signal, how.split("-")[0].upper()))
        else:
            keeper = _wait_for(lambda: [p for p in _servers(token) if "_keeper.py" in " ".join(_cmdline(p))],
                               30, "a keeper")[0]
            os.kill(keeper.ppid(), signal.SIGKILL)  # the xdist worker that started it
        _wait_for(lambda: not _servers(token), 20, "every server process to be gone")
    finally:
        if suite.poll() is None:
            suite.kill()
        suite.wait()
        for proc in _servers(token):
            proc.kill()


@pytest.mark.parametrize("method", ["signal", "thread"])
def test_no_orphans_after_pytest_timeout(method, tmp_path):
    env, token = _tagged_env()
    # A server that never closes after half-close, with stretched bounds: the check waits
    # far longer than pytest-timeout's 1 s.
    never_closes = ESCAPING.replace("-m echo_conformance.implementations.echo_thread", "tests/faulty/never_close.py")
    run = run_suite("--impl-cmd", never_closes, "--case", "tcp.halfclose.small", "--timeout", "1",
                    "--timeout-scale", "30", "--timeout-method", method, tmp=tmp_path, env=env, timeout=120)
    assert run.status != 0 and "Timeout" in run.output, run.output
    _wait_for(lambda: not _servers(token), 20, "every server process to be gone")


# --- an already running server -------------------------------------------------------------

def test_target_runs_network_checks_and_skips_process_checks(tmp_path):
    from echo_conformance._launch import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "echo_conformance.implementations.echo_thread", "--port", str(port)],
                              cwd=ROOT, stdin=subprocess.DEVNULL)
    try:
        run = run_suite("--target", f"127.0.0.1:{port}", "--case", "tcp.echo.unbuffered",
                        "--case", "lifecycle.sigterm", "--case", "tcp.concurrent.many", tmp=tmp_path)
    finally:
        server.terminate()
        server.wait(10)
    assert run.status == 0, run.output
    assert run.outcomes("external") == {"tcp.echo.unbuffered": "pass", "tcp.concurrent.many": "pass",
                                        "lifecycle.sigterm": "skip"}
    assert "which --target does not allow" in run.output


def test_the_readme_example_of_a_server_not_written_in_python(tmp_path):
    import shutil

    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    run = run_suite("--impl-cmd", "node examples/node/echo.js {host} {port}", "--impl-name", "node-echo",
                    "--case", "tcp.echo", "--case", "tcp.halfclose", tmp=tmp_path)
    assert run.status == 0, run.output
    assert set(run.outcomes("node-echo").values()) == {"pass"}
