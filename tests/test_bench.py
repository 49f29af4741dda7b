"""The bench (``echo-conformance bench``): it runs, its JSON is complete, its table prints, it
plots (or says clearly why not), it reports a saturated load generator, and it leaves no process
behind.  A benchmark, not a test: nothing here asserts a timing or compares two numbers.

Each run is tiny (0.4 s measured per point) and goes through the command, in a subprocess, as a
user runs it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from echo_conformance.bench._point import POINT_KEYS, Point
from echo_conformance.bench._report import MATPLOTLIB_MISSING

from ._suite import ROOT, as_in_a_terminal

TINY = ["--duration", "0.4", "--warmup", "0.2", "--size", "1024"]
THREAD = "{python} -m echo_conformance.implementations.echo_thread --host {host} --port {port}"
#: the keys issue 11 asks every point for, and that a measured point has a value for
REQUIRED = ("implementation", "connections", "size", "round_trips_per_s", "mib_per_s", "p50_us", "p99_us",
            "p999_us", "server_cpu_us_per_rt", "generator_cpu_percent", "generator_saturated")


def bench(*args: str, tmp: Path, timeout: float = 180, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "echo_conformance", "bench", *args], cwd=tmp,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def points(path: Path) -> dict[tuple[str, int], dict]:
    doc = json.loads(path.read_text())
    assert isinstance(doc["points"], list) and doc["points"]
    for p in doc["points"]:
        assert set(POINT_KEYS) <= set(p), f"missing keys: {set(POINT_KEYS) - set(p)}"
    return {(p["implementation"], p["connections"]): p for p in doc["points"]}


def assert_measured(point: dict) -> None:
    assert point["error"] is None, point["error"]
    missing = [k for k in REQUIRED if point[k] is None]
    assert not missing, f"{point['implementation']} at {point['connections']}: no value for {missing}"
    assert point["round_trips"] > 0 and point["samples"] > 0
    assert point["p50_us"] <= point["p99_us"] <= point["p999_us"] <= point["max_us"]


@pytest.fixture(scope="module")
def bundled_run(tmp_path_factory):
    """Bundled servers by name: an event-driven one, a serial one (one connection only), a
    UDP-only one (not measured) and the asyncio baseline."""
    tmp = tmp_path_factory.mktemp("bench")
    run = bench("--impl", "echo-reactor", "--impl", "echo-iterative", "--impl", "echo-udp",
                "--impl", "baseline-asyncio", "--connections", "1,10", *TINY,
                "--json", "out/bench.json", "--markdown", "out/bench.md", tmp=tmp)
    return tmp, run


def test_bench_measures_bundled_servers_by_name(bundled_run):
    tmp, run = bundled_run
    assert run.returncode == 0, run.stdout + run.stderr
    measured = points(tmp / "out" / "bench.json")
    assert set(measured) == {("baseline-asyncio", 1), ("baseline-asyncio", 10), ("echo-reactor", 1),
                             ("echo-reactor", 10), ("echo-iterative", 1)}
    for point in measured.values():
        assert_measured(point)
        assert point["baseline"] == "baseline-asyncio" and point["cpu_vs_baseline"] is not None
    assert measured[("echo-reactor", 10)]["generator_processes"] >= 1


def test_bench_says_what_it_did_not_measure_and_why(bundled_run):
    tmp, run = bundled_run
    doc = json.loads((tmp / "out" / "bench.json").read_text())
    reasons = {(s["implementation"], s["connections"]): s["reason"] for s in doc["skipped"]}
    assert "serial" in reasons[("echo-iterative", 10)]
    assert "TCP" in reasons[("echo-udp", None)]
    assert "not measured:" in run.stdout and "echo-iterative at 10 connections: serial" in run.stdout


def test_bench_prints_a_table_and_writes_markdown(bundled_run):
    tmp, run = bundled_run
    lines = run.stdout.splitlines()
    header = next(line for line in lines if line.startswith("implementation"))
    for column in ("conns", "round trips/s", "MiB/s", "p50 us", "p99 us", "p99.9 us", "server us/rt", "gen CPU"):
        assert column in header
    assert sum(line.startswith("echo-reactor ") for line in lines) == 2
    text = (tmp / "out" / "bench.md").read_text()
    assert "echo-conformance bench --impl echo-reactor" in text and "| echo-reactor | 10 | 1 KiB |" in text


def test_bench_plots_or_says_it_needs_matplotlib(bundled_run, tmp_path):
    tmp, _ = bundled_run
    source = tmp / "out" / "bench.json"
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        run = bench("--from-json", str(source), "--plot", "plot.png", tmp=tmp_path)
        assert run.returncode == 4 and MATPLOTLIB_MISSING in run.stderr
        return
    run = bench("--from-json", str(source), "--plot", "plot.png", tmp=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # ... and without matplotlib, a clear one-line message before anything runs
    hidden = tmp_path / "no-matplotlib"
    (hidden / "matplotlib").mkdir(parents=True)
    (hidden / "matplotlib" / "__init__.py").write_text("raise ImportError('hidden by the test')\n")
    run = bench("--impl", "echo-reactor", "--plot", "plot2.png", tmp=tmp_path,
                env={"PYTHONPATH": os.pathsep.join([str(hidden), str(ROOT)])})
    assert run.returncode == 4 and MATPLOTLIB_MISSING in run.stderr, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and not (tmp_path / "plot2.png").exists()


def test_bench_measures_a_server_given_by_command(tmp_path):
    run = bench("--impl-cmd", THREAD, "--impl-name", "my-thread-server", "--no-baseline", "--connections", "1,10",
                *TINY, "--json", "bench.json", tmp=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    measured = points(tmp_path / "bench.json")
    assert set(measured) == {("my-thread-server", 1), ("my-thread-server", 10)}
    for point in measured.values():
        assert_measured(point)


def test_bench_measures_a_relay_in_front_of_an_upstream_measured_directly(tmp_path):
    run = bench("--impl", "tcp-relay-poll", "--no-baseline", "--connections", "1", *TINY, "--json", "bench.json",
                tmp=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    measured = points(tmp_path / "bench.json")
    relay = measured[("tcp-relay-poll", 1)]
    assert_measured(relay)
    assert relay["upstream"].startswith("baseline-") and relay["upstream_cpu_us_per_rt"] is not None
    assert_measured(measured[(relay["upstream"], 1)])  # the same upstream, measured directly
    assert relay["throughput_vs_upstream_direct"] is not None and "x direct" in run.stdout


def test_bench_marks_a_saturated_generator(tmp_path):
    """One generator process that burns 300 us of CPU per echo (a test hook) against 10
    connections cannot keep up with any server: the point must say the generator was the limit."""
    run = bench("--impl", "baseline-asyncio", "--connections", "10", *TINY, "--generator-processes", "1",
                "--generator-work-us", "300", "--json", "bench.json", tmp=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    point = points(tmp_path / "bench.json")[("baseline-asyncio", 10)]
    assert_measured(point)
    assert point["generator_saturated"] is True and point["generator_busy_percent"] >= 90
    assert "GENERATOR SATURATED" in run.stdout


USAGE = [
    (["--size", "0"], "message sizes must be positive"),
    (["--connections", "ten"], "not a comma-separated list of whole numbers"),
    (["--impl", "nonesuch"], "--impl: no implementation named nonesuch"),
    (["--impl-cmd", "server --host {host}"], "must contain {port}"),
    (["--target", "127.0.0.1:7", "--impl-cwd", "."], "--impl-cwd does not apply to --target"),
    (["--from-json", "missing.json"], "--from-json:"),
    (["--repeat", "0"], "a number of runs, at least 1"),
]


@pytest.mark.parametrize("args, message", USAGE, ids=[m for _, m in USAGE])
def test_bench_usage_error_is_one_line_and_exit_4(args, message, tmp_path):
    run = bench(*args, tmp=tmp_path, timeout=60)
    assert run.returncode == 4, run.stdout + run.stderr
    errors = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and message in errors[0], run.stderr


def test_ctrl_c_leaves_no_process_behind(tmp_path):
    """Ctrl-C in the middle of a point: the bench exits 2 and its servers, keepers and
    generator processes are all gone."""
    proc = subprocess.Popen([sys.executable, "-m", "echo_conformance", "bench", "--impl", "echo-reactor",
                             "--no-baseline", "--connections", "10", "--size", "1024", "--duration", "60"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=as_in_a_terminal,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 60
        tree: list[psutil.Process] = []
        while time.monotonic() < deadline:  # until the generator's workers are running
            tree = psutil.Process(proc.pid).children(recursive=True)
            if sum("echo_conformance.bench._worker" in " ".join(_cmdline(p)) for p in tree) >= 1 and any(
                    "echo_conformance.implementations.echo_reactor" in " ".join(_cmdline(p)) for p in tree):
                break
            time.sleep(0.1)
        else:
            pytest.fail("the bench never started its server and generator")
        time.sleep(0.5)
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 2, err
        assert "interrupted" in err
        left = [p for p in tree if _alive(p)]
        gone_by = time.monotonic() + 15
        while left and time.monotonic() < gone_by:
            time.sleep(0.1)
            left = [p for p in left if _alive(p)]
        assert not left, f"still running after Ctrl-C: {[' '.join(_cmdline(p)) for p in left]}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _cmdline(p: psutil.Process) -> list[str]:
    try:
        return p.cmdline()
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return []


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_server_cpu_counts_children_that_exit_during_the_interval_once():
    """A fork server's child reaped between the two readings: its lifetime CPU moves to its
    parent's children_* account, and only what it used after the first reading counts."""
    from echo_conformance.bench._runner import cpu_between

    parent, child, newborn = (1, 0.0), (2, 0.0), (3, 0.0)
    before = {parent: (1.0, 0.5), child: (0.25, 0.25)}
    # the child used 0.5 s more (user) and was reaped: the parent's children_user grows by 0.75 s
    after = {parent: (1.0 + 0.75, 0.5 + 0.25), newborn: (0.125, 0.0)}
    user, system = cpu_between(before, after)
    assert (user, system) == (0.5 + 0.125, 0.0)


def _run(cpu, rts=1000.0, error=None):
    return Point.from_json({"implementation": "x", "kind": "echo", "model": "concurrent", "connections": 1,
                            "size": 1, "mode": "closed", "duration_s": 1.0, "warmup_s": 0.0,
                            "generator_processes": 1, "server_cpu_us_per_rt": cpu, "round_trips_per_s": rts,
                            "error": error})


@pytest.mark.parametrize("runs, cpu, rts, repeats, error", [
    ([_run(3.0), _run(1.0), _run(2.0)], 2.0, 1000.0, 3, None),                    # the median by CPU
    ([_run(5.0, 10.0), _run(1.0, 30.0)], 1.0, 30.0, 2, None),                     # even: the lower middle
    ([_run(None, 10.0), _run(None, 30.0), _run(None, 20.0)], None, 20.0, 3, None),  # --target: by throughput
    ([_run(1.0), _run(None, None, "the server is no longer running")], 1.0, 1000.0, 1,
     "1 of 2 runs failed: the server is no longer running"),                     # a failure is never outvoted
    ([_run(None, None, "refused")], None, None, 0, "refused"),
])
def test_repeated_runs_keep_the_median_run_and_their_spread(runs, cpu, rts, repeats, error):
    from echo_conformance.bench._runner import median_point

    point = median_point(runs)
    assert (point.cpu.server_cpu_us_per_rt, point.traffic.round_trips_per_s) == (cpu, rts)
    assert point.spread.repeats == repeats and point.error == error
    if repeats:
        low, high = point.spread.round_trips_per_s_range
        assert low <= rts <= high


def test_a_point_reads_and_writes_the_stored_results_unchanged():
    """The JSON schema is the point's: every key of POINT_KEYS is a field of Point, and the
    results in docs/bench/ come back from Point.from_json exactly as they were, key order included."""
    from echo_conformance.bench._report import read_json

    path = ROOT / "docs" / "bench" / "results.json"
    stored = json.loads(path.read_text())["points"]
    points = read_json(path)["points"]
    assert [list(p.to_json().items()) for p in points] == [list(p.items()) for p in stored]
    assert list(points[0].to_json()) == list(POINT_KEYS)


def test_bench_repeat_measures_each_point_that_many_times(tmp_path):
    run = bench("--impl", "echo-reactor", "--no-baseline", "--connections", "10", *TINY, "--repeat", "3",
                "--json", "bench.json", "--markdown", "bench.md", tmp=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    point = points(tmp_path / "bench.json")[("echo-reactor", 10)]
    assert_measured(point)
    assert point["repeats"] == 3
    low, high = point["server_cpu_us_per_rt_range"]
    assert low <= point["server_cpu_us_per_rt"] <= high
    assert "in 3 runs" in run.stdout and "the median of 3 runs" in (tmp_path / "bench.md").read_text()


class _Transport:
    def __init__(self, sock):
        self.sock = sock

    def get_extra_info(self, name):
        return self.sock if name == "socket" else None


@pytest.mark.skipif(not hasattr(__import__("socket"), "TCP_INFO"), reason="TCP_INFO is Linux's")
def test_a_message_the_generator_sent_after_the_stop_is_told_apart_from_one_the_server_kept():
    """_sent_after reads when the socket last sent data from the kernel (TCP_INFO), so a message
    held back in the generator's own loop is not blamed on the server."""
    import socket

    from echo_conformance.bench._generator import _sent_after

    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    with client, server:
        before = time.perf_counter_ns()
        time.sleep(0.05)  # the kernel counts in milliseconds: keep the two instants well apart
        client.sendall(b"x" * 64)
        time.sleep(0.05)
        after = time.perf_counter_ns()
        assert _sent_after(_Transport(client), before), "sent after `before`, but not seen so"
        assert not _sent_after(_Transport(client), after), "sent before `after`, but seen as later"
        assert not _sent_after(_Transport(None), before)  # no socket: never blamed on the generator
        assert not _sent_after(None, before)
