"""Which server a check talks to: one shared per worker, or a fresh one of its own.

Checks that do not disturb a server share one instance per implementation per xdist
worker (started on first use); destructive and process-inspecting checks get their own.
A shared server that failed a check is thrown away, so one verdict never leaks into the
next check's.  A relay is started in front of a bundled echo server (the upstream).

Stopping a server the suite is done with does not hold up the next check: its keeper is told
to stop it (SIGTERM, then SIGKILL after ``teardown_grace``) and does so in the background; the
pool waits for all of them, in parallel, only when it closes.
"""

from __future__ import annotations


from ._address import Address
from ._bounds import Bounds
from ._launch import Server, free_port
from ._registry import PACKAGE_HOME, Implementation, make

#: The echo server relays are tested in front of: the bundled poll loop. It starts fast, holds
#: the relayed connections of the scale check without a thread each, and echoes on its next
#: trip through the loop, not at once: a relay that loses the echo still in flight when its
#: client half-closes (nginx's default proxy_half_close off) is caught only while it is.
UPSTREAM = make("upstream-echo", "{python} -m echo_conformance.implementations.echo_poll --host {host} --port {port}",
                cwd=PACKAGE_HOME)


class Pool:
    def __init__(self, bounds: Bounds, upstream: Implementation = UPSTREAM) -> None:
        self.bounds = bounds
        self.upstream_impl = upstream
        self._shared: dict[tuple[str, str, str], Server] = {}
        self._fresh: list[Server] = []
        self._stopping: list[Server] = []  # told to stop, maybe not gone yet

    def _launch(self, impl: Implementation, host: str, transport: str, upstream: Address | None = None,
                port: int | None = None) -> Server:
        if impl.kind == "relay" and upstream is None:
            upstream = self.shared(self.upstream_impl, "127.0.0.1", "tcp").address
        return Server(impl, Address(host, port or free_port()), self.bounds, upstream).start(transport)

    def shared(self, impl: Implementation, host: str = "127.0.0.1", transport: str = "tcp") -> Server:
        key = (impl.name, host, transport)
        server = self._shared.get(key)
        if server is None or not server.alive():
            if server is not None:
                self._stop_soon(server)
            server = self._shared[key] = self._launch(impl, host, transport)
        return server

    def fresh(self, impl: Implementation, host: str = "127.0.0.1", transport: str = "tcp",
              upstream: Address | None = None, port: int | None = None) -> Server:
        server = self._launch(impl, host, transport, upstream, port)
        self._fresh.append(server)
        return server

    def _stop_soon(self, server: Server) -> None:
        """Have ``server`` stopped in the background (no check waits for its exit any more)."""
        server.request_stop(self.bounds.teardown_grace)
        for gone in [s for s in self._stopping if s.stopped()]:
            gone.stop()  # returns at once: only its output file is left to remove
            self._stopping.remove(gone)
        self._stopping.append(server)

    def release(self, server: Server) -> None:
        self._stop_soon(server)
        if server in self._fresh:
            self._fresh.remove(server)

    def discard(self, impl: Implementation) -> None:
        """Forget (and stop) every shared instance of ``impl``: it failed a check."""
        for key in [k for k in self._shared if k[0] == impl.name]:
            self._stop_soon(self._shared.pop(key))

    def close(self) -> None:
        servers = [*self._shared.values(), *self._fresh]
        for server in servers:  # all at once: each keeper stops its server in parallel
            server.request_stop(self.bounds.teardown_grace)
        for server in [*servers, *self._stopping]:
            server.stop(self.bounds.teardown_grace)
        self._shared.clear()
        self._fresh.clear()
        self._stopping.clear()
