"""Stateful testing: several connections, interleaved by Hypothesis.

Theory of operation: a RuleBasedStateMachine holds up to four open connections to one live
server and, step by step, opens, sends on, reads from, half-closes, drains, closes or resets
them.  It keeps what each connection sent and received.  After every read:

* what a connection received is a prefix of what it sent (so it never sees another
  connection's bytes: every chunk starts with its connection's tag);
* once half-closed and drained, it received everything, then EOF.

For the serial model the queue of connections is part of the state: only the oldest
connection the server has not finished with is served; the others must receive nothing
(checked with a short window, ``bounds.serial_peek``) until the ones before them end.  A
failure is printed by Hypothesis as the shortest sequence of steps that shows it, each step
preceded by a comment that says what it did on which connection (``# connection 2 sends
b'<2>' (3 bytes)``): the numbers and bytes the failure message speaks of (a rule's ``index``
picks among the connections open at the time, and ``data`` follows the connection's tag).

Before the machine runs, one connection is echoed twice, its second send made once the first
echo is back: a server that echoes only the first read of a connection, then closes it,
passes any run of the machine whose sends happen to reach it in one read (the default
profile's 25 examples did, in some runs).  A check of its own rather than a step of every
example: it costs one connection per case, not one per example (a rate-limited server such as
xinetd's would see fewer connections a second, and pass by it).
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field

from hypothesis import note, settings, strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition, rule,
                                 run_state_machine_as_test)

from echo_conformance.check import (COMPLETE, EOF, MISDELIVERY, RAN_OUT, CheckBudget, Violation, abort, case,
                                    check_settings, connect, describe_stream, echoed, exchange, listen_quietly,
                                    observe, require)

MAX_OPEN = 4


@dataclass
class Conn:
    number: int
    sock: socket.socket
    sent: bytearray = field(default_factory=bytearray)
    received: bytearray = field(default_factory=bytearray)
    half_closed: bool = False

    @property
    def tag(self) -> bytes:
        return f"<{self.number}>".encode()

    def __repr__(self) -> str:
        return f"connection {self.number}"


class EchoMachine(RuleBasedStateMachine):
    endpoint = None
    bounds = None
    serial = False
    max_open = MAX_OPEN  # fewer for a fixed pool that declares a smaller capacity
    budget: CheckBudget = None  # one per check, shared by every run of the machine

    def __init__(self) -> None:
        super().__init__()
        self.open: list[Conn] = []
        self.queue: list[Conn] = []  # serial model: connections the server has not finished
        self.count = 0
        self.steps: list[str] = []  # this run so far, for a verdict reported without Hypothesis
        # Once the check has failed and its budget is spent, Hypothesis is stopped (see
        # CheckBudget).  Rejecting a run instead would not do: a run that stops drawing steps
        # earlier than an earlier run with the same start is reported as flaky.
        self.budget.start()

    def _step(self, rule: str, did: str, **args) -> None:
        """Record a step: what it did (a comment above the step, in Hypothesis's printout of
        the failing example too) and the call."""
        note(f"# {did}")
        self.steps += [f"# {did}", f"state.{rule}({', '.join(f'{k}={v!r}' for k, v in args.items())})"]

    def teardown(self) -> None:
        for conn in self.open:
            conn.sock.close()

    def _served(self, conn: Conn) -> bool:
        return not self.serial or conn not in self.queue or self.queue[0] is conn

    def _leave_queue(self, conn: Conn) -> None:
        if conn in self.queue:
            self.queue.remove(conn)
        # The server finishes a half-closed connection as soon as it reaches it.
        while self.queue and self.queue[0].half_closed:
            self.queue.pop(0)

    def _pick(self, index: int) -> Conn:
        return self.open[index % len(self.open)]

    @initialize()
    def open_two_connections(self) -> None:
        # Every story starts with two connections: cross-talk needs at least two.
        self._step("open_two_connections", "opens connections 1 and 2")
        self._open()
        self._open()

    @precondition(lambda self: len(self.open) < self.max_open)
    @rule()
    def open_connection(self) -> None:
        self._step("open_connection", f"opens connection {self.count + 1}")
        self._open()

    def _open(self) -> None:
        self.count += 1
        conn = Conn(self.count, connect(self.endpoint, self.bounds))
        self.open.append(conn)
        self.queue.append(conn)

    @precondition(lambda self: any(not c.half_closed for c in self.open))
    @rule(index=st.integers(0, MAX_OPEN - 1), data=st.binary(min_size=0, max_size=4096))
    def send(self, index: int, data: bytes) -> None:
        writable = [c for c in self.open if not c.half_closed]
        conn = writable[index % len(writable)]
        self._step("send", f"{conn} sends {_shown(conn.tag + data)}", data=data, index=index)
        chunk = conn.tag + data
        conn.sock.sendall(chunk)
        conn.sent += chunk

    @precondition(lambda self: self.open)
    @rule(index=st.integers(0, MAX_OPEN - 1))
    def read(self, index: int) -> None:
        conn = self._pick(index)
        did = "reads its echo" if self._served(conn) else "listens: a serial server must not answer it yet"
        self._step("read", f"{conn} {did}", index=index)
        self._read(conn)

    def _read(self, conn: Conn) -> None:
        if self._served(conn):
            out = exchange(conn.sock, [], matching=bytes(conn.sent[len(conn.received):]), bounds=self.bounds,
                           stall=self.budget.stall)
            conn.received += out.received
            self._inconclusive(out)
            self._misdelivered(conn)
            if bytes(conn.received) != bytes(conn.sent):  # did its echo go to another connection?
                for other in self.open:
                    if other is not conn:
                        other.received += _available(other.sock)
                        self._misdelivered(other)
            self._require(bytes(conn.received) == bytes(conn.sent) and out.ended == COMPLETE, out,
                          expected=f"{conn} receives the echo of everything it sent",
                          observed=lambda: f"{describe_stream(bytes(conn.sent), bytes(conn.received), who=repr(conn))}\n"
                                           f"  how it ended: {out.describe()}")
        else:
            out = listen_quietly(conn.sock, self.bounds.serial_peek)
            conn.received += out.received
            self._require(not out.received,
                    expected=f"{conn} receives nothing while {self.queue[0]} is being served (serial model)",
                    observed=f"it received {out.received[:64]!r}")

    @precondition(lambda self: any(not c.half_closed for c in self.open))
    @rule(index=st.integers(0, MAX_OPEN - 1))
    def half_close(self, index: int) -> None:
        writable = [c for c in self.open if not c.half_closed]
        conn = writable[index % len(writable)]
        reads = self._served(conn) and len(conn.received) < len(conn.sent)
        self._step("half_close", f"{conn} {'reads the rest of its echo, then ' if reads else ''}half-closes",
                   index=index)
        if reads:
            # Its echo is collected first, so that whether the server still holds some of it
            # when the EOF comes is never a matter of timing: this check is about which
            # connection gets which bytes; losing the tail at a half-close is what the
            # tcp.halfclose cases force, every run.
            self._read(conn)
        conn.sock.shutdown(socket.SHUT_WR)
        conn.half_closed = True
        if self.queue and self.queue[0] is conn:
            self._leave_queue(conn)

    @precondition(lambda self: any(c.half_closed for c in self.open))
    @rule(index=st.integers(0, MAX_OPEN - 1))
    def drain(self, index: int) -> None:
        closing = [c for c in self.open if c.half_closed]
        conn = closing[index % len(closing)]
        # A serial server reaches this connection only once the ones before it are done.
        earlier = self.queue[: self.queue.index(conn)] if conn in self.queue else []
        first = f"closes {', '.join(map(str, earlier))} (served before it), then " if earlier else ""
        self._step("drain", f"{first}{conn} reads the rest of its echo and the EOF, then closes", index=index)
        for other in earlier:
            self._close(other)
        out = exchange(conn.sock, [], matching=bytes(conn.sent[len(conn.received):]), bounds=self.bounds,
                       until_eof=True, stall=self.budget.stall)
        conn.received += out.received
        self._inconclusive(out)
        self._require(bytes(conn.received) == bytes(conn.sent) and out.ended == EOF, out,
                      expected=f"{conn}, half-closed, receives the rest of its echo and then EOF",
                      observed=lambda: f"{describe_stream(bytes(conn.sent), bytes(conn.received), who=repr(conn))}\n"
                                       f"  how it ended: {out.describe()}")
        self._close(conn)

    def _inconclusive(self, out) -> None:
        """A shortened wait (the check has already failed) that ran out proves nothing: stop
        Hypothesis (see CheckBudget); the check fails with the failure it has."""
        if out.ended in RAN_OUT and self.budget.shortened:
            self.budget.final = True
            self.budget.start()

    def _require(self, condition: bool, out=None, *, expected: str, observed) -> None:
        """require(), telling the check's budget when the check fails (and whether a wait of
        the exchange ``out`` ran out: then the failure is final)."""
        try:
            require(condition, expected=expected, observed=observed)
        except Violation as exc:
            if out is not None and out.ended in RAN_OUT:
                self.budget.final = True
            self.budget.record(_Run(self.steps), exc)
            raise

    def _close(self, conn: Conn, reset: bool = False) -> None:
        abort(conn.sock) if reset else conn.sock.close()
        self.open.remove(conn)
        self._leave_queue(conn)

    @precondition(lambda self: self.open)
    @rule(index=st.integers(0, MAX_OPEN - 1))
    def close(self, index: int) -> None:
        self._step("close", f"{self._pick(index)} closes", index=index)
        self._close(self._pick(index))

    @precondition(lambda self: self.open)
    @rule(index=st.integers(0, MAX_OPEN - 1))
    def reset(self, index: int) -> None:
        self._step("reset", f"{self._pick(index)} resets (RST)", index=index)
        self._close(self._pick(index), reset=True)

    @invariant()
    def received_is_a_prefix_of_sent(self) -> None:
        for conn in self.open:
            conn.received += _available(conn.sock)  # whatever has arrived, without waiting
            if not self._served(conn):
                self._require(not conn.received,
                              expected=f"{conn} receives nothing while {self.queue[0]} is being served (serial model)",
                              observed=f"it received {bytes(conn.received[:64])!r}")
            if not conn.sent.startswith(conn.received):
                self._misdelivered(conn)
                echoed(bytes(conn.sent), bytes(conn.received), ended="wrong", others=len(self.open) - 1)
            self._require(conn.sent.startswith(conn.received),
                          expected=f"what {conn} received is a prefix of what it sent",
                          observed=lambda: describe_stream(bytes(conn.sent), bytes(conn.received), who=repr(conn)))


    def _misdelivered(self, conn: Conn) -> None:
        """Evidence: bytes that are not its own, tagged as another connection's."""
        foreign = sorted({int(m) for m in re.findall(rb"<(\d+)>", bytes(conn.received))} - {conn.number})
        if foreign:
            observe("misdelivered", what=f"{conn} received bytes that connection {foreign[0]} sent")


class _Run(tuple):
    """The steps of one run of the machine, as the verdict shows them."""

    def __repr__(self) -> str:
        return "\n" + "\n".join(self)


def _shown(chunk: bytes, limit: int = 24) -> str:
    """The bytes a step sends, as a comment shows them: short ones whole."""
    if len(chunk) <= limit:
        return f"{chunk!r} ({len(chunk):,} bytes)"
    return f"{chunk[:limit]!r}... ({len(chunk):,} bytes)"


def _available(sock: socket.socket) -> bytes:
    data = bytearray()
    sock.setblocking(False)
    try:
        while len(data) < 1 << 20 and (chunk := sock.recv(65536)):
            data += chunk
    except (BlockingIOError, OSError):
        pass
    finally:
        sock.setblocking(True)
    return bytes(data)


@case("tcp.stateful.interleavings", "Under any interleaving of opens, sends, reads, half-closes, closes and resets "
      "on up to 4 connections (for a fixed pool, at most its declared capacity), each connection receives "
      "exactly its own bytes, in order, and all of "
      "them once drained; a serial server serves connections one at a time, in order.", guards=MISDELIVERY, heavy=True,
      # A server of its own: its hundred-odd connections would count against a rate limit
      # (inetd's 256 a minute) for the checks that share a server after it.
      fresh_server=True,
      defect="echoes sent to the wrong connection, lost or reordered when connections come and go",
      budget=12.0)  # 25 runs of up to 20 steps on 4 connections: 0.9 s, 4.5 s loaded (a serial server)
def test_tcp_stateful(impl, endpoint, bounds, check_budget):
    machine = type("EchoMachine", (EchoMachine,),
                   {"endpoint": endpoint, "bounds": bounds, "serial": impl.model == "serial",
                    "max_open": min(MAX_OPEN, impl.capacity or MAX_OPEN), "budget": check_budget})
    _echoed_twice(endpoint, bounds)
    run_state_machine_as_test(machine, settings=settings(check_settings(), stateful_step_count=20))


def _echoed_twice(endpoint, bounds) -> None:
    """One connection sends twice, the second time once the first echo is back, and gets both echoes."""
    with connect(endpoint, bounds) as sock:
        for data in (b"<1>first", b"<1>second"):
            out = exchange(sock, [data], matching=data, bounds=bounds)
            require(out.received == data and out.ended == COMPLETE,
                    expected="connection 1 gets the echo of each send, b'<1>first' and then b'<1>second' (sent once "
                             "the first echo was back)",
                    observed=lambda: f"{describe_stream(data, out.received, who=f'the echo of {data!r}')}\n"
                                     f"  how it ended: {out.describe()}")
