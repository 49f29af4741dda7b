"""Reports for people and machines, and the known-failures list working both ways."""

from __future__ import annotations

import json

from ._suite import FAULTY, run_suite

BANNER = ["--impl-file", str(FAULTY), "--impl", "banner", "--case", "tcp.echo.no-banner"]


def _known(tmp_path, implementation, case="tcp.echo.no-banner"):
    path = tmp_path / "known.toml"
    path.write_text(f'[[known-failure]]\ncase = "{case}"\nimplementation = "{implementation}"\n'
                    f'reason = "greets its clients"\n')
    return str(path)


def test_report_is_valid_json_and_a_readable_page(tmp_path):
    run = run_suite(*BANNER, tmp=tmp_path)
    assert run.status == 1
    case = run.report["implementations"]["banner"]["cases"][0]
    assert case["id"] == "tcp.echo.no-banner" and case["outcome"] == "fail" and case["level"] == "MUST"
    assert "unsolicited" in case["observed"] and "nothing from the server" in case["expected"]
    assert "--impl banner" in case["reproduce"]
    for page in ("report.md", "report.html"):
        text = (tmp_path / "report" / page).read_text()
        assert "NOT conforming" in text and "tcp.echo.no-banner" in text and "unsolicited" in text
    json.dumps(run.report)  # round-trips


def test_report_works_with_xdist_and_junit_carries_case_ids(tmp_path):
    junit = tmp_path / "junit.xml"
    run = run_suite("--impl", "echo-thread", "--case", "tcp.echo", "-n", "2", f"--junitxml={junit}", tmp=tmp_path)
    assert run.status == 0, run.output
    cases = run.report["implementations"]["echo-thread"]["cases"]
    assert {c["id"] for c in cases} >= {"tcp.echo.binary", "tcp.echo.large"}
    assert all(c["outcome"] == "pass" for c in cases)
    assert 'name="case" value="tcp.echo.binary"' in junit.read_text()


def test_matrix_and_failure_list_in_the_terminal(tmp_path):
    run = run_suite(*BANNER, tmp=tmp_path)
    assert "echo-conformance matrix" in run.output
    assert "FAIL tcp.echo.no-banner (MUST) on banner" in run.output
    assert "1 case: 1 failed (MUST)" in run.output


def test_known_failure_is_reported_as_expected(tmp_path):
    run = run_suite(*BANNER, "--known-failures", _known(tmp_path, "banner"), tmp=tmp_path)
    assert run.status == 0, run.output
    case = run.report["implementations"]["banner"]["cases"][0]
    assert case["outcome"] == "xfail" and "greets its clients" in case["reason"]


def test_known_failure_that_passes_is_stale_and_fails_the_run(tmp_path):
    run = run_suite("--impl", "echo-thread", "--case", "tcp.echo.no-banner",
                    "--known-failures", _known(tmp_path, "echo-thread"), tmp=tmp_path)
    assert run.status == 1, run.output
    assert run.outcomes("echo-thread") == {"tcp.echo.no-banner": "stale"}
    assert "now passes: remove it from the list" in run.output


def test_known_failures_file_errors_are_usage_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[known-failure]]\ncase = "tcp.echo.binary"\n')
    run = run_suite("--known-failures", str(bad), tmp=tmp_path)
    assert run.status == 4 and "needs case and reason" in run.output and "Traceback" not in run.output


def test_timeout_scale_stretches_every_bound(tmp_path):
    run = run_suite(*BANNER, "--timeout-scale", "2", tmp=tmp_path)
    assert run.report["timeout_scale"] == 2.0
    assert "nothing from the server during the first 0.6 s" in run.report["implementations"]["banner"]["cases"][0]["expected"]


def test_should_level_failure_is_reported_but_not_fatal(tmp_path):
    args = ["--impl-file", str(FAULTY), "--impl", "no-reuseaddr", "--case", "lifecycle.restart"]
    run = run_suite(*args, tmp=tmp_path, strict=False)
    assert run.status == 0, run.output
    case = run.report["implementations"]["no-reuseaddr"]["cases"][0]
    assert case["level"] == "SHOULD" and case["outcome"] == "xfail"
    strict = run_suite(*args, tmp=tmp_path / "strict")
    assert strict.status == 1 and strict.outcomes("no-reuseaddr") == {"lifecycle.restart": "fail"}
