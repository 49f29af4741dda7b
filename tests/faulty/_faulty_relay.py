"""Shared plumbing for the deliberately faulty TCP relays in this directory.

Like ``_faulty.py`` (whose listening socket, accept loop and signal handling it reuses),
everything here is correct on purpose: --upstream-host/--upstream-port, connecting to the
upstream, and a correct thread-per-direction relay (the reference ``tcp-relay``'s design):
each direction copies until EOF and passes the half-close on; an error in either direction
resets both sockets; both are closed once both directions are done.  Each faulty relay
replaces exactly one piece of this with a defective one (often one step of a ``Pump``).

Run a relay as ``python NAME.py --host H --port P --upstream-host UH --upstream-port UP``.
"""

import socket
import struct
import threading

import _faulty

CONNECT_TIMEOUT = 5.0


def parse_args(description):
    parser = _faulty.argument_parser(description)
    parser.add_argument("--upstream-host", default="127.0.0.1")
    parser.add_argument("--upstream-port", type=int, required=True)
    return parser.parse_args()


def connect_upstream(upstream):
    sock = socket.create_connection(upstream, timeout=CONNECT_TIMEOUT)
    sock.settimeout(None)
    return sock


def abort(sock):
    """Reset (SO_LINGER 0) and wake a thread blocked on the socket (shutdown)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class Pump:
    """One direction of a relayed pair: ``pump(src, dst)`` copies src -> dst until EOF,
    then passes the half-close on; on an error it resets both.  A faulty relay overrides
    one step."""

    def __call__(self, src, dst):
        try:
            while data := src.recv(_faulty.RECV_SIZE):
                self.forward(data, dst)
            self.at_eof(src, dst)
        except OSError as exc:
            self.on_error(src, dst, exc)

    def forward(self, data, dst):
        dst.sendall(data)

    def at_eof(self, src, dst):
        dst.shutdown(socket.SHUT_WR)

    def on_error(self, src, dst, exc):
        abort(src)
        abort(dst)


pump = Pump()


def relay_pair(client, upstream, up=pump, down=pump):
    """Relay one client: ``up`` copies client -> upstream, ``down`` upstream -> client."""
    with client, upstream:
        other = threading.Thread(target=up, args=(client, upstream), daemon=True)
        other.start()
        down(upstream, client)
        other.join()


def relay_client(client, upstream_addr, up=pump, down=pump):
    """Per-client thread: connect upstream (a refusal closes the client), then relay."""
    try:
        upstream = connect_upstream(upstream_addr)
    except OSError:
        client.close()
        return
    relay_pair(client, upstream, up, down)


def serve_threaded(listener, upstream_addr, up=pump, down=pump):
    _faulty.accept_loop(listener, lambda conn: _faulty.start_daemon(
        relay_client, conn, upstream_addr, up, down))


def run(description, serve=None, up=pump, down=pump):
    """Parse the arguments, listen, run serve(listener, (upstream_host, upstream_port)) in a
    daemon thread (an exception there ends the process with status 1); exit 0 on a stop signal.
    Without serve: the correct thread-per-direction relay with these pumps."""
    args = parse_args(description)
    upstream = (args.upstream_host, args.upstream_port)
    if serve is None:
        def serve(listener, upstream_addr):
            serve_threaded(listener, upstream_addr, up, down)
    _faulty.serve_until_stopped(lambda: _faulty.listen(args.host, args.port),
                                lambda listener: serve(listener, upstream))
