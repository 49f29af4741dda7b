"""JUnit XML: the suite's test cases named by implementation and case ID, expected failures
graded (a SHOULD not met, a known failure), an interrupted run marked -- the rewrite on its own
(table-driven), and in a real run under xdist."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from echo_conformance._interrupt import Extent
from echo_conformance._junit import KNOWN_FAILURE, SHOULD_NOT_MET, regrade
from echo_conformance._verdict import SHOULD_REASON

from ._suite import FAULTY, run_suite


def _testcase(nodeid_name: str, case: str | None, impl: str, result: str) -> str:
    props = "" if case is None else (f'<properties><property name="case" value="{case}"/>'
                                     f'<property name="implementation" value="{impl}"/></properties>')
    return f'<testcase classname="conformance.test_x" name="{nodeid_name}" time="0.1">{props}{result}</testcase>'


def _xml(*testcases: str) -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" '
            f'errors="0" failures="0" skipped="0" tests="{len(testcases)}">{"".join(testcases)}</testsuite></testsuites>')


def _result(case: str, impl: str, outcome: str, reason: str | None = None, observed: str = "got 3 bytes\nmore") -> dict:
    return {"id": case, "implementation": impl, "outcome": outcome, "reason": reason, "level": "SHOULD",
            "requirement": "the requirement", "expected": "5 bytes", "observed": observed,
            "reproduce": f"echo-conformance --case {case}"}


XFAIL_SKIP = '<skipped type="pytest.xfail" message="reason"/>'

ROWS = [
    # (name, case, result element, result dict) -> (classname, name, verdict, skipped type, message start)
    ("test_a[impl]", "tcp.echo.binary", "", _result("tcp.echo.binary", "impl", "pass"),
     ("impl", "tcp.echo.binary", "pass", None, None)),
    ("test_b[impl]", "lifecycle.restart", XFAIL_SKIP, _result("lifecycle.restart", "impl", "xfail", SHOULD_REASON),
     ("impl", "lifecycle.restart", "xfail", SHOULD_NOT_MET,
      "SHOULD-level requirement not met (not fatal without --strict-should); observed: got 3 bytes")),
    ("test_c[impl]", "tcp.echo.no-banner", XFAIL_SKIP,
     _result("tcp.echo.no-banner", "impl", "xfail", "known failure: greets its clients"),
     ("impl", "tcp.echo.no-banner", "xfail", KNOWN_FAILURE, "known failure: greets its clients; observed: got 3")),
    ("test_d[impl]", "tcp.echo.large", '<failure message="m">text</failure>', _result("tcp.echo.large", "impl", "fail"),
     ("impl", "tcp.echo.large", "fail", None, None)),
    ("test_theirs", None, "", None, ("conformance.test_x", "test_theirs", None, None, None)),  # not a case
]


@pytest.mark.parametrize("name, case, element, result, want", ROWS, ids=[r[0] for r in ROWS])
def test_regrade_names_and_grades_each_case(name, case, element, result, want):
    text = regrade(_xml(_testcase(name, case, "impl", element)), [result] if result else [])
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    testcase = ET.fromstring(text).find(".//testcase")
    props = {p.get("name"): p.get("value") for p in testcase.iterfind("properties/property")}
    skipped = testcase.find("skipped")
    got = (testcase.get("classname"), testcase.get("name"), props.get("verdict"),
           None if skipped is None else skipped.get("type"), None if skipped is None else skipped.get("message"))
    classname, case_name, verdict, kind, message = want
    assert got[:4] == (classname, case_name, verdict, kind)
    if message:
        assert got[4].startswith(message), got[4]
        assert "expected: 5 bytes" in skipped.text and "reproduce: echo-conformance --case" in skipped.text
    if case is not None:
        assert props["case"] == case  # the case ID stays a property


def test_an_interrupted_run_is_marked_on_the_suite():
    text = regrade(_xml(), [], Extent(5, 24, "SIGTERM"))
    props = {p.get("name"): p.get("value") for p in ET.fromstring(text).iterfind(".//testsuite/properties/property")}
    assert props == {"interrupted": "interrupted: 5 of 24 cases ran (SIGTERM)"}
    assert "properties" not in regrade(_xml(), [], Extent(24, 24, None))


def test_a_real_run_under_xdist(tmp_path):
    known = tmp_path / "known.toml"
    known.write_text('[[known-failure]]\ncase = "tcp.echo.no-banner"\nimplementation = "banner"\n'
                     'reason = "greets its clients"\n')
    junit = tmp_path / "junit.xml"
    run = run_suite("--impl-file", str(FAULTY), "--impl", "banner", "--impl", "no-reuseaddr", "--case",
                    "tcp.echo.no-banner", "--case", "lifecycle.restart", "--known-failures", str(known), "-n", "2",
                    f"--junitxml={junit}", tmp=tmp_path, strict=False)
    assert run.status == 0, run.output
    cases = {(t.get("classname"), t.get("name")): t for t in ET.parse(junit).iter("testcase")}
    assert set(cases) == {("banner", "tcp.echo.no-banner"), ("banner", "lifecycle.restart"),
                          ("no-reuseaddr", "tcp.echo.no-banner"), ("no-reuseaddr", "lifecycle.restart")}
    kinds = {key: (t.find("skipped").get("type") if t.find("skipped") is not None else "passed")
             for key, t in cases.items()}
    assert kinds == {("banner", "tcp.echo.no-banner"): KNOWN_FAILURE, ("banner", "lifecycle.restart"): SHOULD_NOT_MET,
                     ("no-reuseaddr", "tcp.echo.no-banner"): "passed",
                     ("no-reuseaddr", "lifecycle.restart"): SHOULD_NOT_MET}
