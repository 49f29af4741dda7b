"""The wire trace: the recorder's merging and caps and what the shared helpers record on real
loopback sockets (``_wire``), the report's side (``_report.annotate``), and the text and SVG
renderers (``_timeline``), table-driven.  Nothing here starts a server: the peers are sockets of
the test itself."""

from __future__ import annotations

import contextlib
import socket
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from types import SimpleNamespace

import pytest

from echo_conformance import _client, _report, _timeline, _udp, _verdict, _wire, plugin
from echo_conformance._address import Address
from echo_conformance._bounds import Bounds

W = _wire
SVG = "{http://www.w3.org/2000/svg}"
FAST = Bounds().scaled(0.05)  # progress 0.1 s, quiet 15 ms


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def recorder():
    rec = _wire.start()
    yield rec
    _wire.stop()


# --- the recorder ------------------------------------------------------------------------------

#: (what happens, each (seconds later, op, bytes) on one lane; the events it makes:
#: (kind, n, count) per event, in order)
MERGES = [
    ("chunks close together make one run", False,
     [(0, "send", 3), (0.01, "send", 4)], [("send", 7, 2)]),
    ("a pause longer than the merge gap starts a new run", False,
     [(0, "send", 3), (0.2, "send", 4)], [("send", 3, 1), ("send", 4, 1)]),
    ("another event on the connection ends the run", False,
     [(0, "send", 3), (0.001, "shutdown", 0), (0.001, "send", 4)], [("send", 3, 1), ("shutdown", 0, 1), ("send", 4, 1)]),
    ("a stream's runs each way go on across the other way's bytes", False,
     [(0, "send", 3), (0.001, "recv", 3), (0.002, "send", 5)], [("send", 8, 2), ("recv", 3, 1)]),
    ("datagrams merge only back to back", True,
     [(0, "send", 3), (0.001, "recv", 3), (0.002, "send", 5)], [("send", 3, 1), ("recv", 3, 1), ("send", 5, 1)]),
    ("a burst of datagrams is one mark", True,
     [(0, "send", 512), (0.001, "send", 512), (0.002, "send", 512)], [("send", 1536, 3)]),
]


@pytest.mark.parametrize("what, datagram, ops, events", MERGES, ids=[m[0] for m in MERGES])
def test_runs_merge(what, datagram, ops, events):
    clock = Clock()
    rec = W.Recorder(clock=clock)
    lane = rec.lane("peer" if datagram else "client", datagram=datagram)
    for later, op, n in ops:
        clock.now += later
        if op in (W.SEND, W.RECV):
            rec.data(lane, op, n, b"x" * n)
        else:
            rec.mark(lane, op)
    got = [(e["kind"], e.get("n", 0), e.get("count", 1)) for e in rec.snapshot()["events"]]
    assert got == events


def test_a_run_knows_its_offsets_span_and_first_bytes():
    clock = Clock()
    rec = W.Recorder(clock=clock)
    lane = rec.lane("client")
    rec.data(lane, W.SEND, 5, b"hello")
    clock.now += 0.3
    rec.data(lane, W.SEND, 20, b"0123456789abcdefghij")
    clock.now += 0.01
    rec.data(lane, W.SEND, 1, b"!")
    first, second = rec.snapshot()["events"]
    assert first == {"t": 0.0, "lane": 0, "kind": "send", "n": 5, "at": 0, "head": "b'hello'"}
    assert second == {"t": 0.3, "lane": 0, "kind": "send", "n": 21, "at": 5, "count": 2,
                      "head": "b'0123456789abcdef'", "until": 0.31}


def test_a_case_keeps_its_first_and_last_events_and_counts_the_rest():
    clock = Clock()
    rec = W.Recorder(head=3, tail=4, clock=clock)
    lane = rec.lane("client")
    for i in range(10):
        clock.now = 100.0 + i
        rec.mark(lane, W.CLOSE, str(i))
    trace = rec.snapshot()
    assert [e["note"] for e in trace["events"]] == ["0", "1", "2", "6", "7", "8", "9"]
    assert trace["omitted"] == 3 and trace["omitted_span"] == [3.0, 5.0]


def test_recording_from_two_threads_loses_nothing():
    rec = W.Recorder(head=10_000, tail=10_000)
    lanes = [rec.lane("client"), rec.lane("upstream")]

    def hammer(lane):
        for _ in range(2000):
            rec.data(lane, W.SEND, 1, b"x")
            rec.mark(lane, W.SHUTDOWN)  # ends the run: one event per byte

    threads = [threading.Thread(target=hammer, args=(lane,)) for lane in lanes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    trace = rec.snapshot()
    sends = Counter(e["lane"] for e in trace["events"] if e["kind"] == W.SEND)
    assert sends == {0: 2000, 1: 2000}
    assert [l["label"] for l in trace["lanes"]] == ["client 1", "upstream 1"]


@pytest.mark.parametrize("got, expected, at", [
    (b"abc", b"abc", None), (b"abd", b"abc", 2), (b"xbc", b"abc", 0), (b"abcd", b"abc", 3),
    (b"ab", b"abc", None), (bytes(1000) + b"\x01", bytes(1001), 1000),
])
def test_first_difference(got, expected, at):
    assert W._first_difference(got, expected) == at


# --- what the helpers record on real sockets ---------------------------------------------------

@pytest.fixture
def listener():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock
    sock.close()


def _address(sock) -> Address:
    return Address("127.0.0.1", sock.getsockname()[1])


def _kinds(trace, lane=0):
    return [e["kind"] for e in trace["events"] if e["lane"] == lane]


def test_without_a_trace_the_client_is_a_plain_socket(listener):
    _wire.stop()
    with _client.connect(_address(listener), FAST) as sock:
        peer, _ = listener.accept()
        with peer:
            sock.sendall(b"hi")
            assert peer.recv(2) == b"hi"
        assert sock._trace_lane is None


def test_an_echo_then_the_peers_close(recorder, listener):
    with _client.connect(_address(listener), FAST) as sock:
        peer, _ = listener.accept()
        with peer:
            sock.sendall(b"ping")
            peer.sendall(peer.recv(4))
            out = _client.exchange(sock, [], count=4, bounds=FAST)
            sock.shutdown(socket.SHUT_WR)
        assert out.received == b"ping"
        assert sock.recv(10) == b""  # the peer closed: EOF
        sock.recv(10)  # a second EOF read records nothing more
    trace = recorder.snapshot()
    assert _kinds(trace) == [W.CONNECT, W.SEND, W.RECV, W.SHUTDOWN, W.EOF, W.CLOSE]
    assert trace["lanes"] == [{"id": 0, "label": "client 1", "role": "client", "sent": 4, "received": 4,
                               "where": f"from port {trace['lanes'][0]['where'].split()[-1]}"}]
    assert "failed" not in trace


def test_a_stall_is_the_bound_that_ran_out(recorder, listener):
    with _client.connect(_address(listener), FAST) as sock:
        peer, _ = listener.accept()
        with peer:
            out = _client.exchange(sock, [b"hello"], count=5, bounds=FAST, half_close=True, until_eof=True)
    assert out.ended == _client.STALLED
    trace = recorder.snapshot()
    assert _kinds(trace) == [W.CONNECT, W.SEND, W.SHUTDOWN, W.BOUND, W.CLOSE]
    bound = next(e for e in trace["events"] if e["kind"] == W.BOUND)
    assert bound["until"] - bound["t"] == pytest.approx(FAST.progress, abs=0.08)
    assert bound["note"] == f"no byte moved for {FAST.progress:g} s: the wait ran out"


def test_a_wrong_byte_is_marked_with_its_offset(recorder, listener):
    with _client.connect(_address(listener), FAST) as sock:
        peer, _ = listener.accept()
        with peer:
            peer.sendall(b"pong")
            out = _client.exchange(sock, [b"ping"], matching=b"ping", bounds=FAST)
    assert out.ended == _client.WRONG
    wrong = [e for e in recorder.snapshot()["events"] if e["kind"] == W.WRONG]
    assert [e["note"] for e in wrong] == ["a byte differs from the one sent (offset 1)"]


def test_a_quiet_window_a_refusal_a_reset_and_an_abort(recorder, listener):
    with _client.connect(_address(listener), FAST) as quiet:
        peer, _ = listener.accept()
        _client.listen_quietly(quiet, FAST.quiet)
        _client.abort(quiet)  # our RST
        peer.close()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, not listening: refused
    with pytest.raises(ConnectionRefusedError):
        _client.connect(_address(closed), FAST)
    closed.close()
    victim = _client.connect(_address(listener), FAST)
    peer, _ = listener.accept()
    _client.abort(peer)  # a plain socket: the peer's RST
    with pytest.raises(ConnectionResetError):
        while victim.recv(10):
            pass
    victim.close()
    trace = recorder.snapshot()
    assert _kinds(trace, 0) == [W.CONNECT, W.WINDOW, W.ABORT]
    assert _kinds(trace, 1) == [W.REFUSED]
    assert _kinds(trace, 2) == [W.CONNECT, W.RESET, W.CLOSE]
    window = next(e for e in trace["events"] if e["kind"] == W.WINDOW)
    assert window["note"].endswith("nothing arrived")


def test_gather_and_a_sender_that_settles(recorder, listener):
    socks = [_client.connect(_address(listener), FAST) for _ in range(2)]
    peers = [listener.accept()[0] for _ in socks]
    try:
        peers[0].sendall(b"ab")
        got = _client.gather(socks, [2, 2], within=0.1)
        assert got == [b"ab", b""]
        pushed = _client.fill_without_reading(socks[0], limit=1 << 30, settle=0.05, bounds=FAST)
        peers[0].sendall(b"cd")
        assert _client.gather(socks, [2, 2], within=0.2) == [b"cd", b""]
    finally:
        for s in socks + peers:
            s.close()
    trace = recorder.snapshot()
    assert _kinds(trace, 0) == [W.CONNECT, W.RECV, W.SEND, W.WINDOW, W.RECV, W.CLOSE]
    assert _kinds(trace, 1) == [W.CONNECT, W.BOUND, W.BOUND, W.CLOSE]  # waited in vain twice
    send = next(e for e in trace["events"] if e["kind"] == W.SEND)
    assert send["n"] == pushed


def test_udp_answers_losses_and_wrong_answers(recorder):
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    address = _address(server)

    def truncating_echo():  # answers two datagrams, the second cut short
        for keep in (None, 2):
            data, peer = server.recvfrom(65536)
            server.sendto(data[:keep], peer)

    thread = threading.Thread(target=truncating_echo)
    thread.start()
    with _udp.udp_socket(address) as sock:
        assert _udp.ask(sock, address, b"whole", wait=1.0).verdict == _udp.ANSWERED
        assert _udp.ask(sock, address, b"truncated", wait=1.0).verdict == _udp.WRONG
        thread.join()
        assert _udp.ask(sock, address, b"lost", wait=0.02, tries=1).verdict == _udp.LOST
    server.close()
    trace = recorder.snapshot()
    assert trace["lanes"][0]["datagram"] is True
    assert _kinds(trace) == [W.SEND, W.RECV, W.SEND, W.RECV, W.WRONG, W.SEND, W.BOUND, W.CLOSE]
    assert [e.get("n") for e in trace["events"] if e["kind"] == W.RECV] == [5, 2]


# --- which connection the case failed on -------------------------------------------------------

@contextlib.contextmanager
def _pair(listener):
    """A traced client connected to ``listener``, and the listener's side of it (closed after)."""
    with _client.connect(_address(listener), FAST) as sock:
        peer, _ = listener.accept()
        with peer:
            yield sock, peer


def _complete(listener):
    with _pair(listener) as (sock, peer):
        sock.sendall(b"ping")
        peer.sendall(peer.recv(4))
        _client.exchange(sock, [], count=4, matching=b"ping", bounds=FAST)


def _eof_early(listener):  # half the echo, then the peer's close
    with _pair(listener) as (sock, peer):
        sock.sendall(b"pi")
        peer.sendall(peer.recv(2)[:1])
        peer.close()
        _client.exchange(sock, [], count=2, bounds=FAST)


def _until_eof_whole(listener):
    with _pair(listener) as (sock, peer):
        sock.sendall(b"ping")
        peer.sendall(peer.recv(4))
        peer.close()
        _client.exchange(sock, [], matching=b"ping", bounds=FAST, until_eof=True)


def _quiet(listener):
    with _pair(listener) as (sock, _):
        _client.listen_quietly(sock, FAST.quiet)


def _noisy(listener):
    with _pair(listener) as (sock, peer):
        peer.sendall(b"hello")
        _client.listen_quietly(sock, FAST.quiet * 4)


def _refused(listener):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    with closed, pytest.raises(ConnectionRefusedError):
        _client.connect(_address(closed), FAST)


def _crowd_one_short(listener):
    socks = [_client.connect(_address(listener), FAST) for _ in range(3)]
    peers = [listener.accept()[0] for _ in socks]
    for i, peer in enumerate(peers):
        peer.sendall(b"ab"[: 2 if i != 1 else 1])
    _client.gather(socks, [2, 2, 2], within=0.1)
    for s in socks + peers:
        s.close()


def _the_last_wait_that_went_wrong(listener):
    with _client.connect(_address(listener), FAST) as one, _client.connect(_address(listener), FAST) as two:
        peers = [listener.accept()[0] for _ in range(2)]
        _client.exchange(one, [b"x"], count=1, bounds=FAST)  # stalls: nobody echoes
        peers[1].sendall(b"y")
        _client.exchange(two, [], count=1, bounds=FAST)  # completes: the suspect stays client 1
        for peer in peers:
            peer.close()


def _push_never_blocked(listener):
    with _pair(listener) as (sock, _):
        _client.fill_without_reading(sock, limit=10, settle=0.05, bounds=FAST)


def _push_blocked(listener):
    with _pair(listener) as (sock, _):
        _client.fill_without_reading(sock, limit=1 << 30, settle=0.05, bounds=FAST)


def _datagram_lost(listener):
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    with server, _udp.udp_socket(_address(server)) as sock:
        _udp.ask(sock, _address(server), b"lost", wait=0.02, tries=1)


def _the_upstream_waited_for(listener):
    _complete(listener)
    _wire.waited(_wire.current().clock() - 0.1, "waited 0.1 s on the fake upstream: in vain")


#: (what the check did, the lanes of its last wait that did not succeed: what the case failed on)
SUSPECTS = [
    ("an exchange that completes", _complete, []),
    ("an exchange cut short by EOF", _eof_early, ["client 1"]),
    ("an echo read until EOF, all of it", _until_eof_whole, []),
    ("a quiet window that stays quiet", _quiet, []),
    ("a quiet window that gets data", _noisy, ["client 1"]),
    ("a refused connect", _refused, ["client 1"]),
    ("a crowd with one member short", _crowd_one_short, ["client 2"]),
    ("the last wait that went wrong, not the last wait", _the_last_wait_that_went_wrong, ["client 1"]),
    ("a push that never blocked", _push_never_blocked, ["client 1"]),
    ("a push that blocked", _push_blocked, []),
    ("a datagram lost", _datagram_lost, ["peer 1"]),
    ("a wait on the fake upstream", _the_upstream_waited_for, ["(check)"]),
]


@pytest.mark.parametrize("what, scene, failed", SUSPECTS, ids=[s[0] for s in SUSPECTS])
def test_a_violation_marks_the_lanes_of_the_last_wait_that_went_wrong(recorder, listener, what, scene, failed):
    scene(listener)
    before = recorder.snapshot()
    assert "failed" not in before  # until the case fails
    plugin._mark_failed_lanes(_verdict.Error(_verdict.OS_ERROR))  # not a violation: nothing marked
    assert "failed" not in recorder.snapshot()
    plugin._mark_failed_lanes(_verdict.Error(_verdict.VIOLATION))
    trace = recorder.snapshot()
    labels = {l["id"]: l["label"] for l in trace["lanes"]} | {-1: "(check)"}
    assert [labels[i] for i in trace.get("failed", [])] == failed
    if failed and failed != ["(check)"]:
        assert {l["label"] for l in trace["lanes"] if l.get("suspect")} >= set(failed)
        shown = _timeline.text(trace, max_lanes=1).splitlines()
        assert shown[1].startswith(f"  {failed[0]} FAILED (sent ")


def test_a_thousand_connections_one_failed():
    """A state machine's thousand connections, the 997th cut short: it is what the text shows
    first and marks, and what the SVG draws marked, whatever else the trace keeps."""
    clock = Clock()
    rec = _wire.start()
    rec.clock, rec.t0 = clock, clock()
    try:
        for n in range(1, 1001):
            lane = rec.lane("client")
            clock.now += 0.001
            rec.mark(lane, W.CONNECT)
            sent = b"\x00\x00" if n == 997 else b"\x00"
            rec.data(lane, W.SEND, len(sent), sent)
            rec.data(lane, W.RECV, 1, b"\x00")
            _wire.exchanged(SimpleNamespace(_trace_lane=lane),
                            _client.Exchanged(b"\x00", _client.EOF if n == 997 else _client.COMPLETE, 0.001,
                                              sent=len(sent), stall=0.1),
                            matching=sent, wanted=len(sent))
            rec.mark(lane, W.CLOSE)
        plugin._mark_failed_lanes(_verdict.Error(_verdict.VIOLATION))
        trace = rec.snapshot()
    finally:
        _wire.stop()
    assert trace["failed"] == [996] and trace["omitted"] > 0
    for limit in (1, 2, 6):
        lines = _timeline.text(trace, max_lanes=limit).splitlines()
        assert lines[1].startswith("  client 997 FAILED (sent 2 B, got 1 B)  ")
        if limit > 1:  # its neighbour, to compare
            assert any(line.startswith("  client 996 (sent 1 B, got 1 B)  ") for line in lines[2:])
        assert lines[-1].startswith(f"  ({1000 - limit} more connections not shown")
    root = ET.fromstring(_timeline.svg(trace))
    failed = [g for g in root.iter(f"{SVG}g") if g.get("data-failed") == "true"]
    assert [g.get("data-label") for g in failed] == ["client 997"]
    label = next(t for t in failed[0].iter(f"{SVG}text") if t.get("class") == "lane-label")
    assert label.get("fill") == _timeline.FAILED
    assert "".join(next(t for t in failed[0].iter(f"{SVG}text") if t.get("class") == "lane-bytes").itertext()
                   ).startswith("sent 2 B · got 1 B")


def test_a_failed_lane_whose_events_were_not_kept_is_still_there():
    rec = W.Recorder(head=2, tail=4)
    lanes = [rec.lane("client") for _ in range(6)]
    for lane in lanes:
        rec.data(lane, W.SEND, 3, b"abc")
        rec.mark(lane, W.CLOSE)
    rec.suspect([lanes[1]])
    rec.fail()
    trace = rec.snapshot()
    assert [l["label"] for l in trace["lanes"]] == ["client 1", "client 2", "client 5", "client 6"]
    assert trace["lanes"][1] == {"id": 1, "label": "client 2", "role": "client", "sent": 3, "received": 0,
                                 "suspect": True}
    assert _timeline.text(trace, max_lanes=2).splitlines()[1] == \
        "  client 2 FAILED (sent 3 B, got 0 B)  (its events were not kept)"


# --- the report's side -------------------------------------------------------------------------

def _fake_report(when="call"):
    return SimpleNamespace(when=when, user_properties=[("verdict", "fail")], sections=[], outcome="failed",
                           longrepr="the message")


@pytest.mark.parametrize("outcome, when, traced", [
    ("fail", "call", True), ("xfail", "call", True), ("error", "teardown", True), ("pass", "call", False),
    ("skip", "call", False), ("fail", "setup", False),
])
def test_only_failures_carry_their_trace_and_nothing_else_changes(recorder, outcome, when, traced):
    lane = recorder.lane("client")
    recorder.mark(lane, W.CONNECT)
    report = _fake_report(when)
    _report.annotate(report, outcome, recorder)
    assert (report.outcome, report.longrepr) == ("failed", "the message")
    assert [k for k, _ in report.user_properties] == ["verdict"] + (["trace"] if traced else [])
    assert [k for k, _ in report.sections] == (["on the wire"] if traced else [])


def test_a_broken_renderer_costs_no_verdict(recorder, monkeypatch):
    recorder.mark(recorder.lane("client"), W.CONNECT)
    monkeypatch.setattr(_timeline, "text", lambda trace: 1 / 0)
    report = _fake_report()
    _report.annotate(report, "fail", recorder)
    assert report.outcome == "failed" and report.sections == [("on the wire", "(no timeline: ZeroDivisionError: "
                                                                              "division by zero)")]


def test_the_trace_ends_with_the_teardown():
    _wire.start()
    plugin._trace_into_report(_fake_report("call"), "pass")
    assert _wire.current() is not None
    plugin._trace_into_report(_fake_report("teardown"), "pass")
    assert _wire.current() is None


# --- the text form -----------------------------------------------------------------------------

HALF_CLOSE = {"lanes": [{"id": 0, "label": "client 1", "role": "client"}], "connections": 1, "omitted": 0,
              "events": [{"t": 0.019, "lane": 0, "kind": "connect"},
                         {"t": 0.02, "lane": 0, "kind": "send", "n": 7, "at": 0, "head": "b'\\x01\\x02'"},
                         {"t": 0.02, "lane": 0, "kind": "shutdown", "note": "FIN"},
                         {"t": 0.021, "lane": 0, "kind": "recv", "n": 7, "at": 0},
                         {"t": 0.021, "lane": 0, "kind": "bound", "until": 2.034, "note": "no byte moved for 2 s"},
                         {"t": 2.034, "lane": 0, "kind": "close"}]}

UDP = {"lanes": [{"id": 0, "label": "peer 1", "role": "peer", "datagram": True}], "connections": 1,
       "roles": {"peer": 1}, "omitted": 0,
       "events": [{"t": 0.0, "lane": 0, "kind": "send", "n": 8192, "at": 0},
                  {"t": 0.001, "lane": 0, "kind": "recv", "n": 4096, "at": 0},
                  {"t": 0.002, "lane": 0, "kind": "send", "n": 1536, "at": 8192, "count": 3},
                  {"t": 0.003, "lane": 0, "kind": "recv", "n": 2, "at": 4096, "head": "b'hi'"}]}


def _many(lanes: int, per_lane: int, notable: int | None = None, omitted: int = 0) -> dict:
    events = [{"t": 0.001 * (i * per_lane + k), "lane": i, "kind": "send", "n": 1, "at": k}
              for i in range(lanes) for k in range(per_lane)]
    if notable is not None:
        events.append({"t": 1.0, "lane": notable, "kind": "reset"})
    trace = {"lanes": [{"id": i, "label": f"client {i + 1}", "role": "client"} for i in range(lanes)],
             "connections": lanes, "events": events, "omitted": omitted}
    if omitted:
        trace["omitted_span"] = [0.5, 0.9]
    return trace


def _failing(trace: dict, *lanes: int, totals: dict | None = None) -> dict:
    """``trace`` with the case failed on ``lanes`` (and the recorder's byte totals per lane id)."""
    with_totals = [{**l, "sent": totals[l["id"]][0], "received": totals[l["id"]][1]} if totals and l["id"] in totals
                   else l for l in trace["lanes"]]
    return {**trace, "lanes": with_totals, "failed": list(lanes)}


# (what, trace, max_lanes, the lines)
TEXTS = [
    ("a half-close that never ends", HALF_CLOSE, 6, [
        "timeline, in seconds since the check began (1 client connection, 6 events):",
        "  client 1 (sent 7 B, got 7 B)  0.019 connect  0.020 sent 7 B  0.020 shutdown (FIN)  0.021 got 7 B  "
        "[0.021-2.034 s: no byte moved for 2 s]  2.034 close"]),
    ("datagrams", UDP, 6, [
        "timeline, in seconds since the check began (1 UDP socket, 4 events):",
        "  peer 1 (sent 9,728 B, got 4,098 B)  0.000 sent a 8,192 B datagram  0.001 got a 4,096 B datagram  "
        "0.002 sent 3 datagrams (1,536 B)  0.003 got a 2 B datagram b'hi'"]),
    ("a long lane is cut in the middle", _many(1, 12), 6, [
        "timeline, in seconds since the check began (1 client connection, 12 events):",
        "  client 1 (sent 12 B, got 0 B)  0.000 sent 1 B  0.001 sent 1 B  0.002 sent 1 B  0.003 sent 1 B  "
        "... 4 more ...  0.008 sent 1 B  0.009 sent 1 B  0.010 sent 1 B  0.011 sent 1 B"]),
    ("lanes beyond the limit, the notable one kept", _many(8, 1, notable=7), 6, [
        "timeline, in seconds since the check began (8 client connections, 9 events):",
        "  client 1 (sent 1 B, got 0 B)  0.000 sent 1 B", "  client 2 (sent 1 B, got 0 B)  0.001 sent 1 B",
        "  client 3 (sent 1 B, got 0 B)  0.002 sent 1 B", "  client 4 (sent 1 B, got 0 B)  0.003 sent 1 B",
        "  client 5 (sent 1 B, got 0 B)  0.004 sent 1 B",
        "  client 8 (sent 1 B, got 0 B)  0.007 sent 1 B  1.000 reset (RST)",
        "  (2 more connections not shown)"]),
    ("events not kept", _many(1, 2, omitted=40), 6, [
        "timeline, in seconds since the check began (1 client connection, 42 events):",
        "  client 1 (sent 2 B, got 0 B)  0.000 sent 1 B  0.001 sent 1 B",
        "  (40 events between 0.500 and 0.900 s not kept)"]),
    ("the recorder's totals, not the kept events'", _failing(_many(1, 2, omitted=40), totals={0: (42, 0)}), 6, [
        "timeline, in seconds since the check began (1 client connection, 42 events):",
        "  client 1 (sent 42 B, got 0 B)  0.000 sent 1 B  0.001 sent 1 B",
        "  (40 events between 0.500 and 0.900 s not kept)"]),
    # the failed lane: first, marked, whatever the limit; the nearest one that went well before it to compare
    ("a failure on a lane no event would pick", _failing(_many(8, 1, notable=1), 5), 2, [
        "timeline, in seconds since the check began (8 client connections, 9 events):",
        "  client 6 FAILED (sent 1 B, got 0 B)  0.005 sent 1 B",
        "  client 5 (sent 1 B, got 0 B)         0.004 sent 1 B",
        "  (6 more connections not shown)"]),
    ("the failed lane alone when only one fits", _failing(_many(8, 1), 5), 1, [
        "timeline, in seconds since the check began (8 client connections, 8 events):",
        "  client 6 FAILED (sent 1 B, got 0 B)  0.005 sent 1 B",
        "  (7 more connections not shown)"]),
    ("the first lane failed: one after it to compare", _failing(_many(8, 1, notable=1), 0), 2, [
        "timeline, in seconds since the check began (8 client connections, 9 events):",
        "  client 1 FAILED (sent 1 B, got 0 B)  0.000 sent 1 B",
        "  client 3 (sent 1 B, got 0 B)         0.002 sent 1 B",
        "  (6 more connections not shown)"]),
    ("a crowd's members failed: those that fit, the others counted", _failing(_many(8, 1), 2, 4, 6), 3, [
        "timeline, in seconds since the check began (8 client connections, 8 events):",
        "  client 3 FAILED (sent 1 B, got 0 B)  0.002 sent 1 B",
        "  client 5 FAILED (sent 1 B, got 0 B)  0.004 sent 1 B",
        "  client 2 (sent 1 B, got 0 B)         0.001 sent 1 B",
        "  (5 more connections not shown, 1 of them failed)"]),
    ("a failure on a wait of the whole check", _failing(dict(HALF_CLOSE, events=HALF_CLOSE["events"] + [
        {"t": 0.5, "lane": -1, "kind": "bound", "until": 2.5, "note": "in vain"}]), -1), 6, [
        "timeline, in seconds since the check began (1 client connection, 7 events):",
        "  (check) FAILED                [0.500-2.500 s: in vain]",
        "  client 1 (sent 7 B, got 7 B)  0.019 connect  0.020 sent 7 B  0.020 shutdown (FIN)  0.021 got 7 B  "
        "[0.021-2.034 s: no byte moved for 2 s]  2.034 close"]),
]


@pytest.mark.parametrize("what, trace, max_lanes, lines", TEXTS, ids=[t[0] for t in TEXTS])
def test_text(what, trace, max_lanes, lines):
    assert _timeline.text(trace, max_lanes=max_lanes).splitlines() == lines


def test_a_wait_of_the_whole_check_has_its_own_line():
    trace = dict(HALF_CLOSE, events=HALF_CLOSE["events"] + [
        {"t": 0.5, "lane": -1, "kind": "bound", "until": 2.5, "note": "waited 2 s on the fake upstream: in vain"}])
    assert _timeline.text(trace).splitlines()[-1] == \
        "  (check)                       [0.500-2.500 s: waited 2 s on the fake upstream: in vain]"


# --- the SVG timeline --------------------------------------------------------------------------

def _parse(svg: str):
    root = ET.fromstring(svg)
    lanes = [g.get("data-label") for g in root.iter(f"{SVG}g") if g.get("class") == "lane"]
    marks = Counter((int(g.get("data-lane")), g.get("data-kind")) for g in root.iter(f"{SVG}g")
                    if g.get("class") == "mark")
    return root, lanes, marks


def _xs(root):
    for el in root.iter():
        for attr in ("x", "cx", "x1", "x2"):
            if el.get(attr) is not None and el.tag != f"{SVG}text":
                yield float(el.get(attr)) + (float(el.get("width", 0)) if attr == "x" else 0)


SVGS = [("half-close", HALF_CLOSE), ("datagrams", UDP), ("crowd", _many(20, 3, notable=15)),
        ("a crowd member failed", _failing(_many(20, 3, notable=15), 17, totals={17: (3 << 20, 1536)})),
        ("events not kept", _many(2, 30, omitted=500)),
        ("the check's wait", dict(HALF_CLOSE, events=HALF_CLOSE["events"] + [
            {"t": 0.5, "lane": -1, "kind": "bound", "until": 2.5, "note": "in vain"}]))]


@pytest.mark.parametrize("what, trace", SVGS, ids=[s[0] for s in SVGS])
def test_svg_draws_every_lane_and_event_it_shows(what, trace):
    svg = _timeline.svg(trace, width=760)
    root, lanes, marks = _parse(svg)
    shown = _timeline.pick_lanes(trace, 12)
    assert lanes == [l["label"] for l in shown]
    ids = {l["id"] for l in shown} | {-1}
    assert marks == Counter((e["lane"], e["kind"]) for e in trace["events"] if e["lane"] in ids)
    assert all(0 <= x <= 760 for x in _xs(root)), "a mark outside the picture"
    assert root.get("viewBox").startswith("0 0 760 ") and root.get("width") is None
    assert len(root.findall(f"{SVG}g/{SVG}path")) >= (1 if trace.get("omitted") else 0)
    if len(trace["lanes"]) > 12:
        assert "client 16" in lanes and "8 more connections not drawn" in svg
    failed = [g.get("data-label") for g in root.iter(f"{SVG}g") if g.get("data-failed") == "true"]
    assert failed == [l["label"] for l in shown if l["id"] in trace.get("failed", [])]
    assert ("the connection the case failed on" in svg) == bool(failed)
    totals = ["".join(t.itertext()) for t in root.iter(f"{SVG}text") if t.get("class") == "lane-bytes"]
    assert len(totals) == len(shown)
    if failed:
        assert "client 18" in lanes and totals[lanes.index("client 18")].startswith("sent 3 MiB · got 1.5 KiB")


def test_svg_standalone_has_a_size_a_caption_and_attributes():
    svg = _timeline.svg(HALF_CLOSE, standalone=True, caption=("title", "the sentence"), attrs={"data-verdict": "serial"})
    root = ET.fromstring(svg)
    assert root.get("width") == "760" and float(root.get("height")) > 100
    assert root.get("data-verdict") == "serial"
    assert [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "caption"] == ["title", "the sentence"]


@pytest.mark.parametrize("instants, gap", [
    ([0.0, 0.001, 0.002, 2.0], None), ([0.0, 0.5, 1.0, 1.5], None), ([0.0, 1.0, 5.0, 6.0], (1.0, 5.0)),
    ([3.0], None),
])
def test_the_time_scale(instants, gap):
    scale = _timeline._Scale(instants, 100.0, 700.0, gap)
    xs = [scale(t) for t in sorted(instants)]
    if len(instants) > 1:
        assert xs[0] == 100.0 and xs[-1] == pytest.approx(700.0)
    assert xs == sorted(xs)
    steps = [b - a for a, b in zip(xs, xs[1:])]
    if instants == [0.0, 0.5, 1.0, 1.5]:
        assert max(steps) - min(steps) < 1e-6  # equal gaps, equal widths
    if instants == [0.0, 0.001, 0.002, 2.0]:
        assert steps[0] > 30 and steps[2] > steps[0]  # a millisecond is visible; 2 s is still the longest
    if gap:
        assert steps[1] == pytest.approx(_timeline._Scale.BREAK) and len(scale.breaks) == 1
    ticks = scale.ticks()
    assert all(abs(a[0] - b[0]) >= 48 for a, b in zip(ticks, ticks[1:]))


@pytest.mark.parametrize("t, label", [(0.0, "0"), (0.0005, "0.5 ms"), (0.25, "250 ms"), (1.0, "1 s"), (12.5, "12.5 s")])
def test_tick_labels(t, label):
    assert _timeline._tick_label(t) == label
