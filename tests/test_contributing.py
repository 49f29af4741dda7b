"""CONTRIBUTING.md's recipes hold: each names the files it touches, they exist, and every check,
reference model and interop entry has what its recipe asks for."""

from __future__ import annotations

import ast
import fnmatch
import re
import sys
from pathlib import Path

import pytest

from echo_conformance._registry import bundled, load_manifest

from ._suite import ROOT

GUIDE = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
INSTALL = (ROOT / "scripts" / "install-test-deps.sh").read_text(encoding="utf-8")

#: recipe (a heading of CONTRIBUTING.md) -> every file it must name
RECIPES = {
    "Add a check": ["conformance/test_<family>.py", "echo_conformance.check", "echo_conformance/_bounds.py",
                    "tests/faulty/<defect>.py", "tests/faulty/manifest.toml", "tests/test_proof.py",
                    "interop/expected.toml", "docs/checks.md", "docs/faulty.md"],
    "Add a reference model": ["implementations/<module>.py", "implementations/manifest.toml", "README.md",
                              "docs/demo/<name>.svg"],
    "Add an interop entry": ["interop/manifest.toml", "interop/launchers/", "scripts/install-test-deps.sh",
                             "interop/expected.toml", "docs/interop.md"],
}
#: what a check module may import besides the standard library
CHECK_IMPORTS = {"echo_conformance.check", "hypothesis", "pytest", "psutil"}
#: commands an interop entry may need that every Debian system has
BASE_TOOLS = {"cat": "coreutils", "systemd-socket-activate": "systemd"}
RUNNABLE = sorted([*(ROOT / "implementations").glob("echo_*.py"), *(ROOT / "implementations").glob("tcp_relay*.py")])
INTEROP = load_manifest(ROOT / "interop" / "manifest.toml")


def _recipe(heading: str) -> str:
    found = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", GUIDE, re.MULTILINE | re.DOTALL)
    assert found, f"CONTRIBUTING.md has no recipe {heading!r}"
    return found.group(1)


@pytest.mark.parametrize("heading", RECIPES)
def test_each_recipe_names_every_file_it_touches(heading):
    text = _recipe(heading)
    missing = [path for path in RECIPES[heading] if f"`{path}" not in text]
    assert not missing, f"CONTRIBUTING.md's {heading!r} does not name {missing}"


def test_every_file_the_guide_names_exists():
    named = {m for m in re.findall(r"`([\w./-]+/[\w./-]*)`", GUIDE) if "<" not in m and not m.startswith(".venv")}
    missing = sorted(p for p in named if not (ROOT / p).exists() and not (ROOT / f"{p}.py").exists())
    assert not missing, f"CONTRIBUTING.md names files that do not exist: {missing}"


def test_the_readme_links_the_guide():
    assert "(CONTRIBUTING.md)" in README


# --- a check ------------------------------------------------------------------------------------

def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", sorted((ROOT / "conformance").glob("test_*.py")), ids=lambda p: p.name)
def test_a_check_imports_the_check_module_only(module):
    foreign = {name for name in _imports(module) if name != "__future__"
               and name.split(".")[0] not in sys.stdlib_module_names and name.split(".")[0] not in CHECK_IMPORTS
               and name not in CHECK_IMPORTS}
    ours = {name for name in _imports(module) if name.startswith("echo_conformance")} - {"echo_conformance.check"}
    assert not foreign | ours, f"{module.name} imports {sorted(foreign | ours)}: use echo_conformance.check"


# --- a reference model ----------------------------------------------------------------------------

@pytest.mark.parametrize("module", RUNNABLE, ids=lambda p: p.name)
def test_a_model_has_what_its_recipe_asks_for(module):
    text = module.read_text(encoding="utf-8")
    doc = ast.get_docstring(ast.parse(text)) or ""
    assert "RFC 862" in doc and doc.count("\n") >= 3, f"{module.name}: a docstring that explains the model"
    assert "if not __package__:" in text and "_as_file" in text, f"{module.name}: cannot run as a file"
    stdlib = {n.split(".")[0] for n in _imports(module)} <= set(sys.stdlib_module_names) | {"_as_file"}
    assert stdlib, f"{module.name} imports beyond the standard library: {sorted(_imports(module))}"
    starts = [impl.name for impl in bundled() if f"echo_conformance.implementations.{module.stem} " in impl.command]
    assert starts, f"{module.name}: no entry of implementations/manifest.toml runs it"


@pytest.mark.parametrize("impl", bundled(), ids=lambda i: i.name)
def test_a_model_has_a_row_in_the_readme(impl):
    assert re.search(rf"^\| [\d–-]+ \| `{re.escape(impl.name)}` \|", README, re.MULTILINE), \
        f"README.md's table of reference servers has no row for {impl.name}"
    if "tcp" in impl.transports:
        assert (ROOT / "docs" / "demo" / f"{impl.name}.svg").exists(), f"{impl.name}: no demo picture"


# --- an interop entry -------------------------------------------------------------------------------

def _installed_by_the_script(impl) -> bool:
    """The install script names the entry (or a pattern of entries, e.g. socat-*) where it
    installs what it needs, or it needs only the interop virtualenv and what Debian always has."""
    names = re.findall(r"[\w*.-]+", INSTALL)
    if any(fnmatch.fnmatchcase(impl.name, n) for n in names if n.strip("*")):
        return True
    return all(need.startswith(".venv/") or need in BASE_TOOLS for need in impl.extra["needs"])


@pytest.mark.parametrize("impl", INTEROP, ids=lambda i: i.name)
def test_an_interop_entry_has_what_its_recipe_asks_for(impl):
    for key in ("project", "docs", "needs"):
        assert impl.extra.get(key), f"{impl.name}: interop/manifest.toml gives no {key}"
    assert _installed_by_the_script(impl), (
        f"{impl.name}: scripts/install-test-deps.sh does not say where it installs {impl.extra['needs']}")
