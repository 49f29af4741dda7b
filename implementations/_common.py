"""Shared plumbing: command line, logging, the bound socket every server opens, stop signals."""

import argparse
import logging
import signal
import socket
import sys
import threading

# The suite opens over a thousand connections at once; a small backlog (socketserver's
# default is 5) makes the kernel drop SYNs and clients stall in retransmits.
# The kernel silently caps this at net.core.somaxconn.
BACKLOG = max(socket.SOMAXCONN, 1024)


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def parse_args(doc, default_port, relay=False, count=None):
    """Parse --host/--port/-v (plus --upstream-host/--upstream-port for relays, and
    count=(option, default, meaning) for a server with a pool, e.g. --workers) and set
    up logging: WARNING by default, DEBUG with -v, always to stderr."""
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on, IPv4 or IPv6 (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=default_port,
                        help=f"port to listen on (default {default_port})")
    if relay:
        parser.add_argument("--upstream-host", default="127.0.0.1",
                            help="echo server to relay to (default 127.0.0.1)")
        parser.add_argument("--upstream-port", type=int, default=2007,
                            help="its port (default 2007)")
    if count:
        option, default, meaning = count
        parser.add_argument(option, type=_positive, default=default, metavar="N",
                            help=f"{meaning} (default {default})")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="debug logging (one line per connection) to stderr")
    args = parser.parse_args()
    # stdout stays silent: all diagnostics go to stderr through logging.
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return args


def resolve(host, port, kind=socket.SOCK_STREAM):
    """Return (family, sockaddr) for host:port; '::1' gives AF_INET6, '127.0.0.1' AF_INET."""
    family, _, _, _, sockaddr = socket.getaddrinfo(host, port, socket.AF_UNSPEC, kind,
                                                   0, socket.AI_PASSIVE)[0]
    return family, sockaddr


def no_delay(*socks):
    """Turn Nagle's algorithm off on a relay's sockets: pass each piece on at once.

    With Nagle, a small write waits while an earlier one is unacknowledged, and the receiver
    may hold its ACK back for up to 40 ms (delayed ACK).  A relay that reads a message in two
    pieces and writes each as it comes would add that wait to the message."""
    for sock in socks:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def bind(host, port, kind=socket.SOCK_STREAM, listen=True, reuse_port=False):
    """A socket bound to host:port: how every server opens its port.

    TCP: with SO_REUSEADDR, and listening with a large backlog, unless listen=False (echo_prefork
    forks its workers first).  reuse_port=True adds SO_REUSEPORT, to join a group of sockets on
    one port (echo_reactors_processes).  UDP (kind=socket.SOCK_DGRAM): bound, nothing more.
    """
    family, sockaddr = resolve(host, port, kind)
    sock = socket.socket(family, kind)
    try:
        if kind == socket.SOCK_STREAM:
            # SO_REUSEADDR before bind(): connections of a previous run linger in TIME_WAIT for a
            # minute, and without it a restart on the same port fails with EADDRINUSE.  Not for
            # UDP: it has no TIME_WAIT to wait out, and on Linux the option would let a second
            # server bind the same port and steal datagrams.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(sockaddr)
        if listen and kind == socket.SOCK_STREAM:
            sock.listen(BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


class Shutdown(BaseException):
    """Raised in the main thread when SIGTERM or SIGINT arrives.

    A BaseException, so that `except Exception` in a request handler does not
    swallow it.
    """


def _raise_shutdown(signum, frame):
    # Ignore further stop signals: a second SIGTERM during cleanup must not
    # raise again and end the process with a traceback.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Shutdown(signum)


STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def start_thread(target, *args):
    """Start a daemon thread that never receives SIGTERM/SIGINT.

    The kernel hands a signal sent to the process to any one thread that does not block
    it, and Python runs handlers only in the main thread: a SIGTERM that lands on a
    worker thread leaves a main thread blocked in accept() asleep until the next client
    arrives.  A new thread inherits the signal mask of the thread that starts it, so
    blocking the stop signals around start() keeps them for the main thread alone.
    Daemon: connected clients must not keep the process alive on exit.
    """
    thread = threading.Thread(target=target, args=args, daemon=True)
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    return thread


def run(serve, args):
    """Call serve(args) until SIGTERM/SIGINT, then return exit status 0.

    serve() creates its listening socket itself, after the handlers below are
    installed: a harness may send SIGTERM as soon as the port accepts.

    Python runs signal handlers in the main thread. A handler that raises
    interrupts a blocking accept()/recv()/poll() there (PEP 475 retries the
    call only when the handler returns normally), so the server stops at once
    even while clients are connected. serve() cleans up with `with`/`finally`.
    """
    signal.signal(signal.SIGTERM, _raise_shutdown)
    signal.signal(signal.SIGINT, _raise_shutdown)
    log = logging.getLogger(__name__)
    try:
        serve(args)
    except Shutdown:
        log.debug("stop signal received, exiting")
    except OSError as exc:  # fatal, e.g. bind(): Address already in use
        log.error("%s", exc)
        return 1
    return 0
