"""The package as a user gets it: built as an sdist, the wheel built from that sdist, installed
into a fresh virtualenv outside the checkout, and used from a directory that is not the
checkout: the ``echo-conformance`` command, the opt-in pytest plugin, the reference servers
and the GitHub Action's run script.

The build and the virtualenv are made once per test session and shared by the xdist workers
(under a lock); the dependencies come from the package index (or pip's cache)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from echo_conformance import __version__
from echo_conformance._catalogue import load
from echo_conformance._launch import free_port

from ._suite import ROOT

NODE_ECHO = f"node {ROOT / 'examples' / 'node' / 'echo.js'} {{host}} {{port}}"
BANNER = f"{{python}} {ROOT / 'tests' / 'faulty' / 'banner.py'} --host {{host}} --port {{port}}"
SOURCES = ["pyproject.toml", "README.md", "echo_conformance", "conformance", "implementations"]

# building and installing (the first test's setup) waits for the package index: more than the
# suite's 300 s pytest-timeout allows on a slow day
pytestmark = pytest.mark.timeout(900)

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@dataclass
class Installed:
    root: Path
    sdist: Path
    wheel: Path
    venv: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def site_packages(self) -> Path:
        [path] = self.venv.glob("lib/python3.*/site-packages")
        return path

    def env(self, tmp: Path) -> dict:
        """A user's environment: the virtualenv first on the PATH, nothing of the checkout."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTEST_ADDOPTS")}
        env.update(PATH=f"{self.bin}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(self.venv),
                   HYPOTHESIS_STORAGE_DIRECTORY=str(tmp / ".hypothesis-db"))
        return env

    def run(self, *argv: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(list(argv), cwd=cwd, env=self.env(cwd), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)


@contextlib.contextmanager
def _locked(path: Path):
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the other xdist workers wait for the one building
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _step(what: str, argv: list[str], cwd: Path, log: Path) -> None:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
    with open(log, "a") as f:
        f.write(f"$ {shlex.join(argv)}\n{proc.stdout}{proc.stderr}\n")
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")


def _build_and_install(root: Path) -> None:
    log = root / "build.log"
    src, dist, tools, venv = root / "src", root / "dist", root / "build-tools", root / "venv"
    src.mkdir(parents=True)
    for name in SOURCES:  # a copy: building leaves build/ and *.egg-info behind
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, src / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    # What `python -m build` does, without needing it: the sdist with the build backend the
    # project requires, then the wheel from the sdist.
    _step("installing the build backend", [*pip, "install", "--target", str(tools), "setuptools>=64"], root, log)
    _step("building the sdist", [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(tools)!r}); "
                                 f"import setuptools.build_meta as b; b.build_sdist({str(dist)!r})"], src, log)
    [sdist] = dist.glob("*.tar.gz")
    _step("building the wheel from the sdist", [*pip, "wheel", "--no-deps", "-w", str(dist), str(sdist)], root, log)
    [wheel] = dist.glob("*.whl")
    _step("creating a fresh virtualenv", [sys.executable, "-m", "venv", "--without-pip", str(venv)], root, log)
    _step("installing the wheel", [*pip, "--python", str(venv / "bin" / "python"), "install", str(wheel)], root, log)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by the workers of this session
    root = base / "echo-conformance-package"
    with _locked(base / "echo-conformance-package.lock"):
        failed = root / "FAILED"
        if failed.exists():
            pytest.fail(failed.read_text(), pytrace=False)
        if not (root / "DONE").exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            try:
                _build_and_install(root)
            except Exception as exc:
                failed.write_text(str(exc))
                raise
            (root / "DONE").touch()
    dist = root / "dist"
    return Installed(root, next(dist.glob("*.tar.gz")), next(dist.glob("*.whl")), root / "venv")


@pytest.fixture
def elsewhere(tmp_path: Path) -> Path:
    """A directory outside the checkout."""
    assert ROOT not in tmp_path.parents
    return tmp_path


# --- what gets installed -------------------------------------------------------------------------

def test_the_sdist_and_the_wheel_hold_the_package_and_its_data(installed):
    with tarfile.open(installed.sdist) as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert {"pyproject.toml", "README.md", "echo_conformance/suite.ini", "echo_conformance/cli.py",
            "implementations/manifest.toml", "conformance/test_tcp_echo.py"} <= names  # the checkout's layout
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        top = {n.split("/")[0] for n in names}
        entry_points = next(wheel.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    assert top == {"echo_conformance", f"echo_conformance-{__version__}.dist-info"}  # no conformance/, implementations/
    assert {"echo_conformance/suite.ini", "echo_conformance/implementations/manifest.toml",  # mapped into the package
            "echo_conformance/implementations/echo_thread.py", "echo_conformance/checks/test_tcp_echo.py"} <= names
    # a console script, and no pytest11 entry point: installing it changes no pytest session
    assert entry_points.split() == ["[console_scripts]", "echo-conformance", "=", "echo_conformance.cli:entry_point"]


def test_site_packages_holds_one_package_of_ours(installed):
    top = {p.name for p in installed.site_packages.iterdir()}
    assert "echo_conformance" in top
    assert not top & {"conformance", "implementations", "checks", "tests", "faulty", "examples"}
    ours = {n for n in top if n.startswith("echo")}
    assert ours == {"echo_conformance", f"echo_conformance-{__version__}.dist-info"}


def test_installing_changes_no_other_pytest_session(installed, elsewhere):
    (elsewhere / "test_theirs.py").write_text("def test_theirs():\n    assert True\n")
    help_text = installed.run(str(installed.bin / "pytest"), "--help", cwd=elsewhere)
    assert help_text.returncode == 0 and "--impl-cmd" not in help_text.stdout
    run = installed.run(str(installed.bin / "pytest"), "-q", "-p", "no:cacheprovider", cwd=elsewhere)
    assert run.returncode == 0 and "1 passed" in run.stdout and "echo-conformance" not in run.stdout


# --- the command ---------------------------------------------------------------------------------

def test_version_and_list(installed, elsewhere):
    version = installed.run("echo-conformance", "--version", cwd=elsewhere)
    assert (version.returncode, version.stdout.strip()) == (0, f"echo-conformance {__version__}")
    listing = installed.run("echo-conformance", "--list", cwd=elsewhere)
    assert listing.returncode == 0, listing.stderr
    assert [line.split()[0] for line in listing.stdout.splitlines() if not line.startswith(" ")] == list(load())
    same = installed.run(str(installed.bin / "python"), "-m", "echo_conformance", "--list", cwd=elsewhere)
    assert same.stdout == listing.stdout


@needs_node
def test_a_conforming_server_exits_0(installed, elsewhere):
    run = installed.run("echo-conformance", "--impl-cmd", NODE_ECHO, "--report", "report", cwd=elsewhere)
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    document = json.loads((elsewhere / "report" / "report.json").read_text())
    assert document["conforming"] and document["implementations"]["external"]["cases"]


def test_a_faulty_server_exits_1(installed, elsewhere):
    run = installed.run("echo-conformance", "--impl-cmd", BANNER, "--impl-name", "banner", "--case", "tcp.echo",
                        cwd=elsewhere)
    assert run.returncode == 1, run.stdout[-5000:] + run.stderr[-3000:]
    assert "FAIL tcp.echo.no-banner (MUST) on banner" in run.stdout
    assert "reproduce: echo-conformance --case tcp.echo.no-banner --impl-cmd" in run.stdout


def test_a_template_without_port_exits_4_in_one_line(installed, elsewhere):
    run = installed.run("echo-conformance", "--impl-cmd", "node echo.js {host}", cwd=elsewhere)
    assert run.returncode == 4
    assert run.stderr.strip().splitlines() == [
        "echo-conformance: error: --impl-cmd: the command template must contain {port}: 'node echo.js {host}' "
        "(see echo-conformance --help)"]


# --- the opt-in pytest plugin --------------------------------------------------------------------

@needs_node
def test_the_pytest_plugin_runs_in_a_project_with_its_own_conftest(installed, elsewhere):
    (elsewhere / "conftest.py").write_text("import pytest\n\n\n@pytest.fixture\ndef answer():\n    return 42\n")
    (elsewhere / "pytest.ini").write_text("[pytest]\naddopts = -ra\n")
    (elsewhere / "test_theirs.py").write_text("def test_theirs(answer):\n    assert answer == 42\n")
    junit = elsewhere / "junit.xml"
    run = installed.run("pytest", "-p", "echo_conformance", "-p", "no:cacheprovider", "--impl-cmd", NODE_ECHO,
                        "--impl-name", "node-echo", "--case", "tcp.echo.unbuffered", "--case", "tcp.halfclose.small",
                        f"--junitxml={junit}", cwd=elsewhere)
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    assert "3 passed" in run.stdout and "echo-conformance matrix" in run.stdout
    xml = junit.read_text()
    assert 'name="test_theirs"' in xml and 'name="case" value="tcp.echo.unbuffered"' in xml
    # the reproduce line runs the case again, from the project, and only that case
    line = shlex.split(xml.split('name="reproduce" value="')[1].split('"')[0].replace("&apos;", "'"))
    assert line[:3] == ["pytest", "-p", "echo_conformance"] and Path(line[3].split("::")[0]).is_absolute()
    again = installed.run(*line, "-p", "no:cacheprovider", cwd=elsewhere)
    assert again.returncode == 0 and "1 passed" in again.stdout, again.stdout[-3000:]


# --- the reference servers -----------------------------------------------------------------------

def test_a_reference_server_runs_from_the_installed_package(installed, elsewhere):
    port = free_port()
    server = subprocess.Popen([str(installed.bin / "python"), "-m", "echo_conformance.implementations.echo_thread",
                               "--host", "127.0.0.1", "--port", str(port)], cwd=elsewhere,
                              env=installed.env(elsewhere), stdin=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                client = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except ConnectionRefusedError:
                if server.poll() is not None:
                    pytest.fail(f"the server exited with status {server.returncode}")
                time.sleep(0.05)  # waiting for it to listen: there is no event to wait on
        with client:
            client.sendall(b"ping")
            assert client.recv(16) == b"ping"
        server.send_signal(signal.SIGTERM)
        assert server.wait(10) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


# --- the GitHub Action's run script with the installed command -----------------------------------

@needs_node
def test_the_action_script_runs_the_installed_command(installed, elsewhere):
    env = {**installed.env(elsewhere), "INPUT_IMPL_CMD": NODE_ECHO, "INPUT_NAME": "node-echo",
           "INPUT_REPORT_DIR": "out", "INPUT_EXTRA_ARGS": "--case tcp.echo.unbuffered",
           "PYTHON": str(installed.bin / "python")}
    run = subprocess.run(["bash", str(ROOT / "scripts" / "action-run.sh")], cwd=elsewhere, env=env,
                         capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    document = json.loads((elsewhere / "out" / "report.json").read_text())
    assert [c["outcome"] for c in document["implementations"]["node-echo"]["cases"]] == ["pass"]
