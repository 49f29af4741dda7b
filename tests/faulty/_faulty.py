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
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
# accept() errors that mean "try again later" (resource pressure) or "that
# client is already gone"; anything else is a bug and ends the process.
_ACCEPT_RETRY = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_ACCEPT_SKIP = {errno.ECONNABORTED, errno.EPROTO, errno.EPERM}


def argument_parser(description=None):
    """--host and --port; description is a docstring (its first line is shown)."""
    summary = description.strip().splitlines()[0] if description else None
    parser = argparse.ArgumentParser(description=summary)
    parser.add_argument("--host", default="127.0.0.1", help="127.0.0.1 or ::1")
    parser.add_argument("--port", type=int, required=True)
    return parser


def parse_args(description=None, argv=None):
    return argument_parser(description).parse_args(argv)


def family_for(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def new_socket(host, kind=socket.SOCK_STREAM):
    """A socket of the host's address family (IPv6-only for an IPv6 host)."""
    family = family_for(host)
    sock = socket.socket(family, kind)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    return sock


def bind(sock, host, port, backlog=None):
    """Bind sock to host:port (and listen, given a backlog); close it if that fails."""
    try:
        sock.bind((host, port))
        if backlog is not None:
            sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def listen(host, port):
    """A bound, listening TCP socket for host:port (family from the host)."""
    sock = new_socket(host)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return bind(sock, host, port, BACKLOG)


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


def _run_server(serve, sock):
    try:
        serve(sock)
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    os._exit(1)  # serve() is not supposed to return


def serve_until_stopped(open_socket, serve):
    """Run serve(open_socket()) in a daemon thread; exit 0 at once on SIGTERM/SIGINT.

    The stop signals are blocked before the socket is opened and any thread
    starts (threads inherit the mask), so only the main thread's sigwait() sees
    them, however busy or blocked the server threads are.  An exception in
    serve() ends the process with status 1.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    sock = open_socket()
    start_daemon(_run_server, serve, sock, name="server")
    signal.sigwait(STOP_SIGNALS)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(0)


def run(description, serve, listen=listen):
    """Parse --host/--port, listen (with listen(host, port)), run serve(listener)."""
    args = parse_args(description)
    serve_until_stopped(lambda: listen(args.host, args.port), serve)


def run_threaded(description, handler, listen=listen):
    """run() a thread-per-connection server around handler(conn)."""
    run(description, lambda listener: serve_threaded(listener, handler), listen)
