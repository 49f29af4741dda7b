"""The scaffolding every beginner server in this directory writes the same way, and none of
them gets wrong: reading --host and --port (and a relay's --upstream-host and
--upstream-port), opening the listening TCP socket, the thread-per-client accept loop, and
a correct copy loop, for the servers whose mistake is elsewhere (in how they serve clients,
not in what they send back).

It is written here once so that each server's file holds only its own part: the code with
its mistake, and what a beginner writes around it.  A server whose mistake lies in this
scaffolding (how it accepts, how it starts a thread, serving one client at a time) writes
that part itself.  Run a server as ``python NAME.py --host HOST --port PORT``; Python puts
the script's directory on the import path, so ``import _beginner`` works from anywhere.
"""

import argparse
import socket
import threading


def parse_args(relay=False):
    """--host and --port (what the tutorials use as defaults); for a relay, also where its
    upstream is."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    if relay:
        parser.add_argument("--upstream-host", default="127.0.0.1")
        parser.add_argument("--upstream-port", type=int, default=7)
    return parser.parse_args()


def listen(host, port, backlog=128):
    """A blocking IPv4 TCP socket listening on host:port, with SO_REUSEADDR (so that a restart
    can bind again at once).  128 is what listen() picks without an argument."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, port))
    server.listen(backlog)
    return server


def serve_in_threads(server, handle):
    """Accept forever, each connection handled by handle(conn) in its own daemon thread."""
    while True:
        conn, addr = server.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def copy(src, dst, size=1024):
    """Send to dst what src receives, recv(size) at a time, until src's EOF; a reset or any
    other socket error ends the copy too."""
    try:
        while True:
            data = src.recv(size)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass


def echo(conn):
    """Echo what conn receives until the client's EOF (or a socket error), then close it."""
    with conn:
        copy(conn, conn)
