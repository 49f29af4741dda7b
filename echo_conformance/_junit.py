"""JUnit XML (``--junitxml``) as a CI test-report viewer should show the suite's verdicts.

Theory of operation
-------------------
pytest's junitxml plugin writes the file at the end of the session (on xdist's controller,
from the reports the workers send back); :class:`Regrader` then rewrites it, once, from the
verdicts the report writer gathered (``_report.Collector``):

* each case's test case is named by what it is: ``classname`` the implementation, ``name`` the
  case ID (``external`` / ``tcp.echo.binary``, not ``conformance.test_tcp_echo`` /
  ``test_tcp_echo_binary[external]``); its properties (case ID, level, requirement,
  implementation, reproduce) stay, and ``verdict`` is added;
* an expected failure -- a SHOULD-level case that failed, or a case listed in
  --known-failures -- stays ``<skipped>`` (JUnit has no "passed with a warning", and a
  ``<failure>`` would fail the build, which is --strict-should's job), but graded:
  ``type="should-not-met"`` or ``type="known-failure"``, its message saying so with what was
  observed, and the requirement, expected, observed and reproduce line as its text;
* an interrupted run says so in a suite property, ``interrupted``.

Other tests of the run (a project that loads the plugin into its own run) are left as pytest
wrote them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

import pytest

from ._interrupt import Extent
from ._verdict import SHOULD_REASON, XFAIL

SHOULD_NOT_MET, KNOWN_FAILURE = "should-not-met", "known-failure"


def _properties(testcase: ET.Element) -> dict[str, str]:
    return {p.get("name", ""): p.get("value", "") for p in testcase.iterfind("properties/property")}


def _details(r: dict) -> str:
    lines = [f"requirement: {r['requirement']}"]
    if r.get("expected"):
        lines.append(f"expected: {r['expected']}")
    if r.get("observed"):
        lines.append(f"observed: {r['observed']}")
    lines.append(f"reproduce: {r['reproduce']}")
    return "\n".join(lines)


def _grade(skipped: ET.Element, r: dict) -> None:
    """An expected failure's ``<skipped>``, graded."""
    reason = r.get("reason") or ""
    first = (r.get("observed") or "").strip().splitlines()[:1]
    seen = f"; observed: {first[0]}" if first else ""
    if reason == SHOULD_REASON:
        skipped.set("type", SHOULD_NOT_MET)
        skipped.set("message", f"SHOULD-level requirement not met (not fatal without --strict-should){seen}")
    else:
        skipped.set("type", KNOWN_FAILURE)
        skipped.set("message", f"{reason}{seen}" if reason else f"a known failure{seen}")
    skipped.text = _details(r)


def regrade(xml: str, results: Iterable[dict], extent: Extent | None = None) -> str:
    """The JUnit XML ``xml`` with the suite's test cases named and graded by ``results``
    (the report writer's: id, implementation, level, outcome, reason, requirement, expected,
    observed, reproduce)."""
    by_case = {(r["id"], r["implementation"]): r for r in results}
    root = ET.fromstring(xml)
    for testcase in root.iter("testcase"):
        props = _properties(testcase)
        if "case" not in props:
            continue
        testcase.set("classname", props.get("implementation") or "echo-conformance")
        testcase.set("name", props["case"])
        r = by_case.get((props["case"], props.get("implementation", "")))
        if r is None:
            continue
        properties = testcase.find("properties")
        if properties is not None and "verdict" not in props:
            ET.SubElement(properties, "property", name="verdict", value=r["outcome"])
        skipped = testcase.find("skipped")
        if r["outcome"] == XFAIL and skipped is not None:
            _grade(skipped, r)
    if extent is not None and extent.interrupted:
        for suite in root.iter("testsuite"):
            properties = suite.find("properties")
            if properties is None:
                properties = ET.Element("properties")
                suite.insert(0, properties)
            ET.SubElement(properties, "property", name="interrupted",
                          value=f"{extent.sentence()} ({extent.interruption})")
    return '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(root, encoding="unicode")


class Regrader:
    """A pytest plugin, on the controller: rewrites the JUnit XML file at ``path`` once
    junitxml has written it, from ``collector``'s verdicts."""

    def __init__(self, path: str, collector) -> None:
        self.path = Path(path)
        self.collector = collector  # _report.Collector

    @pytest.hookimpl(trylast=True)  # after junitxml's own, which writes the file
    def pytest_sessionfinish(self) -> None:
        if not self.path.exists():
            return
        text = self.path.read_text(encoding="utf-8")
        self.path.write_text(regrade(text, self.collector.results.values(), self.collector.extent()),
                             encoding="utf-8")
