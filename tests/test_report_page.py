"""The report page people open, looked at in a real browser (headless Chromium): it fits the
window's width, and each failure appears once -- requirement, expected, observed, the server's
last output and one reproduce line.

Chromium comes from Debian's packages (scripts/install-test-deps.sh).  Without it these tests
are skipped, with the reason -- except under CI (the CI environment variable set), where a
missing browser is a failure."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import subprocess

import pytest

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
