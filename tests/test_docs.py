"""The documentation stays true and readable: its tables are generated from the code, CI runs the
README's commands, the README stays short, its lines and docs/'s stay narrow, and every relative
link leads to a file.  And ``python -m tests._docs``, which regenerates it, takes only its own
arguments and writes only the pages that change."""

from __future__ import annotations

import re

import pytest

from . import _docs
from ._docs import BENCH_RESULTS, DOCS, README, SECTIONS, Section, section
from ._suite import ROOT

TEXT = README.read_text(encoding="utf-8")
PAGES = [README, *sorted(DOCS.rglob("*.md"))]
#: the README a newcomer reads in five minutes; the rest lives in docs/
README_MAX_LINES = 220
#: the widest line of prose (table rows and code blocks may be wider)
WIDTH = 120
#: written by `echo-conformance bench --markdown` (its command and machine lines are as wide as they
#: are), and checked against results.json below
BENCH_OUTPUT = BENCH_RESULTS.parent / "results.md"
#: an inline link or image, ``[text](target)``, its text possibly wrapped over lines
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)[^)]*\)")
#: a reference link's definition, ``[label]: target``
LINK_DEFINITION = re.compile(r"^\[[^\]]+\]:\s*(\S+)", re.MULTILINE)


def _relative(page) -> str:
    return str(page.relative_to(ROOT))


def _outside_code_blocks(text: str) -> list[str]:
    """The page's lines with every fenced code block's lines (fences included) blanked."""
    lines, fenced = [], False
    for line in text.splitlines():
        fence = line.lstrip().startswith(("```", "~~~"))
        fenced = fenced != fence
        lines.append("" if fenced or fence else line)
    return lines


@pytest.mark.parametrize("name", SECTIONS)
def test_generated_section_is_current(name):
    page, make = SECTIONS[name]
    assert section(name, make()) in page.read_text(encoding="utf-8"), \
        f"{_relative(page)}'s {name} table is stale: run python -m tests._docs"


def test_the_readme_is_short():
    count = len(TEXT.splitlines())
    assert count <= README_MAX_LINES, f"README.md has {count} lines (at most {README_MAX_LINES}): move prose to docs/"


@pytest.mark.parametrize("page", [p for p in PAGES if p != BENCH_OUTPUT], ids=_relative)
def test_prose_lines_are_narrow(page):
    lines = _outside_code_blocks(page.read_text(encoding="utf-8"))
    wide = [f"{_relative(page)}:{number}: {len(line)} characters" for number, line in enumerate(lines, 1)
            if len(line) > WIDTH and not line.lstrip().startswith("|")]
    assert not wide, f"lines wider than {WIDTH} characters outside tables and code blocks: {wide}"


@pytest.mark.parametrize("page", PAGES, ids=_relative)
def test_relative_links_lead_to_files(page):
    text = "\n".join(_outside_code_blocks(page.read_text(encoding="utf-8")))
    targets = INLINE_LINK.findall(re.sub(r"`[^`\n]*`", "``", text)) + LINK_DEFINITION.findall(text)
    relative = {t.partition("#")[0] for t in targets if not t.startswith(("http://", "https://", "mailto:", "#"))}
    broken = sorted(t for t in relative if not (page.parent / t).exists())
    assert not broken, f"{_relative(page)} links to files that do not exist: {broken}"


def test_ci_runs_exactly_the_readme_commands():
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if "pytest" in line]
    readme = [line for line in TEXT.splitlines() if ".venv/bin/pytest" in line
              and line.startswith(("python3", "scripts/"))]
    assert ci == readme and len(ci) == 2


def test_bench_results_markdown_is_the_json():
    from echo_conformance.bench import _report

    doc = _report.read_json(BENCH_RESULTS)
    assert BENCH_OUTPUT.read_text(encoding="utf-8") == _report.markdown_document(doc), \
        "docs/bench/results.md is not docs/bench/results.json: run " \
        "bench --from-json docs/bench/results.json --markdown docs/bench/results.md"


def test_the_bench_command_shown_is_the_one_that_made_the_results():
    from echo_conformance.bench import _report

    page = DOCS / "bench" / "README.md"
    made_by = _report.read_json(BENCH_RESULTS)["command"].removeprefix("echo-conformance bench ")
    shown = [line for line in page.read_text(encoding="utf-8").splitlines()
             if "-m echo_conformance bench --connections" in line]
    assert shown and all(line.endswith(f"-m echo_conformance bench {made_by}") for line in shown), \
        f"{_relative(page)} shows {shown}, but results.json was made by `{made_by}`"


# --- python -m tests._docs ------------------------------------------------------------------------

@pytest.fixture
def calls(monkeypatch):
    """What ``_docs.main`` asked to draw and write (nothing is drawn or written)."""
    made = []
    monkeypatch.setattr(_docs, "write_demo_pictures", lambda names: made.append(("demo", list(names))))
    monkeypatch.setattr(_docs, "write_pages", lambda: made.append(("pages",)) or [])
    return made


@pytest.mark.parametrize("argv, drawn", [
    ([], None),
    (["--demo"], _docs.demo_servers()),
    (["--demo", "echo-thread"], ["echo-thread"]),
    (["--demo", "echo-fork", "tcp-relay"], ["echo-fork", "tcp-relay"]),
])
def test_docs_draws_only_the_pictures_asked_for(calls, capsys, argv, drawn):
    assert _docs.main(argv) == 0
    assert calls == ([] if drawn is None else [("demo", drawn)]) + [("pages",)]
    assert capsys.readouterr().out == "nothing changed\n"


@pytest.mark.parametrize("argv, status, says", [
    (["--help"], 0, "--demo [NAME ...]"),
    (["-h"], 0, "--demo [NAME ...]"),
    (["--demo", "nonesuch"], 2, "invalid choice: 'nonesuch'"),
    (["--demo", "echo-udp"], 2, "invalid choice: 'echo-udp'"),  # UDP: no demo to play
    (["--regenerate"], 2, "unrecognized arguments: --regenerate"),
    (["checks"], 2, "unrecognized arguments: checks"),
])
def test_docs_help_and_usage_errors_write_nothing(calls, capsys, argv, status, says):
    with pytest.raises(SystemExit) as ended:
        _docs.main(argv)
    out, err = capsys.readouterr()
    assert ended.value.code == status and says in out + err and "usage: python -m tests._docs" in out + err
    assert calls == []


def test_docs_writes_and_names_only_the_pages_that_change(tmp_path, monkeypatch, capsys):
    stale, current = tmp_path / "stale.md", tmp_path / "current.md"
    stale.write_text(f"# Stale\n{section('a', 'old')}\n", encoding="utf-8")
    current.write_text(f"# Current\n{section('b', 'same')}\n", encoding="utf-8")
    monkeypatch.setattr(_docs, "ROOT", tmp_path)
    monkeypatch.setattr(_docs, "README", tmp_path / "README.md")
    monkeypatch.setattr(_docs, "SECTIONS", {"a": Section(stale, lambda: "new"), "b": Section(current, lambda: "same")})
    untouched = current.stat().st_mtime_ns

    assert _docs.main([]) == 0
    assert capsys.readouterr().out == "wrote stale.md\n"
    assert stale.read_text(encoding="utf-8") == f"# Stale\n{section('a', 'new')}\n"
    assert current.stat().st_mtime_ns == untouched
    assert _docs.main([]) == 0
    assert capsys.readouterr().out == "nothing changed\n"
