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
How each margin was measured: docs/checks.md, "How the bounds were chosen".
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Bounds:
    """The suite's time bounds.  Stretch them with ``scaled``: ``Bounds(scale=3)`` would only
    record a factor that no time has been multiplied by."""

    #: The factor the times below have been stretched by (``scaled``): a case budget declared
    #: in plain seconds (``Case.budget``) is multiplied by it.
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
    #: listener.  The port is probed every ``port_poll``: ten probes at least.
    port_freed: float = 0.5
    #: ... probed this often (no event says "the last listener closed").
    port_poll: float = 0.05
    #: One TCP probe of a server's port (listening yet? freed yet?): a connection attempt that
    #: neither completes nor is refused within this (a SYN a full backlog dropped) is made again.
    #: Loopback accepts or refuses at once, in the kernel: a 50x margin over 10 ms.
    port_probe: float = 0.5
    #: A starting server's port is probed again this often (no event says "it listens now"): a
    #: ready server waits at most this much longer.
    ready_poll: float = 0.02
    #: One UDP probe of a starting server waits this long for its answer; silence means the
    #: port is bound (an unbound one is refused at once, by the kernel): 10x over 10 ms.
    ready_probe_udp: float = 0.1
    #: The keeper, once the server's grace has run out, kills it and exits within milliseconds;
    #: after this much longer it is killed itself.
    keeper_exit: float = 5.0
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
    #: ``progress + n / 1 MiB * per_mib`` of its start, so a server that trickles is judged by
    #: its rate, within seconds, not after ``exchange``.  Python servers move 150+ MiB/s on
    #: loopback: a 100x margin, 2x at the worst load seen.
    per_mib: float = 1.0
    #: A SYN a full listen backlog dropped is resent by the kernel only after 1 s, 3 s, 7 s...,
    #: so ``_client.connect`` starts over on a new socket when the handshake has not completed
    #: after this long, then twice as long each time (``syn_resend_max``), until ``progress``.
    #: A loopback handshake completes in microseconds, in the kernel: a 100x margin.
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
    #: ... but a release that has not brought any count down for this long has stopped: a leak
    #: stays where it is.  A correct server's counts fall within milliseconds of its clients'
    #: closes, within a second loaded; a fork server reaps every 50 ms: a 4x margin at least.
    release_stall: float = 4.0
    #: A crowd of simultaneous connections (tcp.scale.connections) may take this, plus
    #: ``crowd_each`` per connection, to be echoed...
    crowd: float = 10.0
    #: ... as long as some connection's echo completes at least this often (a hung server is
    #: given up on after it): a fork server completes one every second at worst: a 5x margin.
    crowd_stall: float = 5.0
    #: ... plus this much per connection: 32 s for the default crowd, which a fork server
    #: serves in 2 s quiet, 6 s loaded, 10+ s in the slowest CI run: a 3x margin at worst.
    crowd_each: float = 0.02
    #: Clients connected at once (tcp.concurrent.many) wait this long before any sends: the
    #: server has accepted them all, so a handler that writes to another connection (the newest
    #: one, through a shared variable) shows every run.  Accepting 64 takes milliseconds.
    crowd_accepted: float = 0.1

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

    #: A half-closed client that reads slowly, as users do, waits this long before it reads
    #: (tcp.halfclose.slow-reader, relay.halfclose.*): a server or relay that gives up sooner
    #: after the client's EOF (socat's -t, 0.5 s) loses what it holds; HAProxy's and nginx's
    #: timers (tens of seconds) pass.  Paid in full by each of the three cases.
    halfclose_pause: float = 2.0

    # --- idle CPU (tcp.idle.*, udp.idle.*) ----------------------------------------------
    #: Once the scene is set (the warm-up client gone, the silent clients echoed once), the
    #: server's tree is left alone this long before its first window: the burst of work that
    #: follows the last activity is over within it (a fork-per-connection server forking the
    #: handlers of clients that just connected: up to 90% of a core at once, ~0 0.2 s later).
    #: Not a verdict's margin: a burst that outlasts it only costs a window more.
    idle_pause: float = 0.2
    #: ... then the tree's time runnable is read over consecutive windows this long (a positive
    #: wait: the first window below ``IDLE_SHARE`` passes; ``IDLE_WINDOWS`` in a row at or above
    #: it fail).  A spinning thread was runnable 92-105% of every 0.5 s window with the other
    #: core busy (load 10-177); a correct server at most 21.8% of any window.
    idle_window: float = 0.5

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
    #: The longest one datagram's answer is awaited before it is sent again (a positive wait);
    #: the first resend comes after a fifth of it, then twice as long each time.  Loopback
    #: answers take well under 10 ms: 10x for the first resend, 50x for the others.  Unanswered
    #: after ``_udp.TRIES`` times this, a datagram is lost.
    udp_answer: float = 0.5
    #: 16 MiB through a relay and back (relay.throughput).  A Python relay moves it in well
    #: under 1 s on loopback: a 20x+ margin; one that sleeps per byte falls behind the
    #: ``per_mib`` rate within seconds, which ends the check there.
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
    #: A case's call ends within its time budget (``_budget``): a wait the deadline cuts short
    #: fails the case.  A case that declares none (``Case.budget``) gets this: a correct server
    #: needs its quiet windows and milliseconds of echo, 0.9 s at the worst load seen: 2.8x.
    case_budget: float = 2.5
    #: A server the suite is done with gets this long after SIGTERM before SIGKILL, in the
    #: background: no verdict waits on it, it only lets the server remove its files (a pid
    #: file, a Unix socket).  A correct server exits in milliseconds.
    teardown_grace: float = 0.5

    def scaled(self, factor: float) -> Bounds:
        """A copy with every time multiplied by ``factor`` (``--timeout-scale``)."""
        times = {name: getattr(self, name) * factor for name in time_fields()}
        return replace(self, scale=self.scale * factor, **times)


def time_fields() -> list[str]:
    """The names of ``Bounds``' times: every field but ``scale``."""
    return [f.name for f in fields(Bounds) if f.name != "scale"]


# --- what counts as a leak (not a time: not scaled) ------------------------------------------
#: A count of the server's descriptors, threads, processes or zombie children that, after N
#: connections, stands ``LEAK_PER_CONNECTION * N`` or more above its count after the warm-up
#: is a leak (a runtime's own pools do not grow with the work): a leak on every connection, or
#: on the reset path alone (every 4th), is 2.5x this or more.
LEAK_PER_CONNECTION = 0.1


def leak_allowance(connections: int) -> int:
    """How far above its post-warm-up count a resource may stand after ``connections``
    more connections without counting as a leak (see ``LEAK_PER_CONNECTION``)."""
    return max(1, int(LEAK_PER_CONNECTION * connections))


# --- what counts as busy while idle (not times: not scaled) ---------------------------------
#: The share of one core a server's tree may be runnable (on a CPU, or waiting in a run queue
#: for one: ``_process.runnable``) in a window while it has nothing to do.  Runnable, not CPU:
#: a spinning thread is runnable all the time however loaded the machine, while the CPU it gets
#: fell to 13-54% of a core under load.  Correct servers (the bundled ones and the interop
#: corpus: JVM, Go, Node, Erlang, uvloop, gevent, Twisted...) were runnable at most 21.8% of a
#: window from ``Bounds.idle_pause`` on (a JVM's threads waking, queued for a CPU; load 6-177,
#: the other core busy): 1.8x under the bound, and a false alarm takes ``IDLE_WINDOWS`` such
#: windows in a row; one spinning thread at least 91.8%: 2.3x over it.  Where the kernel keeps
#: no schedstat, the CPU share is held to the same bound: never a false alarm, but a spinner
#: starved of CPU may pass.
IDLE_SHARE = 0.40
#: How many windows in a row at or above ``IDLE_SHARE`` fail: 2 s of it.  A correct server's
#: burst after work ends within ``Bounds.idle_pause``; a spinner never ends.
IDLE_WINDOWS = 4


# --- the shape of a push (not a time bound: not scaled) --------------------------------------
#: How ``fill_without_reading`` pushes its first ``PACED_BYTES``: a lone byte, a pause of
#: ``PACE`` seconds, then a ``PACED_BLOCK``, and again, so that the server's reads vary in size
#: as real clients' do: a server that blocks writing into a buffer only it can drain (socat's
#: PIPE) then deadlocks in every run.  The pauses cost 0.13 s per 8 MiB.
PACE = 0.001
PACED_BLOCK = 64 * 1024
PACED_BYTES = 8 * 1024 * 1024
