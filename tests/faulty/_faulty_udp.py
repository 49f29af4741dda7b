"""Shared plumbing for the deliberately faulty UDP echo servers in this directory.

Like ``_faulty.py`` (whose argument parsing and signal handling it reuses), everything here
is correct on purpose: the bound UDP socket (address family from --host) and a prompt exit 0
on SIGTERM/SIGINT.  Each faulty server adds exactly one defect in its ``serve(sock)``.

Run a server as ``python NAME.py --host HOST --port PORT`` from this directory.
"""

import os
import signal
import socket
import sys

import _faulty

#: The largest UDP payload (65,535 - 8); 65,507 over IPv4.
MAX_DATAGRAM = 65535


def bind(host, port):
    sock = socket.socket(_faulty.family_for(host), socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


def run(description, serve):
    """Parse --host/--port, bind, run serve(sock) in a daemon thread; exit 0 on a stop signal."""
    args = _faulty.parse_args(description)
    signal.pthread_sigmask(signal.SIG_BLOCK, _faulty._STOP_SIGNALS)
    sock = bind(args.host, args.port)
    _faulty.start_daemon(_faulty._run_server, serve, sock, name="server")
    signal.sigwait(_faulty._STOP_SIGNALS)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(0)
