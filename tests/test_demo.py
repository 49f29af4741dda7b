"""``echo-conformance demo``: the two-client scene tells a serial server from a concurrent
one, prints its timeline as it happens and ends with one sentence; the README's table of
reference servers links each one's picture of it, and every picture still tells what its
server does (the scene is played on each again, with a shorter hold)."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

from echo_conformance import _demo
from echo_conformance._command import USAGE_ERROR
from echo_conformance._bounds import Bounds
from echo_conformance._registry import bundled

from ._docs import DEMO, DEMO_LABELS, README, model_table, picture_verdict
from ._suite import ROOT

SVG = "{http://www.w3.org/2000/svg}"
TCP = [impl for impl in bundled() if "tcp" in impl.transports]


def _demo_command(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "echo_conformance", "demo", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _lines(out: str) -> list[str]:
    return [line.strip() for line in out.splitlines()]


def test_on_a_serial_server_client_2_waits_for_client_1():
    proc = _demo_command("echo-iterative")
    assert proc.returncode == 0, proc.stderr
    lines = _lines(proc.stdout)
    assert re.fullmatch(r"client 2 was blocked by client 1 for 2\.\d s, then received its 12 bytes: a serial server",
                        lines[-1]), lines[-1]
    # the timeline, as it happened: client 2 sends, waits out the hold, client 1 leaves, then its echo
    order = [next(i for i, line in enumerate(lines) if re.search(pattern, line)) for pattern in (
        r"client 1\s+got 12 B b'hello from 1'", r"client 2\s+sent 12 B b'hello from 2'",
        r"client 2\s+waited 2\.\d\d s: no byte moved", r"client 1\s+close", r"client 2\s+got 12 B b'hello from 2'")]
    assert order == sorted(order), proc.stdout


def test_on_a_concurrent_server_both_are_served_at_once():
    proc = _demo_command("echo-thread")
    assert proc.returncode == 0, proc.stderr
    lines = _lines(proc.stdout)
    assert lines[-1] == "both clients were served at once: a concurrent server"
    got = next(i for i, line in enumerate(lines) if re.search(r"client 2\s+got 12 B", line))
    leaves = next(i for i, line in enumerate(lines) if re.search(r"client 1\s+close", line))
    assert got < leaves and not any("waited" in line for line in lines), proc.stdout


def test_any_server_by_its_command_and_a_picture_of_it(tmp_path):
    picture = tmp_path / "demo.svg"
    proc = _demo_command("--impl-cmd", "{python} -m echo_conformance.implementations.echo_single --host {host} "
                         "--port {port}", "--hold", "0.5", "--svg", str(picture))
    assert proc.returncode == 0, proc.stderr
    assert _lines(proc.stdout)[-1].endswith("then received its 12 bytes: a serial server")
    root = ET.fromstring(picture.read_text(encoding="utf-8"))
    assert root.get("data-verdict") == "serial"
    assert [g.get("data-label") for g in root.iter(f"{SVG}g") if g.get("class") == "lane"] == ["client 1", "client 2"]
    captions = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "caption"]
    assert captions[-1] == _lines(proc.stdout)[-1]


def test_a_server_that_is_not_there():
    with socket.socket() as bound:  # bound, not listening: refused
        bound.bind(("127.0.0.1", 0))
        proc = _demo_command("--target", f"127.0.0.1:{bound.getsockname()[1]}")
    assert proc.returncode == _demo.FAILED
    assert _lines(proc.stdout)[-1].startswith("client 1 could not be served (ConnectionRefusedError")


@pytest.mark.parametrize("argv, message", [
    ([], "which server?"),
    (["echo-udp"], "the scene is played over TCP connections; echo-udp declares udp only"),
    (["no-such-server"], "no implementation named no-such-server"),
    (["echo-thread", "--target", "127.0.0.1:7"], "a name and --target: use only one"),
    (["--hold", "0"], "must be positive"),
])
def test_usage_errors(capsys, argv, message):
    assert _demo.main(argv) == USAGE_ERROR
    err = capsys.readouterr().err
    assert err.startswith("echo-conformance demo: error: ") and message in err, err


def test_the_readme_links_every_servers_picture():
    text = README.read_text(encoding="utf-8")
    assert model_table(text) == text, "README's demo column is stale: run python -m tests._docs"
    drawn = {path.stem for path in DEMO.glob("*.svg")}
    assert drawn == {impl.name for impl in TCP}, "docs/demo/ has a picture per bundled TCP server, no other"
    for impl in TCP:
        assert f"(docs/demo/{impl.name}.svg)" in text
        assert picture_verdict(DEMO / f"{impl.name}.svg") in DEMO_LABELS


def _clients(root) -> Counter:
    """What each client lane of a picture shows, by kind (intervals and marks)."""
    labels = {g.get("data-lane"): g.get("data-label") for g in root.iter(f"{SVG}g") if g.get("class") == "lane"}
    return Counter((labels[g.get("data-lane")], g.get("data-kind")) for g in root.iter(f"{SVG}g")
                   if g.get("class") == "mark" and labels.get(g.get("data-lane"), "").startswith("client"))


@pytest.mark.parametrize("impl", TCP, ids=[impl.name for impl in TCP])
def test_the_picture_still_tells_what_the_server_does(impl):
    bounds = Bounds()
    with _demo.stage(impl, bounds) as st:
        scene = _demo.play(st.address, bounds, hold=0.5, settle=st.settle, what=st.what)
    drawn = ET.fromstring((DEMO / f"{impl.name}.svg").read_text(encoding="utf-8"))
    assert scene.verdict == drawn.get("data-verdict") == impl.model, \
        f"{impl.name}: {scene.sentence} (the picture: {drawn.get('data-verdict')}): run python -m tests._docs --demo"
    now = ET.fromstring(_demo.picture(scene, impl.name))
    assert _clients(now) == _clients(drawn), \
        f"{impl.name}: the scene went differently: run python -m tests._docs --demo"
