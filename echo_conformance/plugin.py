"""The pytest plugin: options, parametrization over implementations, fixtures, verdicts.

Loaded by the repository's ``conftest.py``.  The verdict policy (OSError mapping, SHOULD
downgrade, known and stale failures) is ``_verdict.decide``, a pure function the
``pytest_runtest_makereport`` hook feeds; reporting (the terminal matrix, JSON, Markdown and
HTML reports, reading the known-failures file) lives in ``_report``.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Callable

import psutil
import pytest

from . import _hypothesis  # noqa: F401  (registers the suite's profiles before --hypothesis-profile is read)
from . import (_budget, _evidence, _example, _interrupt, _junit, _preflight, _report, _verdict, _wire, _writable,
               checks)
from ._bounds import Bounds
from ._cases import Case, Violation
from ._command import INTERRUPTED, UNTESTABLE
from ._expect import check_budget_fixture  # noqa: F401  (the check_budget fixture, for every check)
from ._address import Address
from ._launch import LaunchError, Server
from ._options import CHECKS, PLUGIN_OPTIONS, PROG, SUITE_INI, UsageError, check_prefixes, reproduce_argv, selected
from ._pool import Pool
from ._upstream import ECHO, FakeUpstream
from ._registry import SOURCES, Implementation, ManifestError, from_options

IMPLS = pytest.StashKey[list]()
BOUNDS = pytest.StashKey[Bounds]()


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("echo-conformance", "echo-conformance: what to test and how")
    for option in PLUGIN_OPTIONS:  # _options' table, shared with the echo-conformance command
        g.addoption(option.pytest_name, **option.argparse_kwargs())


def _implementations(config: pytest.Config) -> list[Implementation]:
    return from_options(vars(config.option))


def _check_case_prefixes(config: pytest.Config) -> None:
    """A --case or --skip-case that starts no case ID is a typo: say so rather than run nothing."""
    from ._catalogue import load

    if config.option.case or config.option.skip_case:
        try:
            check_prefixes(load(), config.option.case, config.option.skip_case)
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None




def _check_output_paths(config: pytest.Config) -> None:
    """A report that could not be written is a usage error now, not an internal error at the end."""
    if hasattr(config, "workerinput"):
        return
    try:
        if config.option.conformance_report:
            _writable.check_directory(config.option.conformance_report, "--conformance-report")
        if getattr(config.option, "xmlpath", None):
            _writable.check_file(_writable.junit_path(config.option.xmlpath), "--junitxml")
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """The checks' folder is collected as a plain folder: pytest would import its
    ``__init__.py`` as a package of its own (``conformance``) in a checkout."""
    if path.resolve() == CHECKS:
        return pytest.Dir.from_parent(parent, path=path)
    return None


class CheckModule(pytest.Module):
    """A check module, imported under its one name in the package
    (``echo_conformance.checks.test_...``) wherever its file lies.  pytest would import
    ``conformance/test_tcp_echo.py`` of a checkout as ``conformance.test_tcp_echo``: a second
    copy whose relative imports fail and whose cases would register twice."""

    def _getobj(self):
        return importlib.import_module(f"{checks.__name__}.{self.path.stem}")


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    if module_path.resolve().parent == CHECKS:
        return CheckModule.from_parent(parent, path=module_path)
    return None


def _add_the_checks(config: pytest.Config) -> None:
    """``pytest -p echo_conformance --impl-cmd ...`` from another project: an implementation
    named on the command line brings the packaged checks into the run, unless the run's
    arguments already include them."""
    if all(getattr(config.option, s.lstrip("-").replace("-", "_")) is None for s in SOURCES):
        return
    for arg in config.args:
        if config.option.pyargs and arg.split("::")[0].startswith("echo_conformance"):
            return
        path = Path(config.invocation_params.dir, arg.split("::")[0]).resolve()
        if path == CHECKS or CHECKS in path.parents:
            return
    config.args.append(str(CHECKS))


def _runs_only_the_checks(config: pytest.Config) -> bool:
    """The run's arguments all name the packaged checks (the checkout's testpaths, the
    echo-conformance command), so the run is the suite's alone."""
    paths = [Path(config.invocation_params.dir, arg.split("::")[0]).resolve() for arg in config.args]
    return bool(paths) and all(path == CHECKS or CHECKS in path.parents for path in paths)


@pytest.hookimpl(tryfirst=True)  # before xdist's own (one per core): the first answer is taken
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` for a run of the checks: two workers per core, since a check spends much of
    its time in bounded waits that need no CPU (four per core made a correct server's heavy
    case run out of its budget; docs/checks.md has the measurements).  Another project's own
    run, with this plugin loaded, keeps xdist's default."""
    if not _runs_only_the_checks(config):
        return None
    return 2 * (os.cpu_count() or 1)


#: pytest's options that make a run show something (help, fixtures, the collected tests) or plan
#: rather than run the tests: no preflight for those
_NOT_RUNNING = ("help", "version", "markers", "showfixtures", "show_fixtures_per_test", "cacheshow", "collectonly",
                "setuponly", "setupplan", "looponfail")


def pytest_cmdline_main(config: pytest.Config) -> int | None:
    """The preflight (``_preflight``), on the controller before anything else runs (no worker
    started yet, no header printed): a server that cannot be tested is reported once, in a
    block of its own, and the run ends there with exit status 6.  A run that does not run the
    checks, or runs them with --no-preflight, goes on as it was; bad options are left for
    ``pytest_configure`` to report as usage errors."""
    if hasattr(config, "workerinput") or config.option.no_preflight or not _runs_the_checks(config):
        return None
    if any(getattr(config.option, name, False) for name in _NOT_RUNNING) or not config.option.timeout_scale > 0:
        return None
    try:
        impls = _implementations(config)
    except ManifestError:
        return None
    _check_output_paths(config)  # a report that cannot be written is a usage error before any server starts
    _interrupt.install(config)  # SIGTERM stops the preflight as Ctrl-C does
    try:
        troubles = _preflight.check(impls, Bounds().scaled(config.option.timeout_scale),
                                    config.option.case, config.option.skip_case)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return INTERRUPTED
    if not troubles:
        return None
    print(_preflight.report(troubles, PROG, UNTESTABLE), file=sys.stderr)
    return UNTESTABLE


def _runs_the_checks(config: pytest.Config) -> bool:
    """The run's arguments include the packaged checks, or an implementation named on the command
    line brings them in (``_add_the_checks``)."""
    if any(getattr(config.option, s.lstrip("-").replace("-", "_")) is not None for s in SOURCES):
        return True
    for arg in config.args:
        if config.option.pyargs and arg.startswith("echo_conformance"):
            return True
        path = Path(config.invocation_params.dir, arg.split("::")[0]).resolve()
        if path == CHECKS or CHECKS in path.parents or path in CHECKS.parents:
            return True
    return False


@pytest.hookimpl(trylast=True)  # after Hypothesis' own: --hypothesis-profile is loaded before
def pytest_configure(config: pytest.Config) -> None:  # the checks are imported (by --case's check)
    config.addinivalue_line("markers", "conformance_case(id): set by the suite on every check")
    if config.option.timeout_scale <= 0:
        raise pytest.UsageError("--timeout-scale must be positive")
    try:
        config.stash[IMPLS] = _implementations(config)
    except ManifestError as exc:
        raise pytest.UsageError(str(exc)) from None
    _check_case_prefixes(config)
    _check_output_paths(config)
    _add_the_checks(config)
    config.stash[BOUNDS] = Bounds().scaled(config.option.timeout_scale)
    _raise_fd_limit()
    config.pluginmanager.register(_CaseBudgets(), "echo-conformance-budgets")
    _interrupt.install(config)
    _report.configure(config)


def _raise_fd_limit() -> None:
    """The suite itself holds a client socket per connection of the scale check open
    (``DEFAULT_CONNECTIONS``, or the thousands a server declares)."""
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
    """Deselect cases that apply to none of the implementations under test, cases that
    --case does not select and cases that --skip-case leaves out; put the longest first."""
    keep, drop = [], []
    for item in items:
        spec = _case_of(item)
        chosen = spec is None or selected(spec.id, config.option.case, config.option.skip_case)
        applicable = spec is None or _impl_of(item) is not None
        (keep if chosen and applicable else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
    # xdist hands out tests in this order: longest first keeps the workers' loads even -- the
    # heavy cases (seconds of work on a correct server), then by budget (what a failing one takes).
    bounds = config.stash[BOUNDS]
    items[:] = sorted(keep, key=lambda item: (not getattr(_case_of(item), "heavy", False), -_budget_of(item, bounds)))


def _budget_of(item: pytest.Item, bounds: Bounds) -> float:
    """The time budget of ``item``'s case (0 for a test that is not a case)."""
    spec, impl = _case_of(item), _impl_of(item)
    if spec is None or impl is None:
        return 0.0
    return spec.budget_for(bounds, impl.held_connections)


def _case_of(item: pytest.Item) -> Case | None:
    return getattr(getattr(item, "function", None), "conformance_case", None)


def _impl_of(item: pytest.Item) -> Implementation | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("impl") if callspec else None


def reproduce_command(item: pytest.Item) -> str:
    """The command that runs this case again, for this implementation, as it was run: with
    ``echo-conformance`` or ``pytest`` (with ``-p echo_conformance`` if it was loaded so)."""
    impl, config, spec = _impl_of(item), item.config, _case_of(item)
    by_command = spec is not None and config.inipath == SUITE_INI  # run by the echo-conformance command
    opts = [*(impl.reproduce_argv() if impl else []), *reproduce_argv(vars(config.option), not by_command)]
    if by_command:
        return shlex.join([PROG, "--case", spec.id, *opts])
    location = item.nodeid
    if not Path(item.path).resolve().is_relative_to(config.rootpath.resolve()):  # the installed checks
        location = f"{item.path}::{item.nodeid.partition('::')[2]}"
    return shlex.join(["pytest", *_plugin_option(config), location, *opts])


def _plugin_option(config: pytest.Config) -> list[str]:
    """``-p echo_conformance`` if the run loaded the plugin so (not through a conftest.py)."""
    args = [str(a) for a in config.invocation_params.args]
    for i, arg in enumerate(args):
        value = args[i + 1] if arg == "-p" and i + 1 < len(args) else arg[2:] if arg.startswith("-p") else ""
        if value.lstrip("=") in ("echo_conformance", "echo_conformance.plugin"):
            return ["-p", value.lstrip("=")]
    return []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    spec, impl = _case_of(item), _impl_of(item)
    if spec is None:
        return
    item.user_properties += [("case", spec.id), ("level", spec.level), ("requirement", spec.requirement),
                             ("implementation", impl.name if impl else ""),
                             ("reproduce", reproduce_command(item))]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """A case's trace of what happened on the wire (``_wire``), and its evidence
    (``_evidence``), start with its call."""
    if _case_of(item) is not None:
        _wire.start()
        _evidence.start()
        server = item.stash.get(_SERVER, None)
        if server is not None:
            item.stash[_OUTPUT_MARK] = server.output_mark()


class _CaseBudgets:
    """Each case's call runs under its time budget (``_budget``; how much: ``Case.budget_for``).
    When a wait was cut short by it, the case fails: with its own failure and the budget's
    note, or -- if it passed anyway, a quiet window cut short proves nothing -- with the
    budget's own verdict."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item):
        spec, impl = _case_of(item), _impl_of(item)
        if spec is None or impl is None:
            return (yield)
        seconds = _budget_of(item, item.config.stash[BOUNDS])
        with _budget.running(seconds, spec.id) as budget:
            try:
                result = yield
            except Exception as exc:  # pytest's own outcomes (skip, fail) are BaseExceptions
                if budget.ran_out:
                    _add_budget_note(exc, budget)
                raise
        if budget.ran_out:
            raise Violation(expected=f"the case completes within its time budget of {seconds:g} s",
                            observed=f"a wait ({budget.where}) was cut short when the budget ran out: what the "
                                     "case saw until then proves nothing")
        return result


def _add_budget_note(exc: Exception, budget: _budget.Budget) -> None:
    note = budget.note()
    if isinstance(exc, Violation):
        if note not in exc.observed:
            exc.observed = f"{exc.observed} {note}"
    elif note not in str(exc):
        notes = getattr(exc, "__notes__", None)
        if notes is None:
            notes = exc.__notes__ = []
        notes.append(note)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Turn what happened into the case's verdict (the policy is ``_verdict.decide``)."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    spec = _case_of(item)
    if spec is None:
        return
    item.stash.setdefault(_FAILED, False)
    if report.failed:
        item.stash[_FAILED] = True
    impl = _impl_of(item)
    server = item.stash.get(_SERVER, None)
    crashed = _crashed(item, server) if report.failed else []
    died = bool(crashed)
    error = _error_of(call.excinfo.value) if report.failed and call.excinfo else None
    verdict = _verdict.decide(_verdict.PhaseFacts(
        case=spec.id, level=spec.level, requirement=spec.requirement,
        implementation=impl.name if impl else None, reproduce=reproduce_command(item),
        when=report.when, result=report.outcome,
        error=error,
        strict_should=item.config.option.strict_should,
        known=_verdict.known_reason(_report.known_failures(item.config), impl.name if impl else None, spec.id),
        known_source=item.config.option.known_failures or "the known-failures file",
        server_died=died, server_exit=crashed[0].exit_code if died else None,
        server_output=_raw_tail(crashed[0].output_tail()) if died else ""))
    report.outcome = verdict.result
    if verdict.xfail_reason is not None:
        report.wasxfail = verdict.xfail_reason
    if verdict.lines:
        report.longrepr = verdict.message
    report.user_properties += list(verdict.properties)
    _mark_failed_lanes(error)
    _trace_into_report(report, verdict.outcome)
    _attach_evidence(item, report, verdict.outcome, server, crashed, error)


def _crashed(item: pytest.Item, server: Server | None) -> list[Server]:
    """The servers of the case that exited on their own (the suite sent them no SIGTERM):
    the one it talks to first, then those the check started itself."""
    confirm = item.config.stash[BOUNDS].confirm
    servers = [server] if server is not None else []
    servers += [s for s in item.stash.get(_LAUNCHED, []) if s is not server]
    return [s for s in servers if not s.terminated and s.dead(within=confirm)]


def _attach_evidence(item: pytest.Item, report: pytest.TestReport, outcome: str, server, crashed: list[Server],
                     error: _verdict.Error | None) -> None:
    """A failing case's evidence (``_evidence``), with the process's fate: whether the server
    exited, and what it printed meanwhile; and a socket error the check did not expect.  After
    the teardown the case's evidence is over."""
    evidence = _evidence.current()
    try:
        if evidence is not None and outcome in _verdict.DETAILED and report.when in ("call", "teardown"):
            facts = evidence.snapshot()
            if error is not None and error.kind == _verdict.OS_ERROR:
                facts.append({"fact": "socket-error", "error": error.type_name, "step": error.step or ""})
            launched = [s for s in item.stash.get(_LAUNCHED, []) if s is not server]
            for s in crashed:
                facts.append({"fact": _evidence.EXITED, "status": s.exit_code, "output": _raw_tail(s.output_tail(12))})
            printed = [s.output_after(item.stash.get(_OUTPUT_MARK, 0) if s is server else 0)
                       for s in [server, *launched] if s is not None and s not in crashed]
            printed = "\n".join(p for p in printed if p)
            if printed:
                facts.append({"fact": _evidence.OUTPUT, "output": printed})
            report.user_properties.append((_evidence.PROPERTY, json.dumps(facts, separators=(",", ":"))))
    finally:
        if report.when == "teardown":
            _evidence.stop()


def _mark_failed_lanes(error: _verdict.Error | None) -> None:
    """A case that failed with a violation failed on the connection(s) of its last wait that
    went wrong (``_wire``'s suspects): its timeline marks them."""
    if error is not None and error.kind == _verdict.VIOLATION:
        _wire.case_failed()


def _trace_into_report(report: pytest.TestReport, outcome: str) -> None:
    """A failure's timeline goes into its report (observed, never judged: ``_report.annotate``);
    the case's trace ends with its teardown."""
    _report.annotate(report, outcome, _wire.current())
    if report.when == "teardown":
        _wire.stop()


_FAILED = pytest.StashKey[bool]()
_SERVER = pytest.StashKey[Server]()  # the shared server a check talks to, for failure notes
_OUTPUT_MARK = pytest.StashKey[int]()  # how much that server had printed when the case began
_LAUNCHED = pytest.StashKey[list]()  # the servers the check started itself (``launch``)


def _error_of(exc: BaseException) -> _verdict.Error:
    """What a check raised, as the verdict policy sees it: the failure itself, with the failing
    example as data and only the notes worth showing (``_example``)."""
    failure = _failure_in(exc)
    notes = [str(n) for e in dict.fromkeys((exc, failure)) for n in getattr(e, "__notes__", ())]
    example, notes = _example.split_notes(notes)
    named = getattr(failure, _example.ATTRIBUTE, None)
    if named is not None:
        example = _example.describe(named)
    if failure is not exc:
        notes.append(FLAKY_NOTE)
    step = getattr(failure, "conformance_step", None)
    common = dict(message=str(failure), type_name=type(failure).__name__,
                  step=step if isinstance(step, str) else None, notes=tuple(notes), example=example)
    if isinstance(failure, Violation):
        return _verdict.Error(_verdict.VIOLATION, expected=failure.expected, observed=failure.observed,
                              launch_failed=getattr(failure, "launch_failed", False), **common)
    if isinstance(failure, LaunchError):
        return _verdict.Error(_verdict.LAUNCH, **common)
    if isinstance(failure, psutil.NoSuchProcess):
        return _verdict.Error(_verdict.PROCESS_GONE, **common)
    if isinstance(failure, OSError):
        return _verdict.Error(_verdict.OS_ERROR, errno=failure.errno, **common)
    return _verdict.Error(_verdict.OTHER, **common)


FLAKY_NOTE = ("(the failure did not repeat the same way when the example was run again: what the server does "
              "varies from run to run)")
_SERVER_FAILURES = (Violation, LaunchError, psutil.NoSuchProcess, OSError)


def _failure_in(exc: BaseException) -> BaseException:
    """The server's failure inside Hypothesis' complaint that a failure was flaky: a server whose
    failure depends on timing (it echoes one read, then closes) fails differently when Hypothesis
    runs an example again, and Hypothesis raises ``Flaky`` (a group of the failures, or an error
    whose context is the failure).  Any other exception is its own failure."""
    from hypothesis.errors import Flaky

    if not isinstance(exc, Flaky):
        return exc
    queue, seen = [exc], set()
    while queue:
        e = queue.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, _SERVER_FAILURES):
            return e
        queue += [*getattr(e, "exceptions", ()), *(c for c in (e.__cause__, e.__context__) if c is not None)]
    return exc


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """On the controller (or a run without xdist), gather the results and write the reports;
    the report writer is given what it reports on (pytest_configure has set it up by now)."""
    config = session.config
    if hasattr(config, "workerinput") or IMPLS not in config.stash:
        return
    progress = _interrupt.Progress(_case_nodeids(config), session)
    config.pluginmanager.register(progress, "echo-conformance-progress")
    collector = _report.Collector(config.stash[IMPLS], timeout_scale=config.stash[BOUNDS].scale,
                                  directory=config.option.conformance_report, cases=lambda: _selected_cases(config),
                                  progress=progress)
    config.pluginmanager.register(collector, "echo-conformance-report")
    collector.begin()
    if getattr(config.option, "xmlpath", None):
        config.pluginmanager.register(_junit.Regrader(_writable.junit_path(config.option.xmlpath), collector),
                                      "echo-conformance-junit")


def _case_nodeids(config: pytest.Config):
    """``is_case(nodeid)``: the node ID is one of the checks' (what xdist's controller knows of a test)."""
    @functools.lru_cache(maxsize=None)
    def in_checks(path: str) -> bool:
        return Path(config.rootpath, path).resolve().parent == CHECKS

    return lambda nodeid: in_checks(nodeid.split("::")[0])


def _selected_cases(config: pytest.Config) -> list[Case]:
    """The cases --case and --skip-case select (whether or not they apply)."""
    from ._catalogue import load

    return [spec for spec in load().values() if selected(spec.id, config.option.case, config.option.skip_case)]


def _raw_tail(tail: str) -> str:
    """A server's output tail without ``Server.output_tail``'s indentation."""
    return "\n".join(line[6:] if line.startswith("    | ") else line.strip() for line in tail.splitlines())


# --- fixtures ----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def bounds(pytestconfig: pytest.Config) -> Bounds:
    """Every time bound of the suite, already scaled by --timeout-scale."""
    return pytestconfig.stash[BOUNDS]


@pytest.fixture(scope="session")
def _pool(bounds: Bounds):
    pool = Pool(bounds)
    yield pool
    pool.close()


def _host(spec: Case) -> str:
    return "::1" if spec.ip == "ipv6" else "127.0.0.1"


def _start(spec: Case, start: Callable[[], Server]) -> Server:
    """``start()``; for an IPv6 case, a server that does not come up on ::1 breaks what it
    declares (IPv6): a violation, as a server that refused ::1 clients would be."""
    try:
        return start()
    except LaunchError as exc:
        if spec.ip != "ipv6":
            raise
        violation = Violation(expected="the server to listen on ::1, since it declares IPv6",
                              observed=f"started with --host ::1, it did not come up: {exc}")
        violation.launch_failed = True  # type: ignore[attr-defined]  # what the diagnosis reads
        raise violation from None


@pytest.fixture
def endpoint(request: pytest.FixtureRequest, impl: Implementation, _pool: Pool, bounds: Bounds) -> Address:
    """The address of a server of ``impl`` to run this check against.  A relay under a case
    that declares ``delayed_upstream`` is a fresh one, in front of an upstream that echoes
    ``bounds.upstream_delay`` late (see ``_cases.Case``)."""
    spec: Case = request.function.conformance_case
    if impl.target is not None:
        yield Address(*impl.target)
        return
    delayed = spec.delayed_upstream and impl.kind == "relay"
    fake = FakeUpstream(ECHO, delay=bounds.upstream_delay, high_water=8 << 20).__enter__() if delayed else None
    try:
        if spec.fresh_server or delayed:
            server = _start(spec, lambda: _pool.fresh(impl, _host(spec), spec.transport,
                                                      upstream=fake.address if fake else None))
        else:
            server = _start(spec, lambda: _pool.shared(impl, _host(spec), spec.transport))
        request.node.stash[_SERVER] = server
        yield server.address
        if spec.fresh_server or delayed:
            _pool.release(server)
            return
    finally:
        if fake is not None:
            fake.close()
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
        server = _start(spec, lambda: _pool.fresh(impl, host or _host(spec), spec.transport, upstream, port))
        started.append(server)
        return server

    request.node.stash[_LAUNCHED] = started

    yield start
    for server in started:
        _pool.release(server)
