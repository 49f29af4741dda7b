"""Shared plumbing for the control servers in this directory: servers that serve nothing.

Every case must fail them or say it could not test them; a case that passes one passes a
server for something it did not do.  Apart from not serving, each behaves: it listens with
SO_REUSEADDR on --host/--port (IPv6-only for an IPv6 host) and exits 0 at once on SIGTERM or
SIGINT.  A relay control takes --upstream-host/--upstream-port as well.

Run a control as ``python NAME.py [--udp] --host HOST --port PORT`` from this directory.
"""

import argparse
import os
import signal
import socket
import threading


def parse_args(description):
    parser = argparse.ArgumentParser(description=description.strip().splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--udp", action="store_true", help="a UDP socket instead of a TCP listener")
    parser.add_argument("--upstream-host", help="a relay's upstream (a relay control)")
    parser.add_argument("--upstream-port", type=int)
    return parser.parse_args()


def bind(args):
    """The bound socket: a TCP listener, or with --udp a UDP socket."""
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM if args.udp else socket.SOCK_STREAM)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    if not args.udp:
        sock.listen(1024)
    return sock


def run(description, serve):
    """Bind, run serve(sock, args) in a thread; exit 0 when it returns or on SIGTERM/SIGINT."""
    args = parse_args(description)
    stops = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stops)  # only the main thread's sigwait sees them
    sock = bind(args)

    def serve_then_exit():
        serve(sock, args)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=serve_then_exit, daemon=True).start()
    signal.sigwait(stops)
    os._exit(0)
