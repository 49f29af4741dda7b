"""The classic mistakes of echo servers and relays, each with the rule that recognizes it.

Theory of operation
-------------------
A rule reads a :class:`Run`: the outcome of every case of one implementation and the facts
its failed cases recorded (``_evidence``).  It looks for the mistake's *signature* -- facts
that this mistake, and no more basic one, leaves (the echo stopped exactly where a line ends;
another client was served the moment the first one left) -- and returns a :class:`Finding`:
the observation that shows it and the failed cases it explains: those with the signature, and
those whose failures are only its *consequences* (the symptoms it produces anywhere: a stalled
echo, a crowd left waiting).  Signatures read the exchanges a connection had to itself
(``alone``): while another connection holds a serial server, a stalled echo says nothing about
the echo loop.  Passing cases are read only as context ("a client that half-closes gets its
whole echo").

The table, :data:`DEFECTS`, is in the order a server should be fixed: what makes every case
fail first (it dies, it misdelivers, it never echoes), then what corrupts the echo, then the end
of a connection, concurrency, resources, lifecycle, UDP.  ``_diagnosis`` tries the rules in
that order.  Each entry names the fix in a reference server (``Fix``: the lines are quoted from
that server as it is now; docs/mistakes.md shows them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from . import _evidence as ev

#: the outcomes whose cases a diagnosis explains: failures, SHOULD-level and known ones
FAILED = ("fail", "error", "xfail", "stale")
#: how an exchange ends when nothing more came (a slow echo that kept coming is SLOW)
RAN_OUT = ("stalled", "timeout")
CLOSED = ("eof", "reset")
MiB = 1 << 20
#: a server "gave up" on a half-closed client if it closed this long after the client's FIN
#: (a timer), rather than at once (closing at EOF): 10x the time a correct server takes to flush
GAVE_UP_AFTER = 0.3
#: a client that paused less than this after its half-close before reading only gave the server
#: time to read the EOF first (the checks' settle, 0.3 s; 0.5 s through a relay), not a slow
#: reader's pause (2 s): a tail it lost was lost at the EOF, not by a timer
SETTLE = 1.0
#: select()'s FD_SETSIZE: a server that stops at this many descriptors uses select()
FD_SETSIZE = 1024


# --- the table's entries -----------------------------------------------------------------------

@dataclass(frozen=True)
class Fix:
    """Where a reference server does it right: ``lines`` lines of ``path`` (relative to the
    folder that holds ``implementations/``), from the first line that contains ``anchor``
    (``before`` lines earlier)."""

    reference: str
    path: str
    anchor: str
    lines: int
    why: str
    before: int = 0

    def code(self, home: Path) -> tuple[int, list[str]]:
        """(the first line's number, the lines), as the file is now; ValueError if the anchor is gone."""
        text = (home / self.path).read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(text, 1):
            if self.anchor in line:
                first = number - self.before
                return first, text[first - 1:first - 1 + self.before + self.lines]
        raise ValueError(f"{self.path}: no line contains {self.anchor!r}")


@dataclass(frozen=True)
class Finding:
    """What a rule found: the observation that shows the mistake, and the failed cases it explains."""

    evidence: str
    cases: tuple[str, ...]


@dataclass(frozen=True)
class Defect:
    id: str
    summary: str  #: what the server does wrong, one sentence
    client: str  #: how a client sees it
    cause: str  #: why servers get it wrong
    fix: Fix | None
    rule: Callable[["Run"], Finding | None] = field(repr=False, compare=False)
    #: when the mistake may be in the declaration rather than the code: what to check first
    hint: str = ""


# --- what a rule reads ----------------------------------------------------------------------------

class Run:
    """One implementation's results as the rules read them: each case's outcome, and the
    facts of the failed ones (report.json's case entries), and what it declares."""

    def __init__(self, results: Iterable[dict], declared: dict | None = None) -> None:
        self.results = {r["id"]: r for r in results}
        self.declared = declared or {}
        self.relay = self.declared.get("kind") == "relay"

    def failed(self, prefix: str = "") -> list[str]:
        return sorted(c for c, r in self.results.items() if r["outcome"] in FAILED and c.startswith(prefix))

    def passed(self, case: str) -> bool:
        return self.results.get(case, {}).get("outcome") == "pass"

    def facts(self, kind: str, test: Callable[[dict], bool] = lambda f: True, prefix: str = "") -> list[tuple[str, dict]]:
        """(case, fact) for the facts of ``kind`` that pass ``test``, in the failed cases whose
        ID starts with ``prefix``, in case order."""
        return [(c, f) for c in self.failed(prefix) for f in self.results[c].get("evidence", ())
                if f.get("fact") == kind and test(f)]

    def launch_failed(self, case: str) -> bool:
        return str(self.results.get(case, {}).get("launch_failed", "")).lower() == "true"

    def output(self, case: str) -> str:
        """What the server printed during ``case`` (its last lines), if the case recorded it."""
        out = [f.get("output", "") for f in self.results[case].get("evidence", ())
               if f.get("fact") in (ev.OUTPUT, ev.EXITED)]
        return "\n".join(o for o in out if o)


def _cases(*groups: Iterable) -> list[str]:
    """The case IDs of (case, fact) pairs, or of plain case IDs, in any of ``groups``."""
    return sorted({g if isinstance(g, str) else g[0] for group in groups for g in group})


def _found(evidence: str, *groups: Iterable) -> Finding:
    return Finding(evidence, tuple(_cases(*groups)))


# --- symptoms: what a stream fact shows ----------------------------------------------------------

def cmp(f: dict) -> str:
    return f.get("cmp", {}).get("kind", "")


def alone(f: dict) -> bool:
    """The connection had the server to itself: no other connection of the case was open."""
    return not f.get("others")


def ran_out(f: dict) -> bool:
    """The wait ran out on its own bound (not cut short by the case's budget)."""
    return f.get("ended") in RAN_OUT and not f.get("cut")


def short(f: dict) -> bool:
    return f.get("got", 0) < f.get("want", 0)


def stalled_short(f: dict) -> bool:
    """The echo stopped part way (or never began) and the connection stayed open."""
    return ran_out(f) and short(f) and cmp(f) in ("", "short")


def waited_short(f: dict) -> bool:
    """Like :func:`stalled_short`, or the echo came too slowly, or the case's budget cut the
    wait: not a signature, but the symptom of a mistake found elsewhere."""
    return f.get("ended") in (*RAN_OUT, "slow") and short(f) and cmp(f) in ("", "short")


def cut_off(f: dict) -> bool:
    """The server ended the connection before the echo was complete, the client still open."""
    return f.get("ended") in CLOSED and short(f) and not f.get("half_closed")


def turned_away(f: dict) -> bool:
    """The server closed a connection it had echoed nothing on, the client still sending."""
    return f.get("ended") in CLOSED and not f.get("got") and f.get("want", 0) > 0 and not f.get("half_closed")


def left_waiting(run: Run, hits: list[tuple[str, dict]], prefix: str = "") -> list[tuple[str, dict]]:
    """``hits`` but those in the cases where a connection was turned away: a client the server
    closed was refused its turn, not left waiting for it (too few workers)."""
    away = {c for c, _ in streams(run, turned_away, prefix)}
    return [(c, f) for c, f in hits if c not in away]


def tail_lost(f: dict) -> bool:
    """After the client's half-close the connection ended before the echo was complete."""
    return f.get("ended") in CLOSED and short(f) and f.get("half_closed")


def changed(f: dict) -> bool:
    return cmp(f) in ("inserted", "deleted", "replaced", "other", "long")


def no_eof(f: dict) -> bool:
    """Everything came back after the client's half-close, but the server never closed."""
    return f.get("half_closed") and f.get("until_eof") and ran_out(f) and not short(f)


def waited_for_eof(f: dict) -> bool:
    """Like :func:`no_eof`, or the case's budget cut the wait (a symptom, not a signature)."""
    return f.get("half_closed") and f.get("until_eof") and f.get("ended") in RAN_OUT and not short(f)


def streams(run: Run, test: Callable[[dict], bool], prefix: str = "") -> list[tuple[str, dict]]:
    return run.facts(ev.STREAM, test, prefix)


def _smallest(facts: list[tuple[str, dict]]) -> tuple[str, dict]:
    """The easiest fact to read: the smallest exchange, in case order."""
    return min(facts, key=lambda cf: (cf[1].get("want", 0), cf[0]))


# --- words ----------------------------------------------------------------------------------------

def n(count: int, unit: str = "byte") -> str:
    if unit == "byte" and count >= 4 * MiB and count % MiB == 0:
        return f"{count // MiB} MiB"
    return f"{count:,} {unit}" + ("" if count == 1 else "s")


_HOW = {"eof": "then the server closed the connection (EOF)", "reset": "then the connection was reset",
        "stalled": "then nothing more came", "slow": "too slowly", "timeout": "and the exchange ran past its bound",
        "wrong": "", "complete": ""}


def said(case: str, f: dict) -> str:
    """A stream fact as a sentence: what was sent, what came back, how it ended."""
    sent = f"{n(f.get('want', 0))}" + (f" {f['head']}" if f.get("head") else "")
    got = f.get("got", 0)
    back = "nothing back" if not got else f"{n(got)} back"
    if changed(f):
        back += f" ({difference(f['cmp'])})"
    how = _HOW.get(f.get("ended", ""), "")
    when = ""
    if f.get("half_closed"):
        if f.get("paused"):
            when = f"; it had half-closed and waited {f['paused']:g} s before reading"
        elif f.get("ended") in CLOSED and f.get("after_fin") is not None:
            when = f", {f['after_fin']:.2f} s after the client half-closed"
        else:
            when = ", after the client half-closed"
    elif f.get("ended") in CLOSED:
        when = ", the client's side still open"
    return f"{case}: the client sent {sent} and got {back}" + (f", {how}" if how else "") + when


def difference(c: dict) -> str:
    kind, at, count, what = c.get("kind"), c.get("at", 0), c.get("n", 0), c.get("bytes", "")
    if kind == "inserted":
        return f"{n(count)} {what} inserted at offset {at:,}"
    if kind == "deleted":
        return f"{n(count)}{' ' + what if count <= 16 else ''} missing at offset {at:,}"
    if kind == "replaced":
        return f"{n(count)} changed from offset {at:,}"
    if kind == "long":
        return f"{n(count)} {what} more than was sent"
    return f"different from offset {at:,}: {what}"


def _last_line(output: str) -> str:
    lines = [line.strip(" |") for line in output.strip().splitlines() if line.strip(" |")]
    return lines[-1] if lines else ""


# --- the rules: the process's fate ------------------------------------------------------------------

def not_ready(run: Run) -> Finding | None:
    slow = run.facts("ready")
    never = [c for c in run.failed() if run.launch_failed(c)]
    if not slow and not never:
        return None
    if slow:
        c, f = slow[0]
        when = "did not accept a connection" if f.get("took") is None else f"accepted a connection only after {f['took']:.1f} s"
        return _found(f"{c}: started, it {when} (the ready bound is {f.get('bound', 0):g} s)", slow, never)
    observed = (run.results[never[0]].get("observed") or "").splitlines()
    return _found(f"{never[0]}: {observed[0] if observed else 'it did not start'}", never)


#: what a process that could not bind its port prints (it never served: a restart that failed)
IN_USE = re.compile(r"in use|EADDRINUSE", re.IGNORECASE)


def _exits(run: Run) -> list[tuple[str, dict]]:
    """The server's exits while serving (not those of a restart that could not bind)."""
    return run.facts(ev.EXITED, lambda f: not IN_USE.search(f.get("output", "")))


def _refused(run: Run) -> list[tuple[str, dict]]:
    return run.facts(ev.CONNECT_FAILED, lambda f: f.get("how") == "refused")


def _died(run: Run, exits: list[tuple[str, dict]], what: str) -> Finding:
    c, f = exits[0]
    last = _last_line(f.get("output", ""))
    return _found(f"{c}: {what}, the server process exited (status {f.get('status')})"
                  + (f"; its last output: {last}" if last else ""), _exits(run), _refused(run))


def dies_on_empty_connection(run: Run) -> Finding | None:
    exits = [(c, f) for c, f in _exits(run) if run.facts("empty-connections", prefix=c)]
    return _died(run, exits, "after clients connected and closed without sending anything") if exits else None


def dies_on_reset(run: Run) -> Finding | None:
    exits = [(c, f) for c, f in _exits(run) if run.facts(ev.ABORT, prefix=c)]
    return _died(run, exits, "after a client reset its connection (RST)") if exits else None


def fd_setsize(run: Run) -> Finding | None:
    near = lambda f: FD_SETSIZE - 64 <= f.get("opened_before", 0) <= FD_SETSIZE  # noqa: E731
    hits = run.facts(ev.CONNECT_FAILED, near, prefix="tcp.scale")
    said_so = [(c, f) for c, f in _exits(run) if re.search(r"select|FD_SETSIZE|out of range", f.get("output", ""))]
    if not hits and not said_so:
        return None
    if hits:
        c, f = hits[0]
        text = f"{c}: with {n(f['opened_before'], 'connection')} open, the next could not connect"
    else:
        c, f = said_so[0]
        text = f"{c}: with many connections open the server exited: {_last_line(f['output'])}"
    return _found(text + f" (select() handles descriptors below {FD_SETSIZE:,} only)", hits, said_so)


def crashes(run: Run) -> Finding | None:
    exits = _exits(run)
    return _died(run, exits, "while serving") if exits else None


def misdelivers(run: Run) -> Finding | None:
    hits = run.facts("misdelivered", prefix="tcp")
    if not hits:
        return None
    c, f = hits[0]
    crowd = run.facts("crowd-served", prefix="tcp.concurrent")
    return _found(f"{c}: {f.get('what')}", hits, crowd, _stalled_anywhere(run))


# --- relays: facts only a relay's checks record --------------------------------------------------

def relay_dies_on_refused(run: Run) -> Finding | None:
    hits = run.facts("refused-upstream", lambda f: not f.get("alive", True))
    hits += [(c, f) for c, f in _exits(run) if run.facts("refused-upstream", prefix=c)]
    if not hits:
        return None
    last = next((_last_line(f.get("output", "")) for _, f in _exits(run)), "")
    return _found(f"{hits[0][0]}: when its upstream refused the connection, the relay process exited"
                  + (f"; its last output: {last}" if last else ""), hits, _refused(run))


def relay_swallows_halfclose(run: Run) -> Finding | None:
    dropped = {c for c, _ in streams(run, tail_lost)}  # the client's side closed at its EOF: not kept open
    hits = run.facts("upstream", lambda f: not f.get("eof") and f.get("received", 0) >= f.get("of", 1))
    hits = [(c, f) for c, f in hits if c not in dropped]
    if not hits:
        return None
    c, f = hits[0]
    return _found(f"{c}: the upstream received all {n(f['of'])} the client sent, but never the client's EOF",
                  hits, streams(run, waited_for_eof), streams(run, lambda f: f.get("half_closed") and waited_short(f)),
                  run.failed("relay.chain"))


def relay_drops_upstream_close(run: Run) -> Finding | None:
    hits = streams(run, lambda f: ran_out(f) and f.get("until_eof") and not f.get("half_closed") and not short(f),
                   "relay")
    if not hits:
        return None
    c, f = hits[0]
    return _found(f"{c}: the upstream ended its connection, and the client saw no end: "
                  f"{said(c, f).split(': ', 1)[1]}", hits)


def relay_leaks_upstream(run: Run) -> Finding | None:
    hits = run.facts("upstream-open")
    if not hits:
        return None
    c, f = hits[0]
    return _found(f"{c}: {f['open']} of {f['accepted']} upstream connections stayed open after their clients reset",
                  hits, run.facts("growth", prefix="tcp.resources"))


def relay_throttles(run: Run) -> Finding | None:
    hits = run.facts("rate")
    if not hits:
        return None
    c, f = hits[0]
    big = lambda f: f.get("want", 0) >= MiB and (waited_short(f) or f.get("ended") == "slow")  # noqa: E731
    return _found(f"{c}: {f['mib_per_s']:.2f} MiB/s through the relay", hits, streams(run, big),
                  run.facts(ev.PUSH, lambda f: f.get("cut")), run.facts("blocked"), run.failed("relay.halfclose"))


# --- the echo itself ------------------------------------------------------------------------------

def slow_per_connection(run: Run) -> Finding | None:
    hits = run.facts("pace")
    if not hits:
        return None
    c, f = hits[0]
    each = f["elapsed"] / max(f["done"], 1)
    return _found(f"{c}: {f['done']:,} of {f['of']:,} {f['what']} after {f['elapsed']:.2f} s, about "
                  f"{each * 1000:,.0f} ms each (at most {f['each'] * 1000:g} ms allowed)", hits,
                  run.facts(ev.CONNECT_FAILED, lambda f: f.get("how") == "timeout"), run.facts("crowd-served"),
                  streams(run, lambda f: f.get("first") and waited_short(f) and not f.get("got")))


def stops_accepting(run: Run) -> Finding | None:
    if run.facts("blocked", lambda f: f.get("served_after")):
        return None  # a connection that held the server explains the connections that hung
    hits = run.facts(ev.CONNECT_FAILED, lambda f: f.get("how") == "timeout")
    if not hits:
        return None
    c, f = hits[0]
    return _found(f"{c}: after {n(f.get('opened_before', 0), 'connection')}, a new connection got no handshake "
                  "(the listen backlog is full: nothing calls accept())", hits,
                  streams(run, lambda f: stalled_short(f) and not f.get("got")),
                  run.facts("blocked", lambda f: not f.get("served_after")))


def banner(run: Run) -> Finding | None:
    hits = run.facts(ev.QUIET, lambda f: f.get("got") and not f.get("sent_before"))
    if not hits:
        return None
    c, f = hits[0]
    return _found(f"{c}: before the client sent anything the server sent {n(f['got'])}: {f.get('head', '')}",
                  hits, streams(run, lambda f: changed(f) and f["cmp"].get("at") == 0), _stalled_anywhere(run))


def _stalled_anywhere(run: Run) -> list:
    """Cases where an echo stalled, another client waited, or a crowd went unserved: what a
    broken echo loop makes of every other check."""
    return [*streams(run, lambda f: waited_short(f) or changed(f)), *run.facts("blocked"),
            *run.facts("crowd-served")]


def no_echo(run: Run) -> Finding | None:
    alone_facts = streams(run, lambda f: alone(f) and f.get("want", 0) > 0)
    if len({c for c, _ in alone_facts}) < 2 or any(f.get("got") for _, f in streams(run, lambda f: True)):
        return None
    if run.facts("held-until", lambda f: f.get("what")):
        return None  # a newline or a half-close let the echo through
    if any(run.passed(c) for c in ECHOES):
        return None
    c, f = _smallest(alone_facts)
    return _found(said(c, f), alone_facts, streams(run, lambda f: True), run.facts("blocked"),
                  run.facts("crowd-served"), run.facts(ev.PUSH))


#: cases whose pass shows that the server echoes at all
ECHOES = ("tcp.echo.unbuffered", "tcp.echo.no-extra", "tcp.halfclose.small", "tcp.echo.binary")


def echo_at_eof(run: Run) -> Finding | None:
    held = streams(run, lambda f: alone(f) and not f.get("half_closed") and stalled_short(f) and not f.get("got"))
    if not held or streams(run, lambda f: not f.get("half_closed") and f.get("got")):
        return None  # echoes came back on open connections: not this
    at_eof = streams(run, lambda f: f.get("half_closed") and f.get("ended") == "eof" and cmp(f) == "exact")
    if not at_eof and not run.passed("tcp.halfclose.small") and not _held_until(run, "eof"):
        return None
    if _held_until(run, "newline"):
        return None  # a newline lets it through: it echoes lines
    c, f = _smallest(held)
    also = f" (after a half-close the whole echo comes back: {'tcp.halfclose.small passed' if not at_eof else at_eof[0][0]})"
    return _found(said(c, f) + also, held, _stalled_anywhere(run))


def _held_until(run: Run, what) -> list[tuple[str, dict]]:
    """The probe of a held echo (tcp.echo.unbuffered): what made the rest come back."""
    return run.facts("held-until", lambda f: f.get("what") == what)


def line_buffered(run: Run) -> Finding | None:
    stuck = streams(run, lambda f: alone(f) and stalled_short(f))
    cut = [(c, f) for c, f in stuck if f.get("newline_cut")]
    if not cut or len(cut) < len([1 for _, f in stuck if cmp(f) == "short"]):
        return None  # some echo stopped inside a line
    probed = _held_until(run, "newline")
    if not probed and not any(f.get("got") for _, f in cut):
        return None  # nothing shows that a newline would have let the echo through
    c, f = _smallest(cut)
    text = said(c, f) + (" (no newline in it)" if not f.get("got") else " (up to the last newline)")
    if probed:
        text += f"; once a newline followed, {probed[0][0]} got its echo"
    lines = [(cc, ff) for cc, ff in cut if ff.get("got")]
    if lines and not f.get("got"):
        cc, ff = _smallest(lines)
        text += f"; in {cc} everything up to the last newline came back, the {n(ff['want'] - ff['got'])} after it did not"
    return _found(text, cut, _stalled_anywhere(run))


#: a buffer size a server may echo whole multiples of (and hold back the rest of)
BLOCK = 512
#: the block sizes a held-back tail is measured against
BLOCKS = (4096, 2048, 1024, 512)
#: what a server that echoes whole blocks holds back is less than a block: at most this (a
#: recv(65536) waited on until full); an echo that stopped further short stopped for good
HELD_AT_MOST = 64 * 1024


def _held(f: dict) -> bool:
    """The echo stopped just short of the end (or, the connection still open, at a multiple
    of a block), mid-line."""
    if not (alone(f) and f.get("got") and cmp(f) == "short" and not f.get("newline_cut")):
        return False
    if f["cmp"].get("n", 0) <= 16:
        return stalled_short(f) or tail_lost(f)
    return stalled_short(f) and f["got"] % BLOCK == 0 and f["cmp"]["n"] < HELD_AT_MOST


def holds_back_tail(run: Run) -> Finding | None:
    held = streams(run, _held)
    if not held:
        return None
    blocks = [(c, f) for c, f in held if f["got"] % BLOCK == 0 and f["cmp"]["n"] > 16]
    if blocks:
        c, f = _smallest(blocks)
        size = max(b for b in BLOCKS if all(ff["got"] % b == 0 for _, ff in blocks))
        text = f"{said(c, f)}: what came back stops at a multiple of {size:,} bytes (whole blocks only)"
    else:
        c, f = _smallest(held)
        text = f"{said(c, f)}: the last {n(f['cmp']['n'])} never came back"
    return _found(text, held, _stalled_anywhere(run), streams(run, tail_lost))


#: what a process that decodes its input as text prints when the input is not valid text
TEXT_ERRORS = re.compile(r"Unicode(De|En)codeError|invalid (start|continuation) byte|malformed input|"
                         r"not valid UTF-8|invalid utf-8", re.IGNORECASE)


def treats_data_as_text(run: Run) -> Finding | None:
    said_so = [c for c in run.failed() if TEXT_ERRORS.search(run.output(c))]
    replaced = streams(run, lambda f: f.get("transform") == "utf8-replace")
    if not said_so and not replaced:
        return None
    if said_so:
        c = said_so[0]
        text = f"{c}: bytes that are not valid UTF-8 made the server fail: {_last_line(run.output(c))}"
    else:
        c, f = replaced[0]
        text = f"{said(c, f)}: bytes that are not valid UTF-8 came back as U+FFFD"
    return _found(text, said_so, replaced, streams(run, cut_off))


def first_read_only(run: Run) -> Finding | None:
    echoed = streams(run, lambda f: alone(f) and cut_off(f) and f.get("got") and f.get("elapsed", 0) < 1.0)
    if not echoed:
        return None
    c, f = _smallest(echoed)
    return _found(said(c, f), echoed, streams(run, cut_off), run.facts(ev.PUSH, lambda f: f.get("reset")),
                  run.facts(ev.QUIET, lambda f: f.get("ended") in CLOSED), run.facts("crowd-served"),
                  run.facts("socket-error", lambda f: f.get("error") in ("BrokenPipeError", "ConnectionResetError")))


def alters_data(run: Run) -> Finding | None:
    hits = streams(run, lambda f: f.get("transform") or cmp(f) == "replaced"
                   or (cmp(f) == "deleted" and f["cmp"].get("n", 0) <= 16))
    if not hits:
        return None
    c, f = min(hits, key=lambda cf: (not cf[1].get("transform"), cf[1].get("want", 0), cf[0]))
    how = {"crlf": ": CR LF came back as LF", "upper": ": letters came back in upper case",
           "lower": ": letters came back in lower case"}.get(f.get("transform", ""), "")
    return _found(said(c, f) + how, hits, streams(run, changed))


def adds_data(run: Run) -> Finding | None:
    extra = streams(run, lambda f: cmp(f) in ("inserted", "long"))
    # more arrived than the client had sent and not yet got back
    quiet = run.facts(ev.QUIET, lambda f: f.get("got", 0) > max(0, f.get("sent_before", 0) - f.get("got_before", 0))
                      and f.get("sent_before"))
    if not extra and not quiet:
        return None
    if quiet:
        c, f = quiet[0]
        text = (f"{c}: after the echo of the client's {n(f['sent_before'])}, the server sent {n(f['got'])} more: "
                f"{f.get('head', '')}")
    else:
        c, f = _smallest(extra)
        text = said(c, f)
    return _found(text, extra, quiet, streams(run, changed), run.facts("crowd-served"))


def loses_data_under_load(run: Run) -> Finding | None:
    lost = streams(run, lambda f: f.get("want", 0) >= MiB and cmp(f) in ("deleted", "other"))
    if not lost:
        return None
    c, f = min(lost, key=lambda cf: (cmp(cf[1]) != "deleted", cf[0]))
    return _found(said(c, f), lost, run.facts(ev.PUSH, lambda f: not f.get("blocked")))


def deadlocks_when_buffers_fill(run: Run) -> Finding | None:
    stuck = streams(run, lambda f: alone(f) and stalled_short(f) and f.get("got") and f.get("want", 0) >= MiB
                    and f["want"] - f["got"] >= HELD_AT_MOST)  # more than a held-back block: it stopped
    if not stuck:
        return None
    # the plainest: a client that read all along (none pushed unread first), the smallest
    c, f = min(stuck, key=lambda cf: (bool(cf[1].get("pushed")), cf[1].get("want", 0), cf[0]))
    return _found(f"{said(c, f)}: the echo stopped for good part way through, and the connection stayed open",
                  stuck, streams(run, lambda f: alone(f) and waited_short(f) and f.get("got")))


def slow_echo(run: Run) -> Finding | None:
    slow = streams(run, lambda f: f.get("ended") == "slow" and f.get("got"))  # some came, too slowly
    if not slow:
        return None
    c, f = _smallest(slow)
    rate = f.get("got", 0) / max(f.get("elapsed", 0), 1e-9)
    return _found(f"{said(c, f)}: {n(int(rate))} a second", slow)


# --- the end of a connection ------------------------------------------------------------------------

def never_closes(run: Run) -> Finding | None:
    hung = streams(run, no_eof)
    if not hung:
        return None
    c, f = _smallest([(c, f) for c, f in hung if f.get("want")] or hung)
    return _found(f"{c}: after the client half-closed, it got back all {n(f['got'])} it sent but no EOF: the "
                  "server never closed the connection", hung, streams(run, waited_for_eof),
                  run.facts("growth", lambda f: f.get("resource") in ("open fds", "threads")),
                  run.facts("pace"))  # handlers that never end slow down the ones that follow


def _gave_up(f: dict) -> bool:
    if f.get("paused", 0) > 0:
        return tail_lost(f) and f["paused"] >= SETTLE
    return tail_lost(f) and f.get("after_fin", 0) >= GAVE_UP_AFTER


def loses_tail_at_halfclose(run: Run) -> Finding | None:
    lost = streams(run, lambda f: tail_lost(f) and not _gave_up(f))
    if not lost:
        return None
    c, f = _smallest(lost)
    up = run.facts("upstream", lambda f: f.get("received", 0) < f.get("of", 0))
    return _found(said(c, f), lost, up, run.failed("relay.chain"), streams(run, _gave_up))


def gives_up_after_eof(run: Run) -> Finding | None:
    lost = streams(run, _gave_up)
    if not lost:
        return None
    c, f = _smallest(lost)
    return _found(said(c, f), lost)


# --- the declared concurrency -------------------------------------------------------------------

def serial_not_concurrent(run: Run) -> Finding | None:
    if run.declared.get("model") == "serial":
        return None
    served = run.facts("blocked", lambda f: f.get("served_after"))
    one = run.facts("crowd-served", lambda f: f.get("served", 0) <= 1, prefix="tcp.concurrent")
    if not served or not (one or len({f.get("by") for _, f in served}) >= 2):
        return None
    c, f = served[0]
    return _found(f"{c}: while {f.get('by')} was connected, another client got no echo for {f.get('waited', 0):g} s, "
                  "and got it as soon as the first client left", served, one, run.facts("crowd-served"),
                  run.facts(ev.CONNECT_FAILED, prefix="tcp.scale"), streams(run, lambda f: not alone(f)),
                  run.failed("tcp6.concurrent"))


def limited_concurrency(run: Run) -> Finding | None:
    if run.declared.get("capacity"):
        return None
    # some served, the rest waiting (not closed), not served a little later (a slow server's are)
    waiting = run.facts("crowd-served", lambda f: 1 < f.get("served", 0) < f.get("clients", 0) and not f.get("late"),
                        prefix="tcp.concurrent")
    hits = left_waiting(run, waiting)
    if not hits:
        return None
    c, f = hits[0]
    return _found(f"{c}: of {n(f['clients'], 'client')} connected at once, {f['served']} were echoed and the rest "
                  "waited", hits, run.facts(ev.CONNECT_FAILED, prefix="tcp.scale"), run.failed("tcp.scale"),
                  run.failed("tcp6.concurrent"))


def _blocked_by(run: Run, by: str) -> list[tuple[str, dict]]:
    return run.facts("blocked", lambda f: f.get("by") == by and f.get("served_after"))


def blocks_on_silent_client(run: Run) -> Finding | None:
    hits = _blocked_by(run, "a silent client")
    if not hits:
        return None
    c, f = hits[0]
    return _found(f"{c}: while one client was connected and silent, another got no echo for {f.get('waited', 0):g} s, "
                  "and got it once the silent one left", hits, run.facts(ev.CONNECT_FAILED, prefix="tcp.scale"),
                  run.failed("tcp.scale"), streams(run, lambda f: not alone(f) and stalled_short(f)))


def blocks_on_non_reading_client(run: Run) -> Finding | None:
    hits = _blocked_by(run, "a client that does not read")
    if not hits:
        return None
    c, f = hits[0]
    return _found(f"{c}: while one client pushed data without reading, another got no echo for "
                  f"{f.get('waited', 0):g} s, and got it once the first one left", hits)


def concurrent_not_serial(run: Run) -> Finding | None:
    if run.declared.get("model") != "serial":
        return None
    hits = run.facts(ev.QUIET, lambda f: f.get("got") and f.get("ended") not in CLOSED, prefix="tcp.serial")
    if not hits:
        return None
    return _found(f"{hits[0][0]}: client 2 got its echo while client 1 was still connected", hits,
                  run.failed("tcp.stateful"))


def turns_away_waiting_client(run: Run) -> Finding | None:
    if run.declared.get("model") != "serial":
        return None
    hits = [*streams(run, lambda f: f.get("ended") in CLOSED and short(f), "tcp.serial"),
            *run.facts(ev.QUIET, lambda f: f.get("ended") in CLOSED, prefix="tcp.serial")]
    if not hits:
        return None
    c, f = hits[0]
    return _found(f"{c}: the client that waited for its turn was {'reset' if f['ended'] == 'reset' else 'closed'} "
                  "instead of served", hits, run.failed("tcp.stateful"))


def pool_smaller_than_declared(run: Run) -> Finding | None:
    capacity = run.declared.get("capacity")
    if not capacity:
        return None
    waiting = run.facts("crowd-served",  # (those echoed later are served: their first bytes were lost)
                        lambda f: f.get("served", 0) + f.get("later", 0) < min(capacity, f.get("clients", 0)))
    hits = left_waiting(run, waiting, "tcp.capacity")
    if not hits:
        return None
    c, f = hits[0]
    return _found(f"{c}: of {n(f['clients'], 'client')} connected at once, only {f['served']} were echoed, although "
                  f"it declares a capacity of {capacity}", hits, run.failed("tcp.scale"), run.failed("tcp.capacity"))


def pool_rejects_surplus(run: Run) -> Finding | None:
    if not run.declared.get("capacity"):
        return None
    hits = run.facts(ev.QUIET, lambda f: f.get("ended") in CLOSED, prefix="tcp.capacity")
    # or one of the capacity's own clients, arriving while a worker was still finishing an earlier one
    hits += streams(run, turned_away, "tcp.capacity")
    if not hits:
        return None
    c, f = hits[0]
    return _found(f"{c}: with every worker busy, a client was {'reset' if f['ended'] == 'reset' else 'closed'} "
                  "instead of left waiting", hits, run.failed("tcp.capacity"))


def pool_loses_waiting_data(run: Run) -> Finding | None:
    if not run.declared.get("capacity"):
        return None
    hits = streams(run, lambda f: cmp(f) not in ("exact", "short", ""), "tcp.capacity")
    # anywhere: a connection's first bytes lost, what it sent after them echoed
    hits += streams(run, lambda f: cmp(f) == "deleted" and f["cmp"].get("at") == 0 and f.get("got"))
    later = run.facts("crowd-served", lambda f: f.get("later"), "tcp.capacity")
    later += run.facts("echoed-later", lambda f: f.get("later"), "tcp.capacity")
    if not hits and not later:
        return None
    if hits:
        c, f = hits[0]
        text = said(c, f)
    else:
        c, f = later[0]
        text = (f"{c}: {f['later']} of {n(f['clients'], 'client')} got nothing back for what they sent first, "
                "yet a later message was echoed")
    return _found(f"{text}: what a client sent before a worker took its connection was lost", hits, later,
                  run.failed("tcp.capacity"))


# --- resources ------------------------------------------------------------------------------------

def unbounded_buffering(run: Run) -> Finding | None:
    pushed = run.facts(ev.PUSH, lambda f: f.get("pushed", 0) > 64 * MiB
                       or (not f.get("blocked") and f.get("pushed", 0) == 64 * MiB))
    grew = run.facts("memory", lambda f: f.get("grew", 0) > f.get("bound", 64 * MiB))
    if not pushed and not grew:
        return None
    if pushed:
        c, f = pushed[0]
        text = (f"{c}: a client that never reads pushed {f['pushed'] / MiB:,.0f} MiB"
                + (" before its send blocked" if f.get("blocked") else " and its send never blocked"))
    else:
        c, f = grew[0]
        text = f"{c}: the server's memory grew by {f['grew'] / MiB:,.0f} MiB while a client sent without reading"
    return _found(text, pushed, grew)


def _growth(resource: str, what: str):
    def rule(run: Run) -> Finding | None:
        hits = run.facts("growth", lambda f: f.get("resource") == resource)
        if not hits:
            return None
        c, f = hits[0]
        return _found(f"{c}: after {n(f.get('cycles', 0), 'connection')} its {what} went from {f.get('before')} "
                      f"to {f.get('after')}", hits)
    return rule


def turns_away_connections(run: Run) -> Finding | None:
    if run.declared.get("capacity") or run.declared.get("model") == "serial":
        return None  # turned away beyond its capacity, or while busy: their own mistakes
    if not any(run.passed(c) for c in ECHOES):
        return None  # it does not echo at all
    # not where a server process exited, or was stopped and started (a connection to a process
    # that is gone, or not yet serving, says nothing of a limit)
    gone = {c for c, _ in run.facts(ev.EXITED)} | set(run.failed("lifecycle."))
    away = [(c, f) for c, f in streams(run, turned_away) if c not in gone]
    refused = run.facts(ev.CONNECT_FAILED, lambda f: f.get("how") in ("refused", "ConnectionResetError")
                        and f.get("opened_before", 0) > 0)  # refused, or reset in the handshake
    refused = [(c, f) for c, f in refused if c not in gone]
    if not away and not refused:
        return None
    cases = {c for c, _ in (*away, *refused)}
    crowds = [(c, f) for c, f in run.facts(ev.CROWD, lambda f: f.get("complete")) if c in cases]
    if crowds:
        c, f = crowds[0]
        text = (f"{c}: of {n(f['clients'], 'client')} connected at once, {f['complete']} were echoed and "
                f"{f.get('none', 0)} got nothing back: the server closed their connections")
    elif refused:
        c, f = refused[0]
        how = "refused" if f["how"] == "refused" else "reset as it connected"
        text = f"{c}: after {n(f['opened_before'], 'connection')}, the next was {how}, the server still running"
    else:
        c, f = away[0]
        text = f"{said(c, f)}; connections before it were echoed"
    return _found(text, away, refused)


def busy_idle(run: Run) -> Finding | None:
    hits = run.facts("idle-cpu")
    if not hits:
        return None
    c, f = max(hits, key=lambda cf: cf[1].get("percent", 0))
    who = f"with {n(f['clients'], 'silent client')} connected" if f.get("clients") else "with no client"
    return _found(f"{c}: {who} it used {f.get('percent', 0):.0f}% of a CPU core over {f.get('window', 0):g} s", hits)


# --- lifecycle ---------------------------------------------------------------------------------------

def ignores_sigterm(run: Run) -> Finding | None:
    hits = run.facts("sigterm", lambda f: f.get("exited_after") is None)
    if not hits:
        return None
    c, f = hits[0]
    return _found(f"{c}: {f.get('grace', 0):g} s after SIGTERM, with a client connected, it was still running", hits,
                  run.facts("exit-status", lambda f: f.get("status") is None),
                  run.facts("restart", lambda f: "still running" in f.get("error", "")))


def listener_survives_sigterm(run: Run) -> Finding | None:
    hits = run.facts("sigterm", lambda f: f.get("exited_after") is not None and f.get("port_freed") is False)
    if not hits:
        return None
    c, f = hits[0]
    return _found(f"{c}: the server process exited {f['exited_after']:.2f} s after SIGTERM, but its port still "
                  "accepted connections (a child process kept the listening socket)", hits,
                  run.facts("restart"), run.failed("lifecycle.restart"))


def unclean_exit_status(run: Run) -> Finding | None:
    hits = run.facts("exit-status", lambda f: f.get("status") is not None)
    if not hits:
        return None
    c, f = hits[0]
    return _found(f"{c}: on SIGTERM it ended with {f.get('described', f['status'])}", hits)


def no_reuseaddr(run: Run) -> Finding | None:
    hits = run.facts("restart", lambda f: IN_USE.search(f.get("error", "")))
    if not hits:
        return None
    c, f = hits[0]
    return _found(f"{c}: started again on its port right after a stop, it failed: {_last_line(f['error'])}", hits)


def ipv4_only(run: Run) -> Finding | None:
    v6 = run.failed("tcp6.")
    if not v6 or not all(run.launch_failed(c) or run.facts(ev.EXITED, prefix=c) for c in v6):
        return None
    if any(run.launch_failed(c) for c in run.failed() if not c.startswith("tcp6.")):
        return None  # it does not start over IPv4 either
    observed = (run.results[v6[0]].get("observed") or "").strip().splitlines()
    return _found(f"{v6[0]}: started with --host ::1 it did not come up: "
                  f"{_last_line(run.output(v6[0])) or (observed[-1] if observed else 'it exited')}", v6)


# --- UDP -----------------------------------------------------------------------------------------

def udp_truncates(run: Run) -> Finding | None:
    cut = run.facts(ev.DATAGRAM, lambda f: f.get("verdict") == "wrong" and cmp(f) == "short" and f.get("got"))
    split = run.facts("datagram-shape", lambda f: f.get("shape") == "split")
    # a datagram that came back as its first part, with nothing else in its case: the rest never came
    first_parts = [(c, f) for c, f in split
                   if not run.facts("datagram-shape", lambda g: g.get("shape") != "split", prefix=c)]
    if not cut and not first_parts:
        return None
    if not cut:
        return _found(f"{first_parts[0][0]}: a datagram came back as only its first part, and the rest of it never "
                      "came", split)
    c, f = min(cut, key=lambda cf: cf[1].get("size", 0))
    limit = max(f["got"] for _, f in cut)
    return _found(f"{c}: a {n(f['size'])} datagram came back as its first {n(f['got'])}; no answer was longer than "
                  f"{n(limit)}", cut, split)


def udp_merges(run: Run) -> Finding | None:
    hits = run.facts("datagram-shape", lambda f: f.get("shape") == "merged")
    foreign = run.facts("misdelivered", lambda f: f.get("foreign"), prefix="udp")
    return _found(f"{hits[0][0]}: datagrams sent back to back came back merged into one", hits,
                  foreign) if hits else None


def udp_wrong_peer(run: Run) -> Finding | None:
    hits = run.facts("misdelivered", lambda f: not f.get("foreign"), prefix="udp")
    return _found(f"{hits[0][0]}: {hits[0][1].get('what')}", hits, run.facts("burst")) if hits else None


def udp_no_answer(run: Run) -> Finding | None:
    asked = run.facts(ev.DATAGRAM)
    if not asked or any(f.get("verdict") != "lost" for _, f in asked):
        return None
    if any(run.passed(c) for c in run.results if c.startswith("udp.")):
        return None
    c, f = asked[0]
    return _found(f"{c}: no datagram got an answer (the first, of {n(f.get('size', 0))}, was sent "
                  f"{f.get('tries', 1)} times)", asked, run.failed("udp."))


def _lost(f: dict) -> bool:
    """A datagram went unanswered (one the case's budget left no time to send is no loss)."""
    return f.get("verdict") == "lost" and f.get("tries", 1) > 0


def udp_ignores_empty(run: Run) -> Finding | None:
    lost = run.facts(ev.DATAGRAM, _lost)
    if not lost or any(f.get("size") for _, f in lost):
        return None
    return _found(f"{lost[0][0]}: the empty datagram got no answer; non-empty ones did", lost)


def udp_starves_peers(run: Run) -> Finding | None:
    hits = run.facts("burst")
    if not hits:
        return None
    c, f = hits[0]
    waited = "got no answer" if f.get("lost") else f"waited {f.get('took', 0):.2f} s"
    return _found(f"{c}: while one peer sent {n(f.get('sent', 0), 'datagram')}, another peer's datagram {waited}", hits)


def udp_loses(run: Run) -> Finding | None:
    lost = [*run.facts(ev.DATAGRAM, _lost), *run.facts("datagrams-lost")]
    if not lost:
        return None
    c, f = lost[0]
    what = f.get("what") or f"a {n(f.get('size', 0))} datagram, sent {f.get('tries', 1)} times"
    return _found(f"{c}: datagrams went unanswered though sent again and again ({what})", lost)


# --- the table -------------------------------------------------------------------------------------

def _loop(why: str) -> Fix:
    return Fix("echo-iterative", "implementations/echo_iterative.py", "while data := conn.recv(65536):", 4, why)


_POLL = "implementations/echo_poll.py"
_RELAY = "implementations/tcp_relay.py"
_UDP = "implementations/echo_udp.py"
_COMMON = "implementations/_common.py"
_PRETHREADED = "implementations/echo_prethreaded.py"
_FORK = "implementations/echo_fork.py"
_PER_CONNECTION = Fix("echo-poll", _POLL, "# ECONNRESET, EPIPE...: this connection only.", 3,
                      "an error on one connection closes that connection only, and the loop goes on", before=1)

DEFECTS: tuple[Defect, ...] = (
    # -- the process's fate
    Defect("ipv4-only", "It does not serve IPv6 although it declares it.", "clients of ::1 are refused",
           "an AF_INET socket created whatever address it is given",
           Fix("echo-thread", _COMMON, "family, sockaddr = resolve(host, port, kind)", 2,
               "the address family comes from the address"), ipv4_only,
           hint="if it is meant to serve IPv4 only, do not declare --impl-ipv6"),
    Defect("not-ready", "It does not accept connections within the ready bound after it starts.",
           "a client that connects right after the start is refused, or waits",
           "slow start-up work done before listen(), or listening on another port or address than the one given",
           Fix("echo-iterative", "implementations/echo_iterative.py", "with common.bind(args.host, args.port)", 1,
               "the port is opened first thing, before anything slow"), not_ready),
    Defect("dies-on-empty-connection", "It dies when a client connects and leaves without sending anything.",
           "after a client connects and closes at once, every client is refused",
           "code that assumes the first read returns data (indexing or decoding it) and fails on b''",
           Fix("echo-poll", _POLL, "if data:", 4, "an empty read is the client's EOF, not an error"),
           dies_on_empty_connection),
    Defect("dies-on-reset", "It dies when a client resets its connection.",
           "after one client disconnects abruptly (RST), every client is refused",
           "a reset makes recv() or send() raise (ECONNRESET, EPIPE; SIGPIPE kills a process that does not ignore "
           "it) and the error is not caught per connection", _PER_CONNECTION, dies_on_reset),
    Defect("fd-setsize", "It stops serving at about 1,024 connections: select()'s FD_SETSIZE limit.",
           "the 1,025th client is refused, or the server dies",
           "select() cannot watch a descriptor numbered 1,024 or more (Python raises ValueError; C corrupts memory)",
           Fix("echo-poll", _POLL, "poller = select.poll()", 1, "poll() or epoll() has no descriptor limit"),
           fd_setsize),
    Defect("relay-dies-on-refused", "It dies when its upstream refuses a connection.",
           "one refused upstream connection takes the relay down for every client",
           "connect() to the upstream without error handling",
           Fix("tcp-relay", _RELAY, "except OSError as exc:  # refused", 4, "a refused upstream closes that client only"),
           relay_dies_on_refused),
    Defect("crashes", "The server process exits while serving clients.",
           "clients are reset or refused once it is gone",
           "an exception nobody catches in the serving loop", _PER_CONNECTION, crashes),
    Defect("misdelivers", "It sends one client's data to another client.",
           "a client receives bytes some other connection sent",
           "one shared variable for the current connection (a global, a class attribute) in a concurrent server",
           Fix("echo-thread", "implementations/_socketserver.py", "while data := self.request.recv", 2,
               "each handler reads and writes only its own connection"), misdelivers),
    # -- a relay's own duties (the evidence only a relay's checks record)
    Defect("relay-swallows-halfclose", "It does not pass the client's half-close on to the upstream.",
           "the upstream never sees the end of the request, so the client waits forever for the end of the answer",
           "on the client's EOF the copy loop stops without shutdown(SHUT_WR) on the upstream side",
           Fix("tcp-relay", _RELAY, "dst.shutdown(socket.SHUT_WR)", 1,
               "EOF from one side is passed on as a half-close", before=1), relay_swallows_halfclose),
    Defect("relay-drops-upstream-close", "It does not pass the upstream's close on to the client.",
           "when the upstream finishes or fails, the client waits forever",
           "the copy loop ends without closing or shutting down the client's side",
           Fix("tcp-relay", _RELAY, "dst.shutdown(socket.SHUT_WR)", 1, "the upstream's EOF reaches the client", before=1),
           relay_drops_upstream_close),
    Defect("relay-leaks-upstream", "It leaks the upstream connection when a client resets.",
           "upstream connections pile up until the upstream or the relay runs out",
           "the copy loop returns on the client's error without closing the upstream socket",
           Fix("tcp-relay", _RELAY, "with client, upstream:", 1, "both sockets are closed however the session ends"),
           relay_leaks_upstream),
    Defect("relay-throttles", "It relays too slowly.", "transfers through it crawl",
           "a sleep per byte or per read, or a tiny read size",
           Fix("tcp-relay", _RELAY, "while data := src.recv(65536):", 2, "reads of up to 64 KiB, forwarded at once"),
           relay_throttles),
    # -- the echo itself
    Defect("stops-accepting", "It stops accepting new connections.",
           "after the first few clients, new connections hang in the handshake",
           "accept() is no longer called: the thread that should call it is busy serving, or blocked",
           Fix("echo-poll", _POLL, "sock, peer = listener.accept()", 1,
               "the listener is polled with the clients, and every pending connection accepted"), stops_accepting),
    Defect("banner", "It sends data before the client does (a greeting or banner).",
           "the echo is preceded by bytes the client never sent",
           "a welcome message, as line-oriented protocols have; RFC 862 sends back only what it receives",
           _loop("nothing is sent but what was received"), banner),
    Defect("slow-echo", "It echoes too slowly.", "transfers crawl; a large one takes minutes",
           "a sleep or a tiny read size in the echo loop", _loop("a read of up to 64 KiB, written back at once"),
           slow_echo),
    Defect("no-echo", "It never sends anything back.", "every byte sent goes unanswered; the client waits, or is closed",
           "it never reads, or reads and never writes back (a missing send, a write to the wrong socket)",
           _loop("every read is written back at once"), no_echo),
    Defect("echo-at-eof", "It echoes nothing until the client closes its side: it collects everything first.",
           "an interactive client waits forever; the echo comes only after a half-close",
           "a read-until-EOF loop (read all, then reply) instead of echoing each read as it arrives",
           _loop("each read is echoed before the next read"), echo_at_eof),
    Defect("line-buffered", "It echoes only complete lines: bytes after the last newline never come back.",
           "data without a newline, or the end of binary data, waits forever",
           "reading lines (readline(), makefile(), a line scanner), as text protocols do; echo is about bytes",
           _loop("recv() returns whatever bytes have arrived, newline or not"), line_buffered),
    Defect("holds-back-tail", "It holds back the end of what it receives and never sends it.",
           "the end of every message is missing",
           "an off-by-one in a buffering loop (a slice one short, a byte kept back for the next read), or "
           "echoing whole blocks only (recv() waited on until a buffer is full)",
           _loop("each read is written back whole"), holds_back_tail),
    Defect("treats-data-as-text", "It decodes the data as text: bytes that are not valid UTF-8 break it.",
           "binary data gets the connection closed, or comes back altered",
           "decoding to a string (recv().decode(), makefile('r'), a text reader) where RFC 862 echoes bytes",
           _loop("bytes in, the same bytes out: nothing is decoded"), treats_data_as_text),
    Defect("first-read-only", "It echoes only the first read of each connection, then closes it.",
           "a client that sends more than one message, or more than one read's worth, is cut off",
           "recv() once, send(), close(): the echo loop is missing",
           _loop("read and echo until recv() returns b'' (the client's EOF)"), first_read_only),
    # (before alters-data: its lost first bytes are the pool's doing, not a change of the data)
    Defect("pool-loses-waiting-data", "It loses what a client sent before a worker took its connection.",
           "the first bytes of a connection never come back; what it sends later does",
           "a worker that discards what is already queued on a connection it takes over",
           Fix("echo-prethreaded", _PRETHREADED, "while data := conn.recv(65536):", 2,
               "a worker serves its connection from its first byte"), pool_loses_waiting_data),
    Defect("alters-data", "It changes the bytes it echoes.",
           "what comes back differs from what was sent (newlines rewritten, letters changed)",
           "text-mode I/O (newline translation), decoding and re-encoding, or a transformation left in",
           _loop("the bytes read are written back as they are"), alters_data),
    Defect("adds-data", "It sends bytes the client never sent (a newline after each echo, a duplicate).",
           "the echo is longer than what was sent", "print()-style writes that add a newline, or a buffer written twice",
           _loop("exactly the bytes read are written back"), adds_data),
    Defect("loses-data-under-load", "It loses data when the client reads more slowly than it sends.",
           "large transfers come back with pieces missing",
           "send() on a non-blocking socket writes only part of the data (or fails with EAGAIN) and the rest is "
           "dropped", Fix("echo-poll", _POLL, "sent = sock.send(outbuf[fd])", 2,
                          "what send() did not take stays in the buffer for the next POLLOUT"), loses_data_under_load),
    Defect("deadlocks-when-buffers-fill", "Its echo stops for good part way through a large transfer: it deadlocks "
           "once its buffers fill.", "small messages are echoed; a large transfer stops part way and hangs, the client "
           "reading or not",
           "one thread that blocks writing both ways -- into a helper process's stdin (or its own pipe) and back to the "
           "client: once both buffers are full each write waits for the other (Python's subprocess documentation warns "
           "of it)", Fix("tcp-relay", _RELAY, 'other = common.start_thread(pump, client, upstream, "client->upstream")',
                         2, "a thread per direction: each side is read while the other is written"),
           deadlocks_when_buffers_fill),
    # -- the end of a connection
    Defect("never-closes", "It never closes the connection after the client's EOF.",
           "a client that half-closes gets its echo but waits forever for the end",
           "the loop ignores recv() returning b'' (no break), or stops reading without closing",
           _loop("the loop ends when recv() returns b'', and the connection is closed"), never_closes),
    Defect("loses-tail-at-halfclose", "It closes the connection at the client's EOF without sending back what it "
           "still holds.", "a client that sends and then shuts down its write side loses the end of the echo",
           "EOF from the client taken as the end of the session (a relay: nginx's proxy_half_close off)",
           Fix("echo-poll", _POLL, "if fd in eof and not out:", 3,
               "after the client's EOF the connection is closed only once its buffer is empty"),
           loses_tail_at_halfclose),
    Defect("gives-up-after-eof", "It drops what it still holds a fixed time after the client's EOF.",
           "a client that half-closes and reads slowly (or a slow upstream) loses the end of the answer",
           "a timer started at the client's EOF (socat's -t, a linger timeout) closes the connection, flushed or not",
           Fix("echo-poll", _POLL, "if fd in eof and not out:", 3,
               "no timer: the connection closes when everything is flushed"), gives_up_after_eof),
    # -- the declared concurrency
    Defect("serial-not-concurrent", "It serves one client at a time although it is declared concurrent.",
           "a second client gets nothing until the first one leaves",
           "an accept loop that serves each client to the end before the next accept()",
           Fix("echo-thread", "implementations/echo_thread.py", "class EchoServer(", 2,
               "a thread per connection (or an event loop) serves every client at once"), serial_not_concurrent,
           hint="if one client at a time is what you meant, declare it: --impl-model serial"),
    Defect("limited-concurrency", "It serves only a fixed number of clients at once although it declares no "
           "capacity.", "clients beyond that number get nothing until others leave",
           "a fixed pool of threads or processes (or a concurrency limit) without a declared capacity",
           Fix("echo-thread", "implementations/echo_thread.py", "class EchoServer(", 2,
               "a thread per connection has no fixed limit"), limited_concurrency,
           hint="if the pool is meant, declare its size: --impl-capacity N"),
    Defect("blocks-on-silent-client", "A connected client that sends nothing blocks every other client.",
           "one idle connection freezes the server for everyone",
           "a blocking recv() in a single-threaded loop, waiting for one client's data",
           Fix("echo-poll", _POLL, "sock.setblocking(False)", 1,
               "every socket is non-blocking and read only when poll() says it is readable"), blocks_on_silent_client),
    Defect("blocks-on-non-reading-client", "A client that does not read blocks every other client.",
           "one slow or stuck reader freezes the server for everyone",
           "a blocking send()/sendall() in a single-threaded loop, waiting on one client's full socket",
           Fix("echo-poll", _POLL, "sent = sock.send(outbuf[fd])", 2,
               "non-blocking send(): what does not fit waits in a buffer until POLLOUT"), blocks_on_non_reading_client),
    Defect("concurrent-not-serial", "It serves clients concurrently although it is declared serial.",
           "a second client is echoed while the first is still connected",
           "a threaded or event-driven server declared with the serial model", None, concurrent_not_serial,
           hint="declare what it does: --impl-model concurrent"),
    Defect("turns-away-waiting-client", "It closes the connection of a client that waits its turn.",
           "the second client is closed instead of served once the first leaves",
           "closing connections that arrive while busy, instead of leaving them in the listen backlog",
           Fix("echo-iterative", "implementations/echo_iterative.py", "conn, peer = listener.accept()", 1,
               "the next client is accepted only when the current one is done: it waits in the backlog"),
           turns_away_waiting_client),
    Defect("pool-smaller-than-declared", "It serves fewer clients at once than the capacity it declares.",
           "clients within the promised capacity are left waiting",
           "a pool started smaller than the declared capacity, or capped elsewhere",
           Fix("echo-prethreaded", _PRETHREADED, "for i in range(args.threads):", 3,
               "the pool starts exactly as many workers as declared"), pool_smaller_than_declared),
    Defect("pool-rejects-surplus", "With every worker busy, it turns the next client away instead of letting it "
           "wait.", "the client one beyond the capacity is closed or reset at once",
           "accepting a connection no worker can take, and closing it",
           Fix("echo-prethreaded", _PRETHREADED, "conn, peer = listener.accept()", 1,
               "only a free worker accepts: the surplus client waits in the listen backlog"), pool_rejects_surplus),
    # -- resources
    Defect("slow-per-connection", "It takes too long to set up each connection.",
           "every new client waits a noticeable time; many clients, or many connections in a row, pile up",
           "a process (a shell, an interpreter, a helper program) started per connection, or other slow "
           "work done before a connection is served",
           Fix("tcp-relay", _RELAY, "common.start_thread(relay, client, peer, upstream_addr)", 1,
               "a thread per connection, in the same process: microseconds, not a program's start-up"),
           slow_per_connection),
    Defect("unbounded-buffering", "It buffers without bound for a client that does not read.",
           "a client that stops reading makes the server's memory grow until it runs out",
           "reading on while writes are pending (asyncio's transport.write() never blocks; an output buffer with no "
           "high-water mark)", Fix("echo-poll", _POLL, "if fd not in eof and len(out) < HIGH_WATER:", 2,
                                   "above the high-water mark the connection is not read until its buffer drains"),
           unbounded_buffering),
    Defect("leaks-descriptors", "It leaks a descriptor per connection (often on the reset path).",
           "after enough connections it runs out of descriptors and stops accepting",
           "a socket not closed on every path: an error, a reset, an early return",
           Fix("echo-poll", _POLL, "def close(fd):", 5, "every way a connection ends goes through close()"),
           _growth("open fds", "open descriptors")),
    Defect("leaks-threads", "It leaks a thread per connection.", "threads pile up until the process cannot start more",
           "a per-connection thread that never ends (blocked on a connection that is gone)",
           Fix("echo-thread", "implementations/_socketserver.py", "while data := self.request.recv", 2,
               "the handler's loop ends at EOF or on any error, and the thread with it"), _growth("threads", "threads")),
    Defect("zombies", "It leaves a zombie process per connection: its children are never reaped.",
           "the process table fills with defunct children", "fork() without waitpid() (or SIGCHLD ignored)",
           Fix("echo-fork", _FORK, "def service_actions(self):", 5, "exited children are reaped (waitpid) after every "
               "request"), _growth("zombie(s)", "zombie children")),
    Defect("leaks-processes", "It leaves a process running per connection.",
           "processes pile up after their clients have left", "a child process that does not exit when its client leaves",
           Fix("echo-fork", _FORK, "def finish_request(", 4, "the child serves one connection and exits"),
           _growth("processes", "processes")),
    Defect("turns-away-connections", "It closes or refuses new connections beyond a rate or a number, although it "
           "is running.", "after a burst of connections the next clients are closed with nothing echoed, or refused, "
           "for a while", "a limit that turns extra connections away instead of leaving them in the listen backlog: a "
           "connection-rate limit (inetd's -R, xinetd's cps) or a cap on open connections",
           Fix("echo-poll", _POLL, "sock, peer = listener.accept()", 1,
               "every pending connection is accepted and served, however fast they come"), turns_away_connections),
    Defect("busy-idle", "It uses a full CPU while idle: it polls instead of waiting.",
           "no client notices; the machine does: a core taken from everyone, a battery drained",
           "a loop over non-blocking sockets with no select()/poll(), a zero timeout, or a spin after EOF",
           Fix("echo-poll", _POLL, "for fd, events in poller.poll():", 1,
               "poll() without a timeout sleeps until a socket is ready"), busy_idle),
    # -- lifecycle
    Defect("ignores-sigterm", "It does not stop on SIGTERM.", "a process manager must kill it; deployments hang",
           "a SIGTERM handler that sets a flag nobody checks while accept() or a thread blocks",
           Fix("echo-thread", _COMMON, "def _raise_shutdown(signum, frame):", 5,
               "the handler raises in the main thread, which interrupts the blocking call"), ignores_sigterm),
    Defect("listener-survives-sigterm", "After SIGTERM a child process keeps the listening socket open.",
           "new clients are accepted into a backlog nobody serves; a restart cannot bind",
           "forked children inherit the listener and do not close it",
           Fix("echo-fork", _FORK, "self.socket.close()", 1, "the child closes its copy of the listener"),
           listener_survives_sigterm),
    Defect("unclean-exit-status", "On SIGTERM it exits with a failure status.",
           "a process manager records the stop as a failure", "the signal ends the process through an error path",
           Fix("echo-thread", _COMMON, "except Shutdown:", 2, "the stop signal is caught and the process returns 0"),
           unclean_exit_status),
    Defect("no-reuseaddr", "It cannot restart on its port right after a stop (no SO_REUSEADDR).",
           "a restart fails with 'Address already in use' for about a minute",
           "the listener is bound without SO_REUSEADDR while old connections linger in TIME_WAIT",
           Fix("echo-thread", _COMMON, "sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR", 1,
               "SO_REUSEADDR before bind()"), no_reuseaddr),
    # -- UDP
    Defect("udp-truncates", "It truncates datagrams larger than its receive buffer.",
           "large datagrams come back cut short",
           "recvfrom() with a small buffer: the rest of the datagram is silently discarded",
           Fix("echo-udp", _UDP, "data, addr = sock.recvfrom(MAX_DATAGRAM)", 1,
               "a buffer as large as the largest datagram"), udp_truncates),
    Defect("udp-merges", "It merges datagrams: UDP treated as a stream.",
           "two datagrams sent back to back come back as one", "collecting reads into one buffer before answering",
           Fix("echo-udp", _UDP, "sock.sendto(data, addr)", 1, "each datagram is answered on its own"), udp_merges),
    Defect("udp-wrong-peer", "It sends answers to the wrong peer.", "a client receives another client's datagrams",
           "one reply address shared by all datagrams (overwritten by each recvfrom())",
           Fix("echo-udp", _UDP, "sock.sendto(data, addr)", 1, "each answer goes to the address its datagram came from"),
           udp_wrong_peer),
    Defect("udp-no-answer", "It answers no datagram at all.", "every datagram goes unanswered",
           "send() on an unconnected socket, answers to a wrong address, or no read at all",
           Fix("echo-udp", _UDP, "sock.sendto(data, addr)", 1, "sendto() the address recvfrom() returned"),
           udp_no_answer),
    Defect("udp-ignores-empty", "It ignores the empty datagram.", "a zero-length datagram gets no answer",
           "a zero-length read taken for end-of-file",
           Fix("echo-udp", _UDP, "sock.sendto(data, addr)", 1, "an empty datagram gets an empty answer"),
           udp_ignores_empty),
    Defect("udp-starves-peers", "One peer's burst starves every other peer.",
           "while one client floods it, others get no answers", "a global rate limit, or a sleep in the single loop",
           Fix("echo-udp", _UDP, "while True:", 2, "every datagram is answered as it comes, with no pause"),
           udp_starves_peers),
    Defect("udp-loses", "It leaves datagrams unanswered.", "some datagrams never get an answer, however often sent",
           "a loop that drops datagrams (reads without answering, a rate limit)",
           Fix("echo-udp", _UDP, "while True:", 2, "every datagram read is answered"), udp_loses),
)

BY_ID = {d.id: d for d in DEFECTS}
