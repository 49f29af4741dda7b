"""Shared plumbing for the deliberately faulty TCP relays in this directory.

Like ``_faulty.py`` (whose listening socket, accept loop and signal handling it reuses),
everything here is correct on purpose: --upstream-host/--upstream-port, connecting to the
upstream, and a correct thread-per-direction relay (the reference ``tcp-relay``'s design):
each direction copies until EOF and passes the half-close on; an error in either direction
resets both sockets; both are closed once both directions are done.  Each faulty relay
replaces exactly one piece of this with a defective one.

Run a relay as ``python NAME.py --host H --port P --upstream-host UH --upstream-port UP``.
"""

import argparse
import os
import signal
import socket
import struct
import sys
import threading

import _faulty

CONNECT_TIMEOUT = 5.0


def parse_args(description):
    parser = argparse.ArgumentParser(description=description.strip().splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
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


def pump(src, dst):
    """Copy src -> dst until EOF, then pass the half-close on; on an error reset both."""
    try:
        while data := src.recv(_faulty.RECV_SIZE):
            dst.sendall(data)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        abort(src)
        abort(dst)


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


def run(description, serve):
    """Parse the arguments, listen, run serve(listener, (upstream_host, upstream_port)) in a
    daemon thread (an exception there ends the process with status 1); exit 0 on a stop signal."""
    args = parse_args(description)
    signal.pthread_sigmask(signal.SIG_BLOCK, _faulty._STOP_SIGNALS)
    listener = _faulty.listen(args.host, args.port)
    upstream = (args.upstream_host, args.upstream_port)
    _faulty.start_daemon(_faulty._run_server, lambda lst: serve(lst, upstream), listener, name="server")
    signal.sigwait(_faulty._STOP_SIGNALS)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(0)
