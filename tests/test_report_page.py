"""The report page people open, looked at in a real browser (headless Chromium): it fits the
window's width, and each failure appears once -- requirement, expected, observed, the server's
last output and one reproduce line.

Chromium comes from Debian's packages (scripts/install-test-deps.sh).  Without it these tests
are skipped, with the reason -- except under CI (the CI environment variable set), where a
missing browser is a failure."""

from __future__ import annotations

import base64
import html
import json
import os
import re
import select
import shutil
import signal
import subprocess
import time

import pytest

from echo_conformance._report import html_page

from ._suite import FAULTY, run_suite

#: MUST failures (banner; poll-dies-on-reset, whose death refuses the next connection: an
#: OSError verdict with the server's last output) and SHOULD ones (no-reuseaddr, banner),
#: reported as expected failures
ARGS = ["--impl-file", str(FAULTY), "--impl", "banner", "--impl", "no-reuseaddr", "--impl", "poll-dies-on-reset",
        "--case", "tcp.echo.no-banner", "--case", "lifecycle.restart", "--case", "tcp.robust.reset-midstream"]

PROBE = """<script>
(function () {
  var root = document.documentElement, width = window.innerWidth;
  var wide = Array.prototype.filter.call(document.querySelectorAll("body *"), function (e) {
    return !e.closest(".scroll") && e.getBoundingClientRect().right > width + 0.5;
  }).slice(0, 10).map(function (e) { return e.tagName + "." + e.className + ": " + e.textContent.slice(0, 60); });
  var probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify({scrollWidth: root.scrollWidth, innerWidth: width, wide: wide,
                                      text: document.body.innerText});
  document.body.appendChild(probe);
})();
</script>"""


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed (scripts/install-test-deps.sh installs it); CI requires it")
    pytest.skip("chromium is not installed (scripts/install-test-deps.sh installs it)")


def _browse(page, tmp_path, width: int, *extra: str) -> str:
    """Run headless Chromium on ``page`` in a window ``width`` pixels wide; its stdout."""
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-extensions", f"--user-data-dir={tmp_path / f'chromium-{width}'}",
           f"--window-size={width},900", *extra, page.as_uri()]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=90)
    finally:  # the browser and its helper processes, whatever happened
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    assert proc.returncode == 0, f"chromium exited with status {proc.returncode}"
    return out


def _render(report_html, tmp_path, width: int) -> dict:
    """What the page looks like to a reader in a ``width``-pixel window."""
    probed = tmp_path / f"probed-{width}.html"
    probed.write_text(report_html.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                      encoding="utf-8")
    dom = _browse(probed, tmp_path, width, "--dump-dom")
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, f"the probe did not run; the DOM was:\n{dom[:2000]}"
    return json.loads(html.unescape(found.group(1)))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("page")
    _chromium()  # skip (or fail under CI) before running the suite for nothing
    run = run_suite(*ARGS, tmp=tmp, strict=False)
    assert run.status == 1, run.output
    return tmp, run


def _failures(document: dict) -> list[dict]:
    return [dict(c, implementation=name) for name, d in document["implementations"].items() for c in d["cases"]
            if c["outcome"] in ("fail", "error", "stale", "xfail")]


def test_the_run_has_every_kind_of_failure(report):
    _, run = report
    failures = {(c["id"], c["implementation"]): c for c in _failures(run.report)}
    assert {k: c["outcome"] for k, c in failures.items()} == {
        ("tcp.echo.no-banner", "banner"): "fail", ("tcp.robust.reset-midstream", "banner"): "fail",
        ("tcp.robust.reset-midstream", "poll-dies-on-reset"): "fail",
        ("lifecycle.restart", "banner"): "xfail", ("lifecycle.restart", "no-reuseaddr"): "xfail"}
    died = failures[("tcp.robust.reset-midstream", "poll-dies-on-reset")]
    assert died["observed"].startswith(("a connection was", "while ")), died  # an OSError verdict
    assert "ConnectionResetError" in died["server_output"] and died["server_exit"] == "1"


@pytest.fixture(scope="module")
def render(report, tmp_path_factory):
    """``render(width)``: the page as a reader sees it in a window that wide (once per width)."""
    tmp, _ = report
    seen: dict[int, dict] = {}

    def at(width: int) -> dict:
        if width not in seen:
            seen[width] = _render(tmp / "report" / "report.html", tmp_path_factory.mktemp("chromium"), width)
        return seen[width]

    return at


@pytest.mark.parametrize("width", [1024, 500])  # 500: the narrowest window Chromium opens
def test_the_page_fits_the_window(render, width):
    page = render(width)
    assert page["innerWidth"] == width
    assert page["scrollWidth"] <= page["innerWidth"], f"wider than the window: {page['wide']}"
    assert not page["wide"]


def test_each_failure_appears_once(report, render):
    _, run = report
    text = render(1024)["text"]
    assert text.index("Matrix") < text.index("Failures (3)") < text.index("Expected failures (2")
    failures = _failures(run.report)
    for c in failures:
        sharing = sum(1 for other in failures if other["requirement"] == c["requirement"])
        assert text.count(c["requirement"]) == sharing, c["requirement"]  # once per failure
        assert text.count(f"{c['id']} on {c['implementation']}") == 1
        assert text.count(c["reproduce"]) == 1, c["reproduce"]
        assert text.count(c["expected"]) == 1, c["expected"]
        assert c["expected"] != c["requirement"]
        assert c["observed"].splitlines()[0] in text
    assert text.count("a connection was") == 1  # the OSError verdict, once
    assert text.count("Server output") == 1 and "ConnectionResetError: [Errno 104]" in text
    assert "Reproduce" in text and "reproduce:" not in text  # the command, not the raw message


# --- on a phone ----------------------------------------------------------------------------------

#: What the page looks like on a phone: run in the page after it loaded, it returns what the
#: checks below need.  The widest element outside a horizontal scroll container; the smallest
#: text of the SVG timelines as drawn (its font size times the drawing's scale); pre blocks
#: wider than themselves (they must wrap); the cards' column count; and, the matrix scrolled to
#: its right end, where its first column is.
PHONE_PROBE = """(function () {
  var width = window.innerWidth, root = document.documentElement;
  var wide = Array.prototype.filter.call(document.querySelectorAll("body *"), function (e) {
    return !e.closest(".scroll") && e.getBoundingClientRect().right > width + 0.5;
  }).slice(0, 10).map(function (e) { return e.tagName + "." + e.className + ": " + e.textContent.slice(0, 60); });
  var smallest = Infinity;
  document.querySelectorAll("svg.timeline").forEach(function (svg) {
    var scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    svg.querySelectorAll("text").forEach(function (t) {
      smallest = Math.min(smallest, parseFloat(getComputedStyle(t).fontSize) * scale);
    });
  });
  var unwrapped = Array.prototype.filter.call(document.querySelectorAll("pre"), function (p) {
    return p.scrollWidth > p.clientWidth + 1;
  }).length;
  var columns = Array.prototype.map.call(document.querySelectorAll(".card dl"), function (dl) {
    return getComputedStyle(dl).gridTemplateColumns.split(" ").length;
  });
  var matrix = document.querySelector(".scroll"), first = matrix.querySelector("tbody th");
  matrix.scrollLeft = matrix.scrollWidth;
  return {innerWidth: width, scrollWidth: root.scrollWidth, wide: wide, smallestTimelineText: smallest,
          unwrappedPre: unwrapped, cardColumns: columns, matrixScrolls: matrix.scrollWidth > matrix.clientWidth,
          firstColumnLeft: first.getBoundingClientRect().left - matrix.getBoundingClientRect().left};
})()"""


def _phone(page, tmp_path, width: int = 390, screenshot=None) -> dict:
    """``page`` on a phone ``width`` CSS pixels wide (Chromium's mobile emulation, device pixel
    ratio 2, through the DevTools protocol on a pipe: a headless window is never narrower than
    500 pixels): :data:`PHONE_PROBE`'s result, and a screenshot of the whole page if asked."""
    commands_in, commands_out = os.pipe()  # Chromium reads commands on its fd 3 ...
    replies_in, replies_out = os.pipe()  # ... and writes replies on its fd 4

    def on_fds_3_and_4():
        read, write = os.dup(commands_in), os.dup(replies_out)
        os.dup2(read, 3)
        os.dup2(write, 4)
        os.closerange(5, 1 << 16)

    proc = subprocess.Popen([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--disable-background-networking", "--disable-component-update", "--disable-sync",
                             "--disable-extensions", "--remote-debugging-pipe",
                             f"--user-data-dir={tmp_path / 'chromium-phone'}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            close_fds=False, preexec_fn=on_fds_3_and_4, start_new_session=True)
    os.close(commands_in)
    os.close(replies_out)
    deadline = time.monotonic() + 90
    pending, numbers, events = bytearray(), iter(range(1, 1 << 30)), []

    def message() -> dict:
        while b"\0" not in pending:
            ready, _, _ = select.select([replies_in], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(replies_in, 65536) if ready else b""
            assert chunk, "chromium did not answer in time"
            pending.extend(chunk)
        at = pending.index(b"\0")
        text = bytes(pending[:at])
        del pending[: at + 1]
        return json.loads(text)

    def send(method: str, session: str | None = None, **params) -> dict:
        number = next(numbers)
        os.write(commands_out, json.dumps({"id": number, "method": method, "params": params,
                                           **({"sessionId": session} if session else {})}).encode() + b"\0")
        while True:
            reply = message()
            if reply.get("id") == number:
                assert "error" not in reply, reply
                return reply["result"]
            events.append(reply.get("method"))

    try:
        target = send("Target.createTarget", url="about:blank")["targetId"]
        session = send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        send("Emulation.setDeviceMetricsOverride", session, width=width, height=844, deviceScaleFactor=2,
             mobile=True)
        send("Page.enable", session)
        send("Page.navigate", session, url=page.as_uri())
        while "Page.loadEventFired" not in events:
            events.append(message().get("method"))
        if screenshot is not None:
            shot = send("Page.captureScreenshot", session, format="png", captureBeyondViewport=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        return send("Runtime.evaluate", session, expression=PHONE_PROBE, returnByValue=True)["result"]["value"]
    finally:  # the browser and its helper processes, whatever happened
        os.close(commands_out)
        os.close(replies_in)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


#: a run over many implementations: its matrix is wider than a phone
WIDE = {"started": "2026-01-01T00:00:00Z", "duration": 1.0, "exit_status": 0, "conforming": True, "counts": {"pass": 12},
        "timeout_scale": 1.0, "cases_run": 12, "cases_total": 12, "interrupted": False,
        "implementations": {f"implementation-{i}": {"cases": [
            {"id": "tcp.echo.binary", "level": "MUST", "requirement": "r", "outcome": "pass", "duration": 0.1,
             "reproduce": "x"}]} for i in range(12)}}


@pytest.mark.parametrize("which", ["failures", "wide matrix"])
def test_the_page_reads_on_a_phone(which, report, tmp_path):
    """390 CSS pixels wide: nothing wider than the screen but inside a horizontal scroll
    container; the matrix scrolls with its first column in place; the timelines scroll rather
    than shrink their text below 8 px; pre blocks wrap; a card's rows stack."""
    if which == "failures":
        page = report[0] / "report" / "report.html"
    else:
        page = tmp_path / "wide.html"
        page.write_text(html_page(WIDE), encoding="utf-8")
    seen = _phone(page, tmp_path, screenshot=tmp_path / "phone.png")  # the screenshot: to look at by hand
    assert seen["innerWidth"] == 390
    assert seen["scrollWidth"] <= 390 and not seen["wide"], seen["wide"]
    assert seen["unwrappedPre"] == 0
    assert abs(seen["firstColumnLeft"]) < 1, seen
    if which == "failures":
        assert 8 <= seen["smallestTimelineText"] < 100, seen  # there are timelines, drawn readable
        assert seen["cardColumns"] and set(seen["cardColumns"]) == {1}
    else:
        assert seen["matrixScrolls"]
