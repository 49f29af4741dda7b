"""A failure of every family shows what happened on the wire: under its message in the
terminal, as the trace in report.json, and as an SVG timeline in report.html -- looked at in
headless Chromium: the SVG renders, fits its card, and its lanes and marks are the trace's.

One deliberately faulty server per family (tests/faulty/manifest.toml): serial, concurrent,
half-close, relay (with the fake upstream's own lanes) and UDP, and a SHOULD-level failure
reported as an expected failure (its trace too)."""

from __future__ import annotations

import html
import json
import re
from collections import Counter

import pytest

from echo_conformance import _timeline, _wire

from ._suite import FAULTY, run_suite
from .test_report_page import _browse, _chromium

#: (implementation, case, family) -- each fails, or (no-reuseaddr) is an expected failure
FAMILIES = [
    ("thread-declared-serial", "tcp.serial.second-waits", "serial"),
    ("iterative-declared-concurrent", "tcp.concurrent.idle-client", "concurrent"),
    ("never-close", "tcp.halfclose.small", "half-close"),
    ("relay-swallows-halfclose", "relay.halfclose.upstream", "relay"),
    ("udp-truncates", "udp.echo.sizes", "UDP"),
    ("no-reuseaddr", "lifecycle.restart", "expected failure"),
]
#: the connection each family's case failed on (its last wait that went wrong; "(check)": a wait of
#: the check as a whole, on the fake upstream; none: the restart failed without a wait going wrong)
FAILED_ON = {"serial": ["client 2"], "concurrent": ["client 2"], "half-close": ["client 1"], "relay": ["(check)"],
             "UDP": ["peer 1"], "expected failure": []}
ARGS = ["--impl-file", str(FAULTY), "-n", "3",
        *[a for impl, _, _ in FAMILIES for a in ("--impl", impl)],
        *[a for _, case, _ in FAMILIES for a in ("--case", case)]]

PROBE = """<script>
(function () {
  var out = [];
  document.querySelectorAll("section.card").forEach(function (card) {
    var svg = card.querySelector("figure.timeline svg");
    if (!svg) { out.push({id: card.id, svg: false}); return; }
    var c = card.getBoundingClientRect(), s = svg.getBoundingClientRect(), outside = [];
    var frame = (svg.closest(".scroll") || svg).getBoundingClientRect();  // a narrow window scrolls the SVG
    var marks = Array.prototype.map.call(svg.querySelectorAll("g.mark"), function (g) {
      var r = g.getBoundingClientRect();
      if (r.left < s.left - 1 || r.right > s.right + 1 || r.top < s.top - 1 || r.bottom > s.bottom + 1)
        outside.push(g.getAttribute("data-kind"));
      return [parseInt(g.getAttribute("data-lane"), 10), g.getAttribute("data-kind"), r.width > 0 && r.height > 0];
    });
    out.push({id: card.id, svg: true, card: [c.left, c.right], box: [s.left, s.right, s.width, s.height],
              frame: [frame.left, frame.right],
              lanes: Array.prototype.map.call(svg.querySelectorAll("g.lane"), function (g) {
                return g.getAttribute("data-label"); }),
              labels: Array.prototype.map.call(svg.querySelectorAll("text.lane-label"), function (t) {
                return t.firstChild.nodeValue; }),
              failed: Array.prototype.map.call(svg.querySelectorAll("g.lane[data-failed=true]"), function (g) {
                var label = g.querySelector("text.lane-label");
                return [g.getAttribute("data-label"), getComputedStyle(label).fill]; }),
              bytes: Array.prototype.map.call(svg.querySelectorAll("text.lane-bytes"), function (t) {
                var r = t.getBoundingClientRect();
                var shown = Array.prototype.filter.call(t.childNodes, function (n) { return n.nodeName !== "title"; });
                return [shown.map(function (n) { return n.textContent; }).join(""),
                        r.width > 0 && r.left >= s.left - 1]; }),
              marks: marks, outside: outside});
  });
  var probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify({cards: out, scrollWidth: document.documentElement.scrollWidth,
                                      innerWidth: window.innerWidth});
  document.body.appendChild(probe);
})();
</script>"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("timelines")
    result = run_suite(*ARGS, tmp=tmp, strict=False)
    assert result.status == 1, result.output
    return tmp, result


def _case(run_result, impl: str, case: str) -> dict:
    cases = run_result.report["implementations"][impl]["cases"]
    return next(c for c in cases if c["id"] == case)


def _events(trace, lane_label=None, kind=None):
    ids = {l["label"]: l["id"] for l in trace["lanes"]}
    return [e for e in trace["events"]
            if (lane_label is None or e["lane"] == ids.get(lane_label, -2)) and (kind is None or e["kind"] == kind)]


def test_every_family_fails_as_it_should(run):
    _, result = run
    assert {(impl, case): _case(result, impl, case)["outcome"] for impl, case, _ in FAMILIES} == {
        (impl, case): "xfail" if family == "expected failure" else "fail" for impl, case, family in FAMILIES}


@pytest.mark.parametrize("impl, case, family", FAMILIES, ids=[f[2] for f in FAMILIES])
def test_report_json_carries_the_trace(run, impl, case, family):
    _, result = run
    trace = _case(result, impl, case)["trace"]
    assert trace["events"] and trace["lanes"]
    kinds = Counter(e["kind"] for e in trace["events"])
    if family == "serial":  # client 2 got its echo while client 1 was connected
        assert [l["label"] for l in trace["lanes"]] == ["client 1", "client 2"]
        assert [e["head"] for e in _events(trace, "client 2", _wire.RECV)] == ["b'two'"]
        assert _events(trace, "client 2", _wire.WINDOW)
    elif family == "concurrent":  # client 2 waited out the responsiveness bound, in vain
        bound = _events(trace, "client 2", _wire.BOUND)[0]
        assert bound["until"] - bound["t"] >= 1.5
        # its echo came only once client 1 had left (the evidence of a serial server)
        assert all(e["t"] >= bound["until"] for e in _events(trace, "client 2", _wire.RECV))
    elif family == "half-close":  # the echo came back, the EOF never did
        assert _events(trace, "client 1", _wire.SHUTDOWN) and _events(trace, "client 1", _wire.BOUND)
        assert sum(e["n"] for e in _events(trace, "client 1", _wire.RECV)) == 7
        assert not _events(trace, "client 1", _wire.EOF)
    elif family == "relay":  # the upstream got every byte but no EOF; the check waited for it
        upstream = [l["label"] for l in trace["lanes"] if l["role"] == "upstream"]
        carried = [u for u in upstream if sum(e["n"] for e in _events(trace, u, _wire.RECV)) == 1 << 20]
        assert carried and not _events(trace, carried[0], _wire.EOF)
        assert any(e["lane"] == -1 and e["kind"] == _wire.BOUND for e in trace["events"])
    elif family == "UDP":  # big datagrams came back as 4 KiB
        assert trace["lanes"][0]["datagram"] and kinds[_wire.WRONG] == 2
        assert {e["n"] for e in _events(trace, "peer 1", _wire.RECV)} >= {4096}
    else:
        assert kinds[_wire.CONNECT] >= 1


def _labels(trace: dict, ids) -> list[str]:
    names = {l["id"]: l["label"] for l in trace["lanes"]} | {-1: "(check)"}
    return [names[i] for i in ids]


@pytest.mark.parametrize("impl, case, family", FAMILIES, ids=[f[2] for f in FAMILIES])
def test_the_trace_names_the_connection_the_case_failed_on(run, impl, case, family):
    _, result = run
    trace = _case(result, impl, case)["trace"]
    assert _labels(trace, trace.get("failed", [])) == FAILED_ON[family]
    for lane in trace["lanes"]:  # every lane's totals: what its kept events add up to, or more
        kept = [e for e in trace["events"] if e["lane"] == lane["id"]]
        assert lane["sent"] >= sum(e["n"] for e in kept if e["kind"] == _wire.SEND)
        assert lane["received"] >= sum(e["n"] for e in kept if e["kind"] == _wire.RECV)


def _block(output: str, case: str, impl: str) -> str:
    """The terminal's failure block of ``case`` on ``impl``."""
    test = "test_" + case.replace(".", "_").replace("-", "_")
    found = re.search(rf"_{{3,}} {test}\[{re.escape(impl)}\] _{{3,}}\n(.*?)(?=\n_{{3,}} |\n={{3,}} )",
                      output, re.S)
    assert found, f"no failure block for {impl} in:\n{output}"
    return found.group(1)


@pytest.mark.parametrize("impl, case, family", FAMILIES[:5], ids=[f[2] for f in FAMILIES[:5]])
def test_the_terminal_shows_the_timeline_under_the_failure(run, impl, case, family):
    _, result = run
    block = _block(result.output, case, impl)
    message, _, timeline = block.partition(" on the wire ")
    assert f"{case} (MUST) failed for {impl}" in message and "reproduce:" in message
    lines = timeline.strip("- \n").splitlines()
    assert lines[0].startswith("timeline, in seconds since the check began (")
    trace = _case(result, impl, case)["trace"]
    failed = trace.get("failed", [])
    rows = [line.strip() for line in lines[1:] if not line.strip().startswith("(") or "FAILED" in line]
    shown = [l for l in _timeline.pick_lanes(trace, 6)]
    want = [l for l in shown if l["id"] in failed] + [l for l in shown if l["id"] not in failed]
    assert [row.split(" (sent ")[0] for row in rows if "(sent " in row] == \
        [f"{l['label']}{' FAILED' if l['id'] in failed else ''}" for l in want]
    assert rows[0].startswith(FAILED_ON[family][0] + " FAILED"), "the failed connection first"
    assert len(lines) <= 8, "a few lines, not a dump"


def _probe(tmp, width: int) -> dict:
    page = tmp / "report" / "report.html"
    probed = tmp / f"probed-{width}.html"
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = _browse(probed, tmp, width, "--dump-dom")
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, f"the probe did not run; the DOM was:\n{dom[:2000]}"
    return json.loads(html.unescape(found.group(1)))


@pytest.mark.parametrize("width", [1024, 500])
def test_the_page_draws_each_timeline_as_the_trace_says(run, width):
    _chromium()
    tmp, result = run
    page = _probe(tmp, width)
    assert page["scrollWidth"] <= page["innerWidth"]
    cards = {c["id"]: c for c in page["cards"]}
    for impl, case, family in FAMILIES:
        card = cards[f"{case}--{impl}"]
        assert card["svg"], f"{family}: no timeline in the card"
        _, _, w, h = card["box"]
        assert w > 200 and h > 40, f"{family}: the SVG did not render ({w} x {h})"
        assert card["card"][0] <= card["frame"][0] and card["frame"][1] <= card["card"][1], \
            f"{family}: the SVG's frame is wider than its card"
        assert not card["outside"], f"{family}: marks drawn outside the picture: {card['outside']}"
        trace = _case(result, impl, case)["trace"]
        shown = _timeline.pick_lanes(trace, 12)
        assert card["lanes"] == card["labels"] == [l["label"] for l in shown], family
        failed = [label for label in FAILED_ON[family] if label != "(check)"]
        assert [label for label, _ in card["failed"]] == failed, family
        assert all(fill == "rgb(180, 35, 24)" for _, fill in card["failed"]), f"{family}: a failed lane not in red"
        assert [text for text, _ in card["bytes"]] == \
            [f"sent {_timeline._short(l['sent'])} · got {_timeline._short(l['received'])}" for l in shown], family
        assert all(inside for _, inside in card["bytes"]), f"{family}: byte totals cut off on the left"
        ids = {l["id"] for l in shown} | {-1}
        assert Counter((lane, kind) for lane, kind, _ in card["marks"]) == \
            Counter((e["lane"], e["kind"]) for e in trace["events"] if e["lane"] in ids), family
        assert all(painted for _, _, painted in card["marks"]), f"{family}: an empty mark"
