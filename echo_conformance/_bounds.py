"""Every time bound the suite uses, in one place (stretched by ``--timeout-scale``).

Positive waits ("the echo arrives") end as soon as the event happens; the bound only
limits how long a broken server can hold the run, so it is generous.  Negative waits
("nothing arrives") always cost their full length, so each is as short as its margin
allows; the margin is stated next to it.  A correct server on loopback answers in well
under 10 ms even with the machine's other core busy, so a 0.3 s quiet window is a margin
of more than 30x; the defects these windows look for (a banner, a duplicate, a serial
server serving two clients) show up in microseconds or never.

Every field of :class:`Bounds` but ``scale`` is a time in seconds; ``Bounds()`` holds them
at --timeout-scale 1, and the run's bounds are ``Bounds().scaled(factor)``: a plain copy with
every time multiplied, so that reading a field, or ``dataclasses.replace``, does no arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Bounds:
    """The suite's time bounds.  Stretch them with ``scaled``: ``Bounds(scale=3)`` would only
    record a factor that no time has been multiplied by."""

    #: The factor the times below have been stretched by (``scaled``): the case budgets of
    #: ``CASE_BUDGETS`` that are plain seconds are multiplied by it.
    scale: float = 1.0

    # --- process lifecycle -------------------------------------------------------------
    #: A started server must accept a TCP connection (or answer a datagram) within this.
    ready: float = 10.0
    #: After SIGTERM a server gets this long to exit before SIGKILL.
    stop_grace: float = 5.0
    #: ... but to pass lifecycle.sigterm it must exit within this ("a few seconds").
    sigterm_exit: float = 3.0
    #: ... and then free its port: however close to ``sigterm_exit`` it exited, lifecycle.sigterm
    #: gives it at least this long, for a worker it leaves behind to close its copy of the
    #: listener.  The port is probed every 50 ms: ten probes at least.
    port_freed: float = 0.5
    #: One probe of that port: a connection attempt that neither completes nor is refused within
    #: this (a SYN a full backlog dropped) is made again.  A freed port on loopback refuses at
    #: once, in the kernel: a 50x margin over 10 ms.
    port_probe: float = 0.5
    #: The preflight (``_preflight``): a server that answers on the transport it did not declare
    #: (accepts TCP on its port, or echoes a datagram there) while the declared one stays silent
    #: is reported as declaring the wrong transport after this.  A server that serves both binds
    #: them one right after the other at its start, milliseconds apart: a 100x margin over 30 ms.
    wrong_transport: float = 3.0

    # --- positive waits ----------------------------------------------------------------
    #: An expected echo (or EOF) must arrive within this, measured from the last progress.
    progress: float = 2.0
    #: Upper bound on any single exchange, however much data is still flowing.
    exchange: float = 60.0
    #: The longest one MiB of echo may take: an exchange's byte at offset n is due within
    #: ``progress + n / 1 MiB * per_mib`` of its start, so a server that trickles (a byte now
    #: and then, each just inside ``progress``) is judged by its rate, within seconds, rather
    #: than after ``exchange``.  1 s per MiB is the rate ``exchange`` already asked of the
    #: 64 MiB stream (60 s), so no transfer is held to more than before.  Python servers move
    #: 150+ MiB/s on loopback even with both cores busy; the whole tcp.echo.large check (its
    #: 64 MiB generated, sent, echoed and compared) took at most 34 s in a run with both cores
    #: saturated by other runs (load average 35): a 2x margin at worst, 100x usually.  A relay
    #: that sleeps per byte (tens of KiB/s) falls behind within about 2 s, one paced at 512 KiB/s
    #: within about 4 s.
    per_mib: float = 1.0
    #: A SYN that a full listen backlog dropped is sent again by the kernel only after 1 s,
    #: then 3 s, 7 s...  So the client opens a new connection instead when the handshake has
    #: not completed after this long, then twice as long each time (at most ``syn_resend_max``),
    #: until the progress bound.  On loopback an accepted SYN's handshake completes in microseconds,
    #: in the kernel (no server code runs): 3 ms is a 100x margin, and a resend that was not
    #: needed costs one spare SYN.  A correct server with socketserver's backlog of 5 then
    #: takes 1,100 connections in about 2 s, rather than 3 minutes of retransmissions.
    syn_resend: float = 0.003
    #: ... the longest wait for one handshake before the next SYN: a connection the server's
    #: kernel dropped is resent at least 4 times a second.
    syn_resend_max: float = 0.25
    #: A concurrent server must answer another client within this while one client is
    #: idle or not reading.  Healthy servers answer in milliseconds; the defects stall
    #: forever, so 2 s is a 100x+ margin that costs nothing on a healthy server.
    responsive: float = 2.0

    #: A server must release per-connection resources (fds, threads, children) within
    #: this after its clients leave.  Healthy servers take milliseconds; 10 s covers a
    #: machine busy forking a thousand processes for another check, and a leak never ends.
    release: float = 10.0
    #: A crowd of simultaneous connections (1,100, or the 10,000 a server declares) may take
    #: this, plus ``crowd_each`` per connection, to be echoed...
    crowd: float = 10.0
    #: ... as long as some connection's echo completes at least this often: a hung server is
    #: given up on after it.  The echoed connections are spread through the crowd, one in
    #: every 35 of 1,100; a fork server that forks a child per client completes one every
    #: 0.2 s on this machine when quiet, and every second in the slowest CI run seen (370
    #: forks in 10 s): a 5x margin.
    crowd_stall: float = 5.0
    #: The whole crowd may take ``crowd`` plus this much per connection.  A fork
    #: server forks 1,100 times before the newest is served: about 2 s on this 2-core
    #: machine when quiet, 6 s with both cores busy, and once more than 10 s in a CI run (it
    #: served about 370 of them in the 10 s that ``crowd`` alone allowed then).  20 ms per
    #: connection gives 32 s for 1,100: 5x the loaded figure, 3x the CI one.
    crowd_each: float = 0.02

    # --- negative waits ----------------------------------------------------------------
    #: "Nothing more arrives": no banner before the first byte, no extra byte after the echo.
    quiet: float = 0.3
    #: A serial server must send client 2 nothing while client 1 is connected.  Longer than
    #: ``quiet`` because a concurrent server answers client 2 only after a thread/process
    #: start (a fork can take tens of ms on a loaded machine).
    serial_quiet: float = 0.5
    #: tcp.stateful.interleavings watches a connection that a serial server must not serve yet
    #: for this long, at each of its reads.  Cheap and opportunistic (a 5x margin over 10 ms,
    #: paid at every such read): tcp.serial.second-waits is the dedicated check, with
    #: ``serial_quiet``.
    serial_peek: float = 0.05
    #: A client that pushes without reading counts as blocked (the server has stopped taking
    #: its data) once its sends make no progress for this long (``fill_without_reading``'s
    #: settle).  A server on loopback takes data within microseconds while it takes any: the
    #: same 30x margin over 10 ms as ``quiet``, paid once per push.
    push_settle: float = 0.3
    #: ... through a relay, whose own buffers and the fake upstream's (1 MiB of pending echo)
    #: fill too before the client's sends stop: a 50x margin over 10 ms.
    relay_push_settle: float = 0.5
    #: tcp.robust.reset-midstream's first round pushes unread only so that the server's writes
    #: are backed up when the client resets, not to judge anything: a push that stopped early
    #: only backs up less.  5x over 10 ms, paid by each of its 5 clients.
    reset_settle: float = 0.05
    #: A server's counts of processes, zombies, fds and threads are steady (a baseline for
    #: tcp.resources.* and relay.client.reset) once unchanged for this long.  A healthy server
    #: releases a connection's resources within milliseconds of its close: 30x over 10 ms.
    steady_window: float = 0.3

    #: A half-closed client that reads slowly waits this long before it starts reading
    #: (tcp.halfclose.slow-reader, relay.halfclose.*): a server or relay that gives up a fixed
    #: time after the client's EOF (socat's -t: 0.5 s by default) loses what it still holds
    #: when its timer is shorter.  A user who half-closes, then takes "a second or two" to read
    #: is common (a command piped into the client, a loaded machine); a timer longer than this
    #: passes, and HAProxy's and nginx's (tens of seconds) do.  It is paid in full by each of
    #: those three cases.
    halfclose_pause: float = 2.0

    # --- a failing check is as fast as a passing one ------------------------------------
    #: Once a check has failed, the verdict is known: its later waits (Hypothesis shrinking
    #: the failing example to a minimal one, the further sizes of udp.echo.sizes) only pick
    #: what to show, so each lasts this long instead of the full positive bound, and a lost
    #: datagram is sent once.  The same 30x margin as ``quiet``.
    confirm: float = 0.3
    #: ... and all of them together at most this long: after it, Hypothesis keeps the smallest
    #: failing example found so far.  A failure seen at once (a wrong byte) costs milliseconds
    #: per example, so its minimal example is still found; a stall costs ``confirm`` each.
    shrink_budget: float = 3.0

    # --- UDP and relays -------------------------------------------------------------------
    #: The longest one UDP datagram's answer is awaited before the datagram is sent again (a
    #: positive wait: it ends when the answer arrives); the first resend comes after a fifth
    #: of it (0.1 s), then twice as long each time.  Loopback answers take well under 10 ms, a
    #: 10x margin for the first resend (an answer to an earlier send still counts), 50x for
    #: the others; a datagram unanswered after ``_udp.TRIES`` times this (2.5 s) is lost.
    udp_answer: float = 0.5
    #: 16 MiB through a relay and back (relay.throughput).  A Python relay moves it in well
    #: under 1 s on loopback, so 20 s is a 20x+ margin for a loaded machine; a relay that
    #: sleeps per byte or per small read takes 30 s or far longer, and falls
    #: behind the ``per_mib`` rate within seconds, which ends the check there.
    throughput: float = 20.0
    #: A relay whose upstream refuses must close its client's connection within this.  A
    #: relay may retry first: HAProxy's defaults (3 retries, 1 s apart) close after about
    #: 3 s, so 10 s is a 3x margin; a relay that never gives up keeps the client forever.
    upstream_giveup: float = 10.0
    #: The delay line behind a relay in the half-close cases (``Case.delayed_upstream``): each
    #: chunk is echoed this long after it reached the upstream.  A relay acts on its client's
    #: EOF in the same loop trip that reads it, microseconds after the last data; 0.1 s is
    #: a 100x margin for a loaded machine, and a correct relay only waits that much longer.
    upstream_delay: float = 0.1

    # --- a failing run is as fast as a passing one: each case's time budget ----------------
    #: Every case's call must end within its time budget (``_budget``): every blocking helper
    #: of the client clamps its waits to the case's deadline, and a wait cut short ends like
    #: a stall, failing the case "(the case's time budget of X s ran out)".  So a run lasts at
    #: most the sum of its cases' budgets over the workers, plus the servers' starts and stops,
    #: whatever the defect (tests/test_speed.py adds them up: under 20 s for an --impl-cmd run).
    #: Starting a server does not count (``ready`` bounds it).  A case not listed in
    #: ``CASE_BUDGETS`` below gets this: a correct server needs at most its quiet windows
    #: (0.3-0.5 s) and milliseconds of echo -- the slowest such case seen took 0.9 s (a fork
    #: server's 64 clients, with the machine's load at 46); 0.35 s on a quiet machine: 2.5 s
    #: is a 2.8x margin over the worst seen.  A wrong verdict on a correct server is worse than
    #: a slow one on a faulty server: where a budget and the 20 s a failing run should take
    #: disagree, the budget wins (tests/test_speed.py states how far apart they are).
    case_budget: float = 2.5
    #: Once the suite is done with a server (a case's own server at its end, a shared one that
    #: failed, every one at the end of the run), it gets this long after SIGTERM before SIGKILL,
    #: in the background.  No verdict waits on it: it only lets the server remove its files (a
    #: pid file, a Unix socket) as on any stop.  A correct server exits in milliseconds; one
    #: that ignores SIGTERM used to hold every teardown for ``stop_grace``.
    teardown_grace: float = 0.5

    def scaled(self, factor: float) -> Bounds:
        """A copy with every time multiplied by ``factor`` (``--timeout-scale``)."""
        times = {name: getattr(self, name) * factor for name in time_fields()}
        return replace(self, scale=self.scale * factor, **times)


def time_fields() -> list[str]:
    """The names of ``Bounds``' times: every field but ``scale``."""
    return [f.name for f in fields(Bounds) if f.name != "scale"]


# --- what counts as a leak (not a time: not scaled) ------------------------------------------
#: A leak grows with the work; a runtime's own pools do not.  A count of the server's
#: descriptors, threads, processes or zombie children that, after N connections, stands at
#: least ``LEAK_PER_CONNECTION * N`` above its count after the warm-up is a leak; less is a
#: fluctuation.  A leak of one per connection shows as N, one on the reset path alone (every
#: 4th connection of tcp.resources.churn) as N / 4: both at least 2.5x this.  Runtimes that
#: open pipes, timers and worker threads lazily and in bursts (the JVM, Go, libuv) were seen
#: moving by up to 4 descriptors and 1 thread over 1,800 connections without growing, and a
#: fork server that reaps on its next accept leaves one zombie: 300 connections allow 30.
LEAK_PER_CONNECTION = 0.1


def leak_allowance(connections: int) -> int:
    """How far above its post-warm-up count a resource may stand after ``connections``
    more connections without counting as a leak (see ``LEAK_PER_CONNECTION``)."""
    return max(1, int(LEAK_PER_CONNECTION * connections))


# --- the shape of a push (not a time bound: not scaled) --------------------------------------
#: How ``fill_without_reading`` pushes its first ``PACED_BYTES``: a lone byte, a pause of
#: ``PACE`` seconds, then a ``PACED_BLOCK``, and again.  The pause lets the server read the
#: lone byte on its own, as it would a keystroke, so its reads (and so its writes to its own
#: buffers) vary in size as they do for real clients instead of landing on block boundaries.
#: This is what makes a server that blocks writing into a buffer only it can drain (socat's
#: PIPE: a blocking 8 KiB write into its own pipe with one page free) deadlock in every run:
#: pushed in even blocks it deadlocked in 6 of 10 tries, paced like this in 20 of 20 with
#: both cores busy.  The pauses cost 0.13 s per 8 MiB.
PACE = 0.001
PACED_BLOCK = 64 * 1024
PACED_BYTES = 8 * 1024 * 1024


# --- case budgets (seconds at --timeout-scale 1, stretched by it) ------------------------------
#: The cases that legitimately take longer than ``Bounds.case_budget``, each with what a correct
#: server needs (the call only: a server's start is not counted) -- "quiet": this 2-core machine
#: alone; "loaded": the slowest of the bundled servers while other engineers' runs kept the
#: load average at 8-46 -- and the margin that leaves.  A callable takes the (scaled) bounds and
#: the connections the case opens, and returns (scaled) seconds.
CASE_BUDGETS: dict = {
    # SIGTERM, then the exit within ``sigterm_exit`` and the port freed within what is left of
    # it: a server that exits just in time passes; a correct one needs 0.1-0.6 s.
    "lifecycle.sigterm": lambda b, n: b.sigterm_exit + 1.0 * b.scale,
    # Both wait up to ``stop_grace`` for the exit after SIGTERM, as their verdicts ask.
    "lifecycle.exit-status": lambda b, n: b.stop_grace + 0.5 * b.scale,
    "lifecycle.restart": lambda b, n: b.stop_grace + 1.0 * b.scale,
    # 64 clients at once (a fork each): 0.02-0.2 s quiet, 0.8 s loaded.
    # (a server of its own now; a declared capacity serves them group after group)
    "tcp.concurrent.many": 5.0,
    "tcp6.concurrent.many": 5.0,
    # Hypothesis' 25 examples of up to 200 KB: 0.4-0.5 s; a failure shrinks within the rest.
    "tcp.echo.binary": 2.5,
    # 64 MiB each way: 0.4 s quiet, 2.9 s loaded (making the payload is not counted); an
    # asyncio streams server of the corpus ran out of 6 s at load 10.
    "tcp.echo.large": 15.0,
    # 3 x 8 MiB pushed unread (a 0.3 s settle each), then read: 1-1.5 s quiet; 3 s loaded.
    "tcp.halfclose.large": 10.0,
    "tcp6.halfclose.large": 10.0,
    # 32 MiB, half pushed unread (paced), then read: 0.55-0.67 s quiet, 0.86 s loaded.
    "tcp.robust.slow-reader": 4.0,
    # Up to 256 MiB pushed until the send blocks (0.3 s settle): 0.36 s quiet, 0.7 s loaded.
    "tcp.robust.backpressure": 2.5,
    # The half-close pause is paid in full, plus up to 8 MiB: 2.2 s quiet, 2.8 s loaded.
    "tcp.halfclose.slow-reader": lambda b, n: b.halfclose_pause + 2.5 * b.scale,
    "relay.halfclose.slow-reader": lambda b, n: b.halfclose_pause + 2.5 * b.scale,
    "relay.halfclose.slow-upstream": lambda b, n: b.halfclose_pause + 2.5 * b.scale,
    # 350 connect/echo/close cycles, two settle windows: 0.9 s quiet, 3 s loaded (a fork server);
    # a super-server that forks and execs cat(1) per connection ran out of 6 s loaded: 3 s
    # plus 30 ms a cycle.
    "tcp.resources.churn": lambda b, n: (3.0 + 350 * 0.03) * b.scale,
    # A warm-up, a settle window, up to 256 MiB pushed unread: 1 s quiet, 1.8 s loaded.
    "tcp.resources.memory": 4.0,
    # 25 runs of up to 20 steps on 4 connections: 0.9 s quiet, 4.5 s loaded (a serial server).
    "tcp.stateful.interleavings": 12.0,
    # 1,100 connections opened and held: about 2 s for a fork server on a quiet machine, 6 s
    # with both cores busy, 13-15 s loaded (a budget of 15 s once ran out); event loops take
    # 0.3-3 s for 10,000.  5 s plus 11 ms per connection (a fork server needs 2-14 ms): 17 s,
    # 1.7x the 10 s seen in CI, and with the run's own start below the 20 s a whole run may take.
    "tcp.scale.connections": lambda b, n: (5.0 + n * 0.011) * b.scale,
    # A pool's capacity occupied, then the serial window: 0.6-0.8 s, 1.8 s loaded.
    "tcp.capacity.surplus-waits": 3.0,
    "tcp.capacity.surplus-served": 3.0,
    # The serial window (0.5 s) and two echoes: 0.5-0.9 s.
    "tcp.serial.second-waits": 2.5,
    # 16 MiB through the relay and back: 0.7-1 s.
    "relay.throughput": 4.0,
    # A relay may retry a refused upstream first (HAProxy: about 3 s); others close at once.
    "relay.upstream.refused": 5.0,
    # 100 clients relayed and reset, then a settle window: 0.7-0.9 s (a relay forking per client
    # takes several times that loaded).
    "relay.client.reset": 8.0,
    # A client pushing unread through the relay, and the relay's memory: 0.7-1.1 s.
    "relay.backpressure": 2.5,
    # 2 x 1 MiB through two relays and the delay line (0.1 s a chunk): 0.6-1 s (the second
    # relay's start is not counted).
    "relay.chain": 6.0,
    # A datagram is called lost only after 5 tries over 5 x ``udp_answer`` (2.5 s): each UDP
    # case may need that once, for a datagram the kernel dropped.  A correct server: 0.2-0.9 s.
    "udp.echo.exact": lambda b, n: 5 * b.udp_answer,
    "udp.echo.sizes": lambda b, n: 5 * b.udp_answer,
    "udp.echo.boundaries": lambda b, n: 5 * b.udp_answer,
    # udp.echo.peers judges where answers go, not losses: a lossy server spends every try.
    "udp.echo.peers": lambda b, n: 5 * b.udp_answer + 1.0 * b.scale,
    "udp.echo.burst": lambda b, n: 5 * b.udp_answer,
}


def case_budget(bounds: Bounds, case_id: str, connections: int = 1100) -> float:
    """The time budget of case ``case_id`` (scaled), opening ``connections`` at most."""
    entry = CASE_BUDGETS.get(case_id)
    if entry is None:
        return bounds.case_budget
    return entry(bounds, connections) if callable(entry) else entry * bounds.scale

