"""Shared plumbing for the deliberately faulty echo servers in this directory.

Everything here is correct on purpose: argument parsing, the listening socket
(SO_REUSEADDR, backlog 1024, address family picked from --host), the accept
loop, a correct per-connection echo loop, and signal handling (exit 0 promptly
on SIGTERM/SIGINT, even with clients connected).  Each faulty server adds
exactly one defect on top of this, so a failing check points at that defect.

Run a server as ``python NAME.py --host HOST --port PORT`` from this directory.
"""

import argparse
import errno
import os
import signal
import socket
import sys
import threading
import time
import traceback

BACKLOG = 1024
RECV_SIZE = 65536
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
# accept() errors that mean "try again later" (resource pressure) or "that
# client is already gone"; anything else is a bug and ends the process.
_ACCEPT_RETRY = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_ACCEPT_SKIP = {errno.ECONNABORTED, errno.EPROTO, errno.EPERM}


def parse_args(description=None, argv=None):
    summary = description.strip().splitlines()[0] if description else None
    parser = argparse.ArgumentParser(description=summary)
    parser.add_argument("--host", default="127.0.0.1", help="127.0.0.1 or ::1")
    parser.add_argument("--port", type=int, required=True)
    return parser.parse_args(argv)


def family_for(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listen(host, port, backlog=BACKLOG):
    """A bound, listening TCP socket for host:port (family from the host)."""
    family = family_for(host)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def start_daemon(target, *args, name=None):
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    thread.start()
    return thread


def accept(listener):
    """accept() that returns None instead of raising for transient errors.

    Sleeps briefly on resource exhaustion so a full fd table cannot make the
    caller spin.  A non-blocking listener with nothing pending also gives None.
    """
    try:
        conn, _addr = listener.accept()
        return conn
    except (BlockingIOError, InterruptedError):
        return None
    except OSError as exc:
        if exc.errno in _ACCEPT_RETRY:
            time.sleep(0.1)
            return None
        if exc.errno in _ACCEPT_SKIP:
            return None
        raise


def accept_loop(listener, on_accept):
    """Accept forever on a blocking listener, passing each connection on."""
    while True:
        conn = accept(listener)
        if conn is not None:
            on_accept(conn)


def echo_until_eof(conn):
    """The correct echo loop: send back everything until the client's EOF."""
    while True:
        data = conn.recv(RECV_SIZE)
        if not data:
            return
        conn.sendall(data)


def handle_and_close(conn, handler):
    """Run handler(conn); network errors end that connection only; always close."""
    try:
        handler(conn)
    except OSError:
        pass
    finally:
        conn.close()


def serve_threaded(listener, handler):
    """Thread per connection: handler(conn) in a daemon thread, then close."""
    accept_loop(listener, lambda conn: start_daemon(handle_and_close, conn, handler))


def _run_server(serve, listener):
    try:
        serve(listener)
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    os._exit(1)  # serve() is not supposed to return


def run(description, serve):
    """Parse --host/--port, listen, run serve(listener) in a daemon thread.

    The stop signals are blocked before any thread starts (threads inherit the
    mask), so only the main thread's sigwait() sees them, however busy or
    blocked the server threads are; it then exits 0 at once.
    """
    args = parse_args(description)
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    listener = listen(args.host, args.port)
    start_daemon(_run_server, serve, listener, name="server")
    signal.sigwait(_STOP_SIGNALS)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(0)


def run_threaded(description, handler):
    """run() a thread-per-connection server around handler(conn)."""
    run(description, lambda listener: serve_threaded(listener, handler))
