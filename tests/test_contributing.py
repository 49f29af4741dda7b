"""CONTRIBUTING.md's recipes hold: each names the files it touches, they exist, its table of which
module each case-ID prefix lives in is the code's, its fast loop names real servers and cases, and
every check, reference model and interop entry has what its recipe asks for."""

from __future__ import annotations

import ast
import fnmatch
import importlib
import pkgutil
import re
import sys
from pathlib import Path

import pytest

from echo_conformance._catalogue import load
from echo_conformance._registry import bundled, load_manifest

from ._suite import FAULTY, ROOT
from .test_interop import not_installed

GUIDE = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
INSTALL = (ROOT / "scripts" / "install-test-deps.sh").read_text(encoding="utf-8")

#: recipe (a heading of CONTRIBUTING.md) -> every file it must name
RECIPES = {
    "Add a check": ["conformance/test_<module>.py", "echo_conformance.check", "echo_conformance/_bounds.py",
                    "tests/faulty/<defect>.py", "tests/faulty/manifest.toml", "tests/test_proof.py",
                    "interop/expected.toml", "docs/checks.md", "docs/faulty.md"],
    "Add a reference model": ["implementations/<module>.py", "implementations/manifest.toml", "README.md",
                              "docs/demo/<name>.svg"],
    "Add an interop entry": ["interop/manifest.toml", "interop/launchers/", "scripts/install-test-deps.sh",
                             "interop/expected.toml", "docs/interop.md"],
}
#: what a check module may import besides the standard library
CHECK_IMPORTS = {"echo_conformance.check", "hypothesis", "pytest", "psutil"}
#: what the install script makes (git ignores it): a fresh clone has none of it
CORPUS = ("interop/build", "interop/.venv", "interop/node_modules")
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


#: every path the guide names (the root's .venv/, made by the README's command, aside)
NAMED = {m for m in re.findall(r"`([\w./-]+/[\w./-]*)`", GUIDE) if "<" not in m and not m.startswith(".venv")}


def test_every_file_the_guide_names_exists():
    named = {p for p in NAMED if not p.startswith(CORPUS)}
    missing = sorted(p for p in named if not (ROOT / p).exists() and not (ROOT / f"{p}.py").exists())
    assert not missing, f"CONTRIBUTING.md names files that do not exist: {missing}"


@pytest.mark.parametrize("path", sorted(p for p in NAMED if p.startswith(CORPUS)))
def test_the_corpus_paths_the_guide_names_are_made_by_the_install_script(path):
    assert re.search(rf"{re.escape(path.rstrip('/'))}\b", INSTALLS), \
        f"CONTRIBUTING.md names {path}, which scripts/install-test-deps.sh does not make"
    if not (ROOT / path).exists():
        not_installed(f"{path} does not exist: scripts/install-test-deps.sh (as root) makes it")


def test_the_readme_links_the_guide():
    assert "(CONTRIBUTING.md)" in README


# --- the fast loop, and where a case lives -------------------------------------------------------

#: a row of the guide's table of check modules: its ID prefixes, its module
MODULE_ROW = re.compile(r"^\| ((?:`[\w.-]+`(?:, )?)+) \| `conformance/(test_\w+\.py)` \|$", re.MULTILINE)


def _module_table() -> dict[str, str]:
    """The guide's ``{ID prefix: check module}``."""
    rows = MODULE_ROW.findall(_recipe("Which module a case lives in"))
    return {prefix: module for prefixes, module in rows for prefix in re.findall(r"`([\w.-]+)`", prefixes)}


def _case_modules() -> dict[str, str]:
    """``{case ID: the check module it is collected from}``, as pytest finds them: the ``test_*``
    names of each module (a twin is its own module's, wherever its check comes from)."""
    from echo_conformance import checks

    found = {}
    for info in pkgutil.iter_modules(checks.__path__):
        if info.name.startswith("test_"):
            module = importlib.import_module(f"{checks.__name__}.{info.name}")
            found |= {fn.conformance_case.id: f"{info.name}.py" for name, fn in vars(module).items()
                      if name.startswith("test_") and hasattr(fn, "conformance_case")}
    return found


def _prefixes(case_id: str) -> list[str]:
    """``a.b.c`` -> ``a``, ``a.b``, ``a.b.c``."""
    parts = case_id.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _prefix_of(case_id: str, prefixes) -> str | None:
    """The longest of ``prefixes`` that ``case_id`` starts with, up to a dot."""
    return max((p for p in _prefixes(case_id) if p in prefixes), key=len, default=None)


def test_the_guide_says_which_module_each_case_lives_in():
    table, modules = _module_table(), _case_modules()
    assert table, "CONTRIBUTING.md has no table of ID prefixes and check modules"
    assert set(modules) == set(load()), f"cases not collected from a check module: {set(load()) ^ set(modules)}"
    listed = {case_id: table.get(_prefix_of(case_id, table)) for case_id in modules}
    wrong = {case_id: (listed[case_id], module) for case_id, module in modules.items() if listed[case_id] != module}
    assert not wrong, f"CONTRIBUTING.md's table puts these cases in the wrong module (table, code): {wrong}"
    unused = sorted(set(table) - {_prefix_of(case_id, table) for case_id in modules})
    assert not unused, f"CONTRIBUTING.md's table has prefixes that start no case: {unused}"


#: (what a command of the guide names, the names that exist)
FAST_LOOP = [
    (r"--impl ([\w-]+)", lambda: {impl.name for impl in bundled()}),
    (r"--case ([\w.-]+)", lambda: {p for case_id in load() for p in _prefixes(case_id)}),
    (r"tests/test_proof\.py -k ([\w-]+)", lambda: {impl.name for impl in load_manifest(FAULTY)}),
]


@pytest.mark.parametrize("page", ["CONTRIBUTING.md", "docs/development.md"])
@pytest.mark.parametrize("command, names", FAST_LOOP, ids=["impl", "case", "proof"])
def test_the_fast_loop_names_what_exists(page, command, names):
    named = set(re.findall(command, (ROOT / page).read_text(encoding="utf-8")))
    assert named, f"{page} shows no command {command}"
    assert named <= names(), f"{page}'s commands name what does not exist: {sorted(named - names())}"


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

#: what an interop entry may need that every Debian system has
BASE_TOOLS = {"cat": "coreutils", "systemd-socket-activate": "systemd"}
#: the Debian package (a pattern) that installs a command or file an entry needs, where it is not
#: the package of the same name
PACKAGE_OF = {"tclsh": "tcl", "tcpserver": "ucspi-tcp", "java": "openjdk-*-jdk*", "node": "nodejs",
              "escript": "erlang-base",
              "/usr/lib/nginx/modules/ngx_stream_module.so": "libnginx-mod-stream"}
#: (a need under interop/, the script's command that installs it): regular expressions; {ext} is
#: the extension of the launcher's source a server is compiled from, interop/launchers/SOURCE.ext
MADE_BY = [
    (r"\.venv/bin/[\w.-]+", r"interop/\.venv/bin/pip install .*-r interop/requirements\.txt"),
    (r"node_modules/\.bin/[\w.-]+", r"\(cd interop && npm ci\b"),
    (r"build/openbsd-inetd/[\w/.-]+", r"dpkg-deb -x \S+ interop/build/openbsd-inetd\b"),
    (r"build/(?:java/)?(?P<source>\w+)(?:\.class)?", r"for src in interop/launchers/\*\.{ext}; do"),
]


def script_code(text: str) -> str:
    """A shell script's commands: comments dropped, quotes dropped, and each variable set to a
    plain word (``venv=interop/.venv``) replaced by its value where it is used."""
    values, lines = {}, []
    for line in text.splitlines():
        line = re.sub(r"(^|\s)#.*", "", line).replace('"', "").strip()
        for name, value in values.items():
            line = re.sub(rf"\$(?:\{{{name}\}}|{name}\b)", value, line)
        assigned = re.fullmatch(r"(\w+)=([^\s'$`()]+)", line)
        if assigned:
            values[assigned[1]] = assigned[2]
        lines.append(line)
    return "\n".join(lines)


def debian_packages(code: str) -> set[str]:
    """The packages the script's ``DEBIAN_PACKAGES=(...)`` and ``DEBIAN_PACKAGES+=(...)`` list."""
    return {word for body in re.findall(r"\bDEBIAN_PACKAGES\+?=\(([^)]*)\)", code) for word in body.split()}


def installs(code: str, need: str) -> bool:
    """Whether the script's commands ``code`` install ``need``, an entry's command or file (a path
    under interop/ when relative)."""
    if need in BASE_TOOLS:
        return True
    if "/" not in need or need.startswith("/"):
        package = PACKAGE_OF.get(need, need)
        return any(fnmatch.fnmatchcase(name, package) for name in debian_packages(code))
    for pattern, command in MADE_BY:
        found = re.fullmatch(pattern, need)
        if found and "source" in found.groupdict():
            sources = sorted((ROOT / "interop" / "launchers").glob(f"{found['source']}.*"))
            return any(re.search(command.format(ext=s.suffix[1:]), code) for s in sources)
        if found:
            return re.search(command, code) is not None
    return False


#: the install script's commands
INSTALLS = script_code(INSTALL)
#: (script text, a need, installed?): what the script runs installs, a name in a comment nothing
SCRIPTS = [
    ("DEBIAN_PACKAGES=(\n  haproxy\n  socat  # socat-* entries\n)", "socat", True),
    ("DEBIAN_PACKAGES=(\n  haproxy  # socat-* entries: socat\n)", "socat", False),
    ("# socat is installed by apt below\nDEBIAN_PACKAGES=(haproxy)", "socat", False),
    ("DEBIAN_PACKAGES=(tcl ucspi-tcp)", "tclsh", True),
    ("DEBIAN_PACKAGES=(openjdk-21-jdk-headless)", "java", True),
    ("command -v node >/dev/null || DEBIAN_PACKAGES+=(nodejs)", "node", True),
    ("# command -v node >/dev/null || DEBIAN_PACKAGES+=(nodejs)", "node", False),
    ("", "cat", True),
    ('venv=interop/.venv\n"$venv/bin/pip" install -q -r interop/requirements.txt', ".venv/bin/twist", True),
    ('# "interop/.venv/bin/pip" install -r interop/requirements.txt', ".venv/bin/python", False),
    ("(cd interop && npm ci --silent --no-audit)", "node_modules/.bin/tcpproxy", True),
    ("(cd interop)  # && npm ci", "node_modules/.bin/tcpproxy", False),
    ("for src in interop/launchers/*.c; do\n  gcc -o $bin $src\ndone", "build/libevent_echo", True),
    ("for src in interop/launchers/*.go; do\n  go build\ndone", "build/libevent_echo", False),
    ("for src in interop/launchers/*.java; do\n  javac\ndone", "build/java/JavaPoolEcho.class", True),
    ("for src in interop/launchers/*.c; do\n  gcc\ndone", "build/nonesuch", False),
    ('inetd=interop/build/openbsd-inetd\ndpkg-deb -x "$tmp"/openbsd-inetd_*.deb "$inetd"',
     "build/openbsd-inetd/usr/sbin/inetd", True),
    ("dpkg-deb -x x.deb /tmp/inetd  # into interop/build/openbsd-inetd", "build/openbsd-inetd/usr/sbin/inetd", False),
]


@pytest.mark.parametrize("text, need, expected", SCRIPTS,
                         ids=[f"{i}-{need}-{'yes' if ok else 'no'}" for i, (_, need, ok) in enumerate(SCRIPTS)])
def test_what_a_script_installs_is_read_from_its_commands(text, need, expected):
    assert installs(script_code(text), need) is expected


def test_an_entry_named_only_in_a_comment_is_not_installed():
    commented = INSTALL.replace("\n  socat ", "\n  # socat ")
    assert commented != INSTALL and "socat-* entries" in commented
    assert installs(INSTALLS, "socat") and not installs(script_code(commented), "socat")


@pytest.mark.parametrize("impl", INTEROP, ids=lambda i: i.name)
def test_an_interop_entry_has_what_its_recipe_asks_for(impl):
    for key in ("project", "docs", "needs"):
        assert impl.extra.get(key), f"{impl.name}: interop/manifest.toml gives no {key}"
    missing = [need for need in impl.extra["needs"] if not installs(INSTALLS, need)]
    assert not missing, f"{impl.name}: scripts/install-test-deps.sh does not install {missing}"
