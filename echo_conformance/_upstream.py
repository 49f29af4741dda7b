"""An instrumented fake upstream for the relay checks: a TCP server in a thread of the suite.

The relay checks put the relay under test in front of this server instead of a real echo
server, so they can see the relay's upstream side: how many connections it has open and has
ever accepted, what each received, whether the client's half-close (EOF) reached it, and
they can make it misbehave on purpose.  Modes:

* ``echo``   -- echo everything; on EOF flush, then close (or keep the connection open with
  ``close_on_eof=False``).  Given a ``delay``, each chunk is echoed that long after it
  arrived (a delay line: a relay's own handling of its client's EOF comes first).
* ``close``  -- echo the first ``after`` bytes, then close (FIN) once they are sent.
* ``reset``  -- once ``after`` bytes have arrived, reset the connection (SO_LINGER 0).
* ``refuse`` -- the port is bound but not listening: connections are refused (RST).
  :meth:`FakeUpstream.listen` starts listening (in ``echo`` mode) later.
* ``answer`` -- read the request until EOF, then, ``delay`` seconds later, send ``answer``
  and close: a server that answers a half-closed request (slowly, if asked to).

It listens on 127.0.0.1 only, on a port the kernel picks, runs one selector loop in one
daemon thread, never buffers more than ``high_water`` bytes of echo per connection (it
stops reading instead, like any correct server), and is a context manager: leaving it
closes every socket and joins the thread.
"""

from __future__ import annotations

import selectors
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

from . import _wire
from ._address import Address

ECHO, CLOSE, RESET, REFUSE, ANSWER = "echo", "close", "reset", "refuse", "answer"
MODES = (ECHO, CLOSE, RESET, REFUSE, ANSWER)
RECV_SIZE = 64 * 1024


@dataclass
class UpstreamConnection:
    """What the fake saw on one accepted connection (read it under ``FakeUpstream.lock``)."""

    index: int
    received: int = 0  #: bytes received in all
    data: bytearray = field(default_factory=bytearray)  #: the first ``keep`` bytes received
    eof: bool = False  #: the peer's half-close (FIN) arrived
    received_at_eof: int | None = None  #: ``received`` when the EOF arrived
    reset_by_peer: bool = False  #: the peer reset the connection
    open: bool = True  #: the fake has not closed its socket yet
    how_closed: str = ""  #: why the fake closed it

    def describe(self) -> str:
        state = "open" if self.open else f"closed ({self.how_closed})"
        eof = f"EOF after {self.received_at_eof:,} bytes" if self.eof else "no EOF"
        return f"connection {self.index}: received {self.received:,} bytes, {eof}, {state}"


class _Conn:
    def __init__(self, sock: socket.socket, record: UpstreamConnection) -> None:
        self.sock, self.record = sock, record
        self.out = bytearray()
        self.reading = True
        self.delayed = 0  #: bytes in FakeUpstream._due for this connection
        self.lane = _wire.accepted("upstream")  # its side, in the check's trace


class FakeUpstream:
    def __init__(self, mode: str = ECHO, *, after: int = 0, close_on_eof: bool = True,
                 high_water: int = 1 << 20, keep: int = 4 << 20, buffer_size: int = 256 * 1024,
                 answer: bytes = b"", delay: float = 0.0) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown fake upstream mode {mode!r}")
        self.mode, self.after, self.close_on_eof = mode, after, close_on_eof
        self.high_water, self.keep = high_water, keep
        self.answer, self.delay = answer, delay
        #: what is sent later, in order: (when, connection, bytes); the answer mode's answer
        #: and the delayed echo mode's chunks
        self._due: list[tuple[float, _Conn, bytes]] = []
        #: Fixed socket buffers (which turns kernel autotuning off): what the relay under test
        #: can push into the fake's side stays small and predictable (backpressure check).
        self.buffer_size = buffer_size
        self.lock = threading.Condition()
        self.connections: list[UpstreamConnection] = []
        self._conns: dict[int, _Conn] = {}
        self._parked: list[_Conn] = []  # kept open after EOF (close_on_eof=False), not polled
        self._listening = False
        self.error: str | None = None
        self._stopping = False
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._thread = threading.Thread(target=self._run, name="fake-upstream", daemon=True)

    # --- lifecycle ---------------------------------------------------------------------
    def __enter__(self) -> "FakeUpstream":
        try:
            for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):  # inherited by accepted sockets
                self._listener.setsockopt(socket.SOL_SOCKET, opt, self.buffer_size)
            self._listener.bind(("127.0.0.1", 0))  # loopback only; bound even when refusing
            self._listener.setblocking(False)
            self._wake_r.setblocking(False)
            self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
            if self.mode != REFUSE:
                self._start_listening()
            self._thread.start()
        except BaseException:
            self._close_all()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with self.lock:
            self._stopping = True
        self._wake()
        if self._thread.is_alive():
            self._thread.join(10)
        self._close_all()

    def _close_all(self) -> None:
        for conn in [*self._conns.values(), *self._parked]:
            self._drop(conn, "fake upstream stopped")
        self._parked.clear()
        for sock in (self._listener, self._wake_r, self._wake_w):
            sock.close()
        self._sel.close()

    @property
    def address(self) -> Address:
        return Address("127.0.0.1", self._listener.getsockname()[1])

    def listen(self) -> None:
        """Start accepting (a ``refuse`` fake becomes an ``echo`` one)."""
        self._listener.listen(128)
        with self.lock:
            self.mode = ECHO
            self._listening = True  # the loop registers the listener when woken
        self._wake()

    def _start_listening(self) -> None:
        self._listener.listen(128)
        self._listening = True
        self._sel.register(self._listener, selectors.EVENT_READ, "listener")

    def _later(self, conn: _Conn, data: bytes) -> None:
        """Send ``data`` on ``conn`` ``self.delay`` seconds from now (after what is due before)."""
        conn.delayed += len(data)
        self._due.append((time.monotonic() + self.delay, conn, data))

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    # --- what the checks read ----------------------------------------------------------
    @property
    def open_count(self) -> int:
        with self.lock:
            return sum(c.open for c in self.connections)

    @property
    def accepted(self) -> int:
        with self.lock:
            return len(self.connections)

    def wait_until(self, predicate, timeout: float) -> bool:
        """Wait (on the fake's own events, no polling) until ``predicate(self)`` is true."""
        since = time.monotonic()
        with self.lock:
            ok = self.lock.wait_for(lambda: predicate(self), timeout)
        if not ok:
            _wire.waited(since, f"waited {timeout:g} s on the fake upstream: in vain")
        return ok

    def describe(self) -> str:
        with self.lock:
            text = "; ".join(c.describe() for c in self.connections) or "the fake upstream accepted no connection"
            return f"{text} ({self.error})" if self.error else text

    # --- the loop ------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # a bug in the fake: say so instead of timing out mutely
            with self.lock:
                self.error = f"the fake upstream's loop crashed: {exc!r}"
                self.lock.notify_all()
            raise

    def _loop(self) -> None:
        while True:
            with self.lock:
                if self._stopping:
                    return
                if self._listening and self._listener.fileno() not in self._sel.get_map():
                    self._sel.register(self._listener, selectors.EVENT_READ, "listener")
            now = time.monotonic()
            while self._due and self._due[0][0] <= now:
                _, conn, data = self._due.pop(0)
                conn.delayed -= len(data)
                if conn.record.open:
                    conn.out += data
                    if conn in self._parked:  # it had nothing to do while its data was due
                        self._parked.remove(conn)
                        self._conns[conn.sock.fileno()] = conn
                        self._sel.register(conn.sock, selectors.EVENT_WRITE, "conn")
                    self._update(conn)
            timeout = min(1.0, self._due[0][0] - now) if self._due else 1.0
            for key, events in self._sel.select(timeout=max(0.0, timeout)):
                if key.data == "wake":
                    try:
                        self._wake_r.recv(4096)
                    except BlockingIOError:
                        pass
                elif key.data == "listener":
                    self._accept()
                else:
                    conn = self._conns.get(key.fd)
                    if conn is not None:
                        self._service(conn, events)

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            sock.setblocking(False)
            with self.lock:
                record = UpstreamConnection(len(self.connections))
                self.connections.append(record)
                conn = self._conns[sock.fileno()] = _Conn(sock, record)
                self.lock.notify_all()
            self._sel.register(sock, selectors.EVENT_READ, "conn")
            self._update(conn)

    def _service(self, conn: _Conn, events: int) -> None:
        rec = conn.record
        try:
            if events & selectors.EVENT_READ and conn.reading:
                data = conn.sock.recv(RECV_SIZE)
                _wire.received(conn.lane, data)
                with self.lock:
                    if data:
                        if len(rec.data) < self.keep:
                            rec.data += data[: self.keep - len(rec.data)]
                        rec.received += len(data)
                    else:
                        rec.eof, rec.received_at_eof = True, rec.received
                        conn.reading = False
                        if self.mode == ANSWER:
                            self._later(conn, self.answer)
                    self.lock.notify_all()
                if data:
                    if self.mode == RESET and rec.received >= self.after:
                        self._drop(conn, f"reset by the fake after {rec.received:,} bytes", reset=True)
                        return
                    if self.mode == ANSWER:
                        pass  # the request is only recorded; the answer follows its EOF
                    elif self.mode == CLOSE:
                        take = max(0, self.after - (rec.received - len(data)))
                        conn.out += data[:take]
                        if rec.received >= self.after:
                            conn.reading = False  # closes once the echo is flushed
                    elif self.delay:
                        self._later(conn, data)
                    else:
                        conn.out += data
            if events & selectors.EVENT_WRITE and conn.out:
                sent = conn.sock.send(conn.out)
                _wire.data(conn.lane, _wire.SEND, sent, conn.out)
                del conn.out[:sent]
        except BlockingIOError:
            pass
        except OSError as exc:
            _wire.failed(conn.lane, exc)
            with self.lock:
                rec.reset_by_peer = isinstance(exc, ConnectionResetError)
            self._drop(conn, f"error: {exc}")
            return
        self._update(conn)

    def _update(self, conn: _Conn) -> None:
        rec = conn.record
        if not conn.out and not conn.reading:
            if self.mode == CLOSE and rec.received >= self.after:
                self._drop(conn, f"closed by the fake after echoing {self.after:,} bytes")
                return
            if conn.delayed:
                pass  # more is still to come (a delayed echo, the answer)
            elif rec.eof and self.close_on_eof:
                self._drop(conn, "closed by the fake after the peer's EOF")
                return
        events = 0
        if conn.reading and len(conn.out) + conn.delayed < self.high_water:
            events |= selectors.EVENT_READ
        if conn.out:
            events |= selectors.EVENT_WRITE
        if events:
            self._sel.modify(conn.sock, events, "conn")
        else:
            # Nothing to do until the checks stop the fake (an EOF'd connection kept open).
            self._sel.unregister(conn.sock)
            self._conns.pop(conn.sock.fileno(), None)
            self._parked.append(conn)

    def _drop(self, conn: _Conn, how: str, reset: bool = False) -> None:
        if reset:
            try:
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        fd = conn.sock.fileno()
        if fd in self._conns:
            try:
                self._sel.unregister(conn.sock)
            except (KeyError, ValueError):
                pass
            del self._conns[fd]
        conn.sock.close()
        _wire.mark(conn.lane, _wire.ABORT if reset else _wire.CLOSE, how)
        with self.lock:
            if conn.record.open:
                conn.record.open, conn.record.how_closed = False, how
            self.lock.notify_all()
