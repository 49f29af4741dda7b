"""``echo-conformance demo``: the classic two-client scene, played against any server.

Client 1 connects, is echoed, and stays connected.  Client 2 connects and sends while
client 1 holds the server, and waits (up to ``--hold`` seconds) for its echo.  Then client 1
leaves, and client 2 waits for its echo once more.  A serial server answers client 2 only
once client 1 has left; a concurrent one answers it at once.  The scene's timeline is
printed as it happens (from the trace the client helpers record, ``_wire``), and one
sentence ends it, saying what the server did; ``--svg FILE`` draws the timeline.

A relay is played in front of the suite's fake upstream (an echo server in this process),
whose side of each connection is part of the timeline.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import _timeline, _wire
from ._address import Address
from ._bounds import Bounds
from ._client import connect, exchange
from ._command import FAILED, OK, Parser, UsageError, add_command_template, positive, run_command
from ._outcomes import COMPLETE, STALLED
from ._registry import Implementation, ManifestError, from_options

PROG = "echo-conformance demo"
#: What each client sends (12 bytes each).
FIRST, SECOND = b"hello from 1", b"hello from 2"
#: How long client 2 waits for its echo while client 1 holds the server.
HOLD = 2.0

SERIAL, CONCURRENT, NEITHER = "serial", "concurrent", "neither"

DESCRIPTION = f"""\
NAME
    {PROG} - the classic scene: does a second client wait while the first holds the server?

SYNOPSIS
    {PROG} NAME [OPTION]...                      (a bundled reference server, e.g. echo-iterative)
    {PROG} --impl-cmd TEMPLATE [DECLARATION]... [OPTION]...
    {PROG} --target HOST:PORT [OPTION]...
    {PROG} --impl-file FILE.toml --impl NAME [OPTION]...

DESCRIPTION
    Client 1 connects, sends {len(FIRST)} bytes, gets its echo, and stays connected.  Client 2
    connects and sends {len(SECOND)} bytes while client 1 holds the server, and waits up to the
    hold ({HOLD:g} s by default) for its echo.  Then client 1 leaves, and client 2 waits for its
    echo again.  The timeline is printed as it happens -- who sent, who got what, how long
    client 2 waited -- and one sentence ends it, saying what the server did: a serial server
    makes client 2 wait for client 1, a concurrent one serves both at once.  The server is
    started as the conformance suite starts it (a free loopback port; nothing outlives the
    demo); a relay is played in front of an echo server the demo runs itself, whose side of
    each connection is drawn too.

EXIT STATUS
    0 the scene was played (whatever the server did); 1 the server could not be started, or
    client 1 could not be served; 2 interrupted; 4 usage error.
"""


@dataclass
class Scene:
    """How the scene went."""

    verdict: str  # SERIAL | CONCURRENT | NEITHER
    sentence: str
    waited: float | None  # how long client 2 waited for its echo, if it got it
    trace: dict
    played: bool = True  # False: the scene could not be played to its end (client 1 not served)


def play(address: Address, bounds: Bounds, *, hold: float = HOLD, say=None, settle=None,
         what: str = "server") -> Scene:
    """Play the scene against the server at ``address``.  ``say(line)``, if given, is called
    with each line of the live timeline as it happens; ``settle()``, if given, once the
    clients are gone (a relay's upstream closing its side, so that the timeline shows it)."""
    recorder = _wire.start()
    if say is not None:
        def live(event: _wire.Event, label: str) -> None:
            d = event.as_dict()
            if event.kind in (_wire.BOUND, _wire.WINDOW):
                say(_line(d.get("until", d["t"]), label, f"waited {d.get('until', d['t']) - d['t']:.2f} s: "
                                                         + d.get("note", "")))
            else:
                say(_line(d["t"], label, _timeline.describe(d)))

        recorder.listeners.append(live)
    narrate = (lambda text: say(_line(None, "", text))) if say is not None else (lambda text: None)
    socks: list = []
    try:
        verdict, sentence, waited, played = _steps(address, bounds, hold, socks, narrate, what)
    finally:
        for sock in reversed(socks):
            sock.close()  # (a second close of client 1 records nothing)
        try:
            if settle is not None:
                settle()
        finally:
            _wire.stop()
    return Scene(verdict, sentence, waited, recorder.snapshot(), played)


def _steps(address: Address, bounds: Bounds, hold: float, socks: list, narrate, what: str):
    """The scene itself: (verdict, sentence, how long client 2 waited, played to its end)."""
    narrate("client 1 connects, is echoed, and stays connected")
    try:
        socks.append(one := connect(address, bounds))
        first = exchange(one, [FIRST], matching=FIRST, bounds=bounds)
    except OSError as exc:
        return NEITHER, f"client 1 could not be served ({_oserror(exc)}): the scene cannot be played", None, False
    if first.ended != COMPLETE or first.received != FIRST:
        return (NEITHER, f"client 1 got {_got(first.received)} instead of its echo ({first.describe()}): "
                         "the scene cannot be played", None, False)
    narrate(f"client 2 connects and sends while client 1 holds the server; it waits up to {hold:g} s")
    try:
        socks.append(two := connect(address, bounds))
        sent_at = time.monotonic()
        two.sendall(SECOND)
        early = exchange(two, [], matching=SECOND, bounds=bounds, stall=hold)
    except OSError as exc:
        return (NEITHER, f"client 2 was turned away while client 1 was connected ({_oserror(exc)}): "
                         f"neither a serial nor a concurrent {what}", None, True)
    if early.ended == COMPLETE and early.received == SECOND:
        waited = time.monotonic() - sent_at
        narrate("client 1 leaves")
        one.close()
        return CONCURRENT, f"both clients were served at once: a concurrent {what}", waited, True
    if early.ended != STALLED or early.received:
        return (NEITHER, f"while client 1 was connected, client 2 got {_got(early.received)} "
                         f"({early.describe()}): neither a serial nor a concurrent echo {what}", None, True)
    narrate(f"client 2 got nothing in {hold:g} s; now client 1 leaves")
    one.close()
    try:
        late = exchange(two, [], matching=SECOND, bounds=bounds)
    except OSError as exc:
        late, how = None, _oserror(exc)
    waited = time.monotonic() - sent_at
    if late is not None and late.ended == COMPLETE and late.received == SECOND:
        return (SERIAL, f"client 2 was blocked by client 1 for {waited:.1f} s, then received its "
                        f"{len(SECOND)} bytes: a serial {what}", waited, True)
    if late is not None:
        how = f"{_got(late.received)} ({late.describe()})"
    return (NEITHER, f"client 2 was blocked by client 1, and after client 1 left it got {how}: "
                     f"a {what} that does not serve the client waiting its turn", None, True)


def _got(data: bytes) -> str:
    return "nothing" if not data else f"{len(data):,} bytes {data[:24]!r}"


def _oserror(exc: OSError) -> str:
    return f"{type(exc).__name__}: {exc}"


def _line(t: float | None, who: str, what: str) -> str:
    when = f"{t:7.3f} s" if t is not None else " " * 9
    return f"{when}  {who:<11} {what}"


def picture(scene: Scene, title: str) -> str:
    """The scene's timeline as a standalone SVG, with the title and the sentence beneath."""
    return _timeline.svg(scene.trace, caption=(title, scene.sentence), standalone=True,
                         attrs={"data-verdict": scene.verdict})


# --- the command ---------------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    p = Parser(PROG, DESCRIPTION)
    what = p.add_argument_group("WHICH SERVER (one of)")
    what.add_argument("name", nargs="?", metavar="NAME",
                      help="a bundled reference server (see echo-conformance --help)")
    add_command_template(what, "the server this command template starts")
    what.add_argument("--target", metavar="HOST:PORT", help="the server already listening there")
    what.add_argument("--impl-file", metavar="FILE.toml", help="an implementation of this manifest (with --impl)")
    what.add_argument("--impl", action="append", metavar="NAME",
                      help="the implementation's name (bundled, or of --impl-file)")
    p.add_declarations()
    scene = p.add_argument_group("THE SCENE")
    scene.add_argument("--hold", type=positive, default=HOLD, metavar="SECONDS",
                       help=f"how long client 2 waits while client 1 holds the server (default: {HOLD:g})")
    scene.add_argument("--svg", metavar="FILE", help="also draw the timeline to FILE (SVG)")
    scene.add_argument("--timeout-scale", type=positive, default=1.0, metavar="FACTOR",
                       help="stretch the start and connect bounds (default: 1)")
    p.add_information()
    return p


def select(ns: argparse.Namespace) -> Implementation:
    options = vars(ns).copy()
    names = list(ns.impl or []) + ([ns.name] if ns.name else [])
    options["impl"] = names or None
    sources = [o for o in ("impl_cmd", "target", "impl_file") if options.get(o) is not None]
    if not names and not sources:
        raise UsageError("which server? name a bundled one (e.g. echo-iterative), or give --impl-cmd TEMPLATE "
                         "or --target HOST:PORT")
    if names and sources and sources != ["impl_file"]:
        raise UsageError(f"a name and --{sources[0].replace('_', '-')}: use only one")
    try:
        impls = from_options(options)
    except ManifestError as exc:
        raise UsageError(str(exc)) from None
    if len(impls) != 1:
        raise UsageError(f"the demo plays one server; {len(impls)} are selected: name one with --impl")
    impl = impls[0]
    if "tcp" not in impl.transports:
        raise UsageError(f"the scene is played over TCP connections; {impl.name} declares "
                         f"{','.join(impl.transports)} only")
    return impl


@dataclass
class Stage:
    """A server ready for the scene: where it listens, what it is, how to let it settle."""

    address: Address
    where: str  # what the first line of the demo says it plays against
    what: str  # "server" or "relay", in the sentence
    settle: object = None  # play()'s settle


@contextlib.contextmanager
def stage(impl: Implementation, bounds: Bounds):
    """Start ``impl`` as the suite does (a relay in front of a fake echo upstream, in this
    process), or use its ``--target``; stop everything on leaving.  Raises LaunchError."""
    from ._launch import Server, free_port
    from ._upstream import ECHO, FakeUpstream

    what = "relay" if impl.kind == "relay" else "server"
    if impl.target is not None:
        address = Address(*impl.target)
        yield Stage(address, f"{impl.name} at {address}", what)
        return
    fake = server = None
    try:
        if impl.kind == "relay":
            fake = FakeUpstream(ECHO).__enter__()
        server = Server(impl, Address("127.0.0.1", free_port()), bounds,
                        upstream=fake.address if fake else None).start("tcp")
        where = f"{impl.name} (declared {impl.model}) at {server.address}"
        settle = None
        if fake is not None:
            where += f", relaying to the demo's echo server at {fake.address}"
            # the readiness probe's own upstream connection comes and goes before the scene
            fake.wait_until(lambda f: f.accepted >= 1 and f.open_count == 0, bounds.quiet)
            settle = lambda: fake.wait_until(lambda f: f.open_count == 0, bounds.progress)  # noqa: E731
        yield Stage(server.address, where, what, settle)
    finally:
        if server is not None:
            server.stop()
        if fake is not None:
            fake.close()


def run(argv: list[str], out=None) -> int:
    from ._launch import LaunchError

    out = out or sys.stdout
    ns = parser().parse_args(argv)
    impl = select(ns)
    bounds = Bounds().scaled(ns.timeout_scale)

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    try:
        with stage(impl, bounds) as st:
            say(f"{PROG}: {st.where}")
            say(f"{'time':>9}  {'who':<11} what")
            scene = play(st.address, bounds, hold=ns.hold, say=say, settle=st.settle, what=st.what)
    except LaunchError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return FAILED
    say("")
    say(scene.sentence)
    if ns.svg:
        Path(ns.svg).parent.mkdir(parents=True, exist_ok=True)
        Path(ns.svg).write_text(picture(scene, f"{PROG}: {impl.name}"), encoding="utf-8")
        print(f"{PROG}: wrote {ns.svg}", file=sys.stderr)
    return OK if scene.played else FAILED


def main(argv: list[str] | None = None) -> int:
    return run_command(PROG, run, argv)
