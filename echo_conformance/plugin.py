"""The pytest plugin: options, parametrization over implementations, fixtures, verdicts.

Loaded by the repository's ``conftest.py``.  Reporting (the terminal matrix, JSON and
Markdown reports, known failures) lives in ``_report``.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import psutil
import pytest
from hypothesis import HealthCheck, Phase, settings

from . import _report
from ._bounds import Bounds
from ._cases import SHOULD, Case, Violation
from ._launch import Address, LaunchError, Server
from ._pool import Pool
from ._registry import (KINDS, MODELS, Implementation, ManifestError, bundled, load_manifest, make,
                        parse_target, parse_transports)

# Hypothesis: no per-example deadline (servers are timed by the suite's own bounds); the
# endpoint fixture is deliberately shared by all examples of one check.  Select the
# thorough profile with --hypothesis-profile=thorough.
settings.register_profile(
    "conformance", deadline=None, max_examples=25, print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large])
settings.register_profile("thorough", parent=settings.get_profile("conformance"), max_examples=400)
# A verdict only, fast: no shrinking, no example database (the project's own proof runs).
settings.register_profile("verdict", parent=settings.get_profile("conformance"), database=None,
                          phases=[Phase.explicit, Phase.generate])
settings.load_profile("conformance")

IMPLS = pytest.StashKey[list]()
BOUNDS = pytest.StashKey[Bounds]()
UPSTREAM_NAME = "echo-thread"  # the bundled echo server relays are tested in front of


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("echo-conformance", "echo-conformance: what to test and how")
    g.addoption("--impl-cmd", metavar="TEMPLATE",
                help="test only this implementation: a command template with {port} (and {host}, "
                     "{python}, {upstream_host}, {upstream_port} for relays)")
    g.addoption("--impl-name", default="external", metavar="NAME", help="its name (default: external)")
    g.addoption("--impl-model", default="concurrent", metavar="MODEL",
                help="serial|concurrent (default: concurrent)")
    g.addoption("--impl-kind", default="echo", metavar="KIND", help="echo|relay (default: echo)")
    g.addoption("--impl-transport", default="tcp", metavar="LIST", help="tcp|udp|tcp,udp (default: tcp)")
    g.addoption("--impl-ipv6", action="store_true", help="the implementation also serves on ::1")
    g.addoption("--impl-file", metavar="FILE.toml",
                help="test the implementations listed in this manifest (same format as implementations/manifest.toml)")
    g.addoption("--target", metavar="HOST:PORT",
                help="test an already running server; checks that start, stop or inspect the process are skipped")
    g.addoption("--impl", action="append", default=[], metavar="NAME",
                help="only the named implementation(s) of the manifest (repeatable)")
    g.addoption("--case", action="append", default=[], metavar="ID-PREFIX",
                help="only cases whose ID starts with this (repeatable), e.g. tcp.halfclose")
    g.addoption("--timeout-scale", type=float, default=1.0, metavar="FACTOR",
                help="stretch every time bound by FACTOR (see conformance/_bounds.py)")
    g.addoption("--strict-should", action="store_true", help="SHOULD-level failures fail the run too")
    _report.addoption(g)


def _implementations(config: pytest.Config) -> list[Implementation]:
    opt = config.option
    chosen = [name for name in ("impl_cmd", "impl_file", "target") if getattr(opt, name)]
    if len(chosen) > 1:
        raise ManifestError("use only one of --impl-cmd, --impl-file and --target")
    if opt.impl_model not in MODELS:
        raise ManifestError(f"--impl-model must be one of {', '.join(MODELS)}, not {opt.impl_model!r}")
    if opt.impl_kind not in KINDS:
        raise ManifestError(f"--impl-kind must be one of {', '.join(KINDS)}, not {opt.impl_kind!r}")
    if opt.impl_cmd:
        impls = [make(opt.impl_name, opt.impl_cmd, model=opt.impl_model, kind=opt.impl_kind,
                      transports=opt.impl_transport, ipv6=opt.impl_ipv6, cwd=Path.cwd(),
                      extra={"source": "cmd"})]
    elif opt.target:
        impls = [Implementation(name=opt.impl_name, command=None, model=opt.impl_model,
                                kind=opt.impl_kind, target=parse_target(opt.target),
                                transports=parse_transports(opt.impl_name, opt.impl_transport),
                                ipv6=":" in parse_target(opt.target)[0])]
    elif opt.impl_file:
        impls = load_manifest(Path(opt.impl_file))
    else:
        impls = bundled()
    if opt.impl:
        unknown = set(opt.impl) - {i.name for i in impls}
        if unknown:
            raise ManifestError(f"--impl: no implementation named {', '.join(sorted(unknown))} "
                                f"(known: {', '.join(i.name for i in impls)})")
        impls = [i for i in impls if i.name in opt.impl]
    return impls


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance_case(id): set by the suite on every check")
    if config.option.timeout_scale <= 0:
        raise pytest.UsageError("--timeout-scale must be positive")
    try:
        config.stash[IMPLS] = _implementations(config)
    except ManifestError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[BOUNDS] = Bounds(scale=config.option.timeout_scale)
    _raise_fd_limit()
    _report.configure(config)


def _raise_fd_limit() -> None:
    """The suite itself holds 1,100+ client sockets open in the scale checks."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    spec: Case | None = getattr(metafunc.function, "conformance_case", None)
    if spec is None or "impl" not in metafunc.fixturenames:
        return
    params = []
    for impl in metafunc.config.stash[IMPLS]:
        if spec.applies_to(impl) is not None:
            continue
        marks = [pytest.mark.conformance_case(spec.id)]
        if spec.needs_process and not impl.launched:
            marks.append(pytest.mark.skip(reason=f"{spec.id} starts, stops or inspects the server "
                                                 "process, which --target does not allow"))
        params.append(pytest.param(impl, id=impl.name, marks=marks))
    if not params:  # deselected in pytest_collection_modifyitems
        params = [pytest.param(None, id="not-applicable")]
    metafunc.parametrize("impl", params, scope="function")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect cases that apply to none of the implementations under test, and cases that
    --case does not select."""
    prefixes = config.option.case
    keep, drop = [], []
    for item in items:
        spec = _case_of(item)
        selected = spec is None or not prefixes or any(spec.id.startswith(p) for p in prefixes)
        applicable = spec is None or _impl_of(item) is not None
        (keep if selected and applicable else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _case_of(item: pytest.Item) -> Case | None:
    return getattr(getattr(item, "function", None), "conformance_case", None)


def _impl_of(item: pytest.Item) -> Implementation | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("impl") if callspec else None


def reproduce_command(item: pytest.Item) -> str:
    impl = _impl_of(item)
    opts = f" {impl.reproduce_options()}" if impl else ""
    return f"pytest {shlex.quote(item.nodeid)}{opts}"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    spec, impl = _case_of(item), _impl_of(item)
    if spec is None:
        return
    item.user_properties += [("case", spec.id), ("level", spec.level), ("requirement", spec.requirement),
                             ("implementation", impl.name if impl else ""),
                             ("reproduce", reproduce_command(item))]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    spec = _case_of(item)
    if spec is None:
        return
    item.stash.setdefault(_FAILED, False)
    if report.failed:
        item.stash[_FAILED] = True
    exc = call.excinfo.value if call.excinfo else None
    if report.failed and report.when == "call" and isinstance(exc, (OSError, psutil.NoSuchProcess)):
        # A socket error the check did not expect (say, a refused connection because the
        # server died), or a server process gone while a check inspects it, is the server's
        # failure to meet the case, reported as such.
        exc = Violation(spec.requirement, _describe_os_error(exc))
    if report.failed and isinstance(exc, (Violation, LaunchError)):
        impl = _impl_of(item)
        lines = [f"{spec.id} ({spec.level}) failed for {impl.name if impl else '?'}",
                 f"requirement: {spec.requirement}"]
        if isinstance(exc, Violation):
            lines += [f"expected: {exc.expected}", f"observed: {exc.observed}"]
            report.user_properties += [("expected", exc.expected), ("observed", exc.observed)]
        else:  # the implementation did not start as the contract says: its failure, not ours
            lines.append(f"could not run the check: {exc}")
            report.user_properties += [("observed", str(exc)), ("launch_failed", "true")]
        lines += list(getattr(exc, "__notes__", []))
        server = item.stash.get(_SERVER, None)
        if server is not None and not server.alive() and report.when == "call":
            lines.append(f"note: the server process exited (status {server.exit_code}) during the check; "
                         f"its output (last lines):\n{server.output_tail()}")
        lines.append(f"reproduce: {reproduce_command(item)}")
        report.longrepr = "\n".join(lines)
    if report.failed and spec.level == SHOULD and not item.config.option.strict_should:
        report.outcome = "skipped"
        report.wasxfail = "SHOULD-level case failed (not fatal without --strict-should)"
    _report.apply_known_failures(item, spec, _impl_of(item), report)


_FAILED = pytest.StashKey[bool]()
_SERVER = pytest.StashKey[Server]()  # the shared server a check talks to, for failure notes


def _describe_os_error(exc: Exception) -> str:
    if isinstance(exc, psutil.NoSuchProcess):
        return f"the server process exited while the check inspected it ({exc})"
    what = {ConnectionRefusedError: "a connection was refused", ConnectionResetError: "a connection was reset",
            BrokenPipeError: "a connection was closed while the client was sending",
            TimeoutError: "a socket operation timed out"}.get(type(exc), "a socket operation failed")
    return f"{what} ({type(exc).__name__}: {exc})"


# --- fixtures ----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def bounds(pytestconfig: pytest.Config) -> Bounds:
    """Every time bound of the suite, already scaled by --timeout-scale."""
    return pytestconfig.stash[BOUNDS]


@pytest.fixture(scope="session")
def _pool(bounds: Bounds):
    try:
        upstream = next(i for i in bundled() if i.name == UPSTREAM_NAME)
    except (ManifestError, StopIteration):  # pragma: no cover - the bundled manifest is ours
        upstream = None
    pool = Pool(bounds, upstream)
    yield pool
    pool.close()


def _host(spec: Case) -> str:
    return "::1" if spec.family == "ipv6" else "127.0.0.1"


@pytest.fixture
def endpoint(request: pytest.FixtureRequest, impl: Implementation, _pool: Pool) -> Address:
    """The address of a server of ``impl`` to run this check against."""
    spec: Case = request.function.conformance_case
    if impl.target is not None:
        yield Address(*impl.target)
        return
    server = (_pool.fresh if spec.fresh_server else _pool.shared)(impl, _host(spec), spec.transport)
    request.node.stash[_SERVER] = server
    yield server.address
    if spec.fresh_server:
        _pool.release(server)
        return
    if request.node.stash.get(_FAILED, False):
        _pool.discard(impl)
    elif not server.alive():
        _pool.discard(impl)
        pytest.fail(server.describe_failure(f"exited with status {server.exit_code} during this check"),
                    pytrace=False)


@pytest.fixture
def launch(request: pytest.FixtureRequest, impl: Implementation, _pool: Pool):
    """Start a server of ``impl`` owned by this check: ``launch(host=..., port=...)``."""
    spec: Case = request.function.conformance_case
    started: list[Server] = []

    def start(host: str | None = None, upstream: Address | None = None, port: int | None = None) -> Server:
        server = _pool.fresh(impl, host or _host(spec), spec.transport, upstream, port)
        started.append(server)
        return server

    yield start
    for server in started:
        _pool.release(server)
