"""Reactors-in-processes TCP echo server: N worker processes, each a poll loop (nginx).

Model 10 (one loop per process). The parent opens one listening socket per
worker, all bound to the same port with SO_REUSEPORT, forks N workers (--workers,
default one per CPU) and then only supervises. Each worker runs a reactor on
its own socket; the kernel spreads new connections over the sockets by a hash
of the addresses, so no two workers ever compete for a connection (no
thundering herd, no accept lock) and nothing is shared but the port.

Clients block each other only within one process: a slow handler delays the
other connections of its worker. The cost: N processes (no GIL between them,
so N CPUs' worth of Python), and no shared state -- a connection lives and
dies in one worker.

The traps of SO_REUSEPORT, and what this server does about them:
- Each socket has its own accept queue. Had each worker bound its own socket,
  the connections waiting in a dying worker's queue would be reset with it.
  Here the parent holds every socket (nginx does the same): a dead worker's
  queue waits for its replacement, which inherits the same socket. (On stop
  they are reset; Linux >= 5.14 can instead move them to the other sockets of
  the group: sysctl net.ipv4.tcp_migrate_req=1.)
- Any process of the same user may bind the same port with SO_REUSEPORT, and
  a second server started there by mistake would silently get a share of the
  connections. So the parent first binds the port once without it: that fails
  with "Address already in use" if anything listens there.
The parent replaces a worker that dies, and on SIGTERM/SIGINT stops and reaps
every worker before it exits: no zombie, and nothing left listening.
RFC 862: any data received is sent back until the calling user terminates the connection.
"""

import os
import sys

if not __package__: from _as_file import PACKAGE as __package__  # run as a file too (see _as_file.py)

from . import _common as common
from . import _supervisor as supervisor
from .echo_reactor import Acceptor, EchoConnection, Reactor


# --- the listening sockets ----------------------------------------------------

def listen_all(host, port, count):
    """`count` listening sockets on host:port, in one SO_REUSEPORT group."""
    # Refuse a port that something listens on already (see the docstring):
    # without SO_REUSEPORT this bind fails if any socket is listening there.
    # SO_REUSEADDR still lets it past the TIME_WAIT of a previous run.
    common.bind(host, port, listen=False).close()
    listeners = []
    try:
        for _ in range(count):
            listeners.append(common.bind(host, port, reuse_port=True))
            port = listeners[0].getsockname()[1]  # with --port 0, the rest join the first's port
    except BaseException:
        for sock in listeners:
            sock.close()
        raise
    return listeners


# --- a worker: one reactor on its own socket ------------------------------------

def worker(listener):
    reactor = Reactor()
    Acceptor(reactor, listener, lambda sock, peer: EchoConnection(reactor, sock))
    reactor.run()


def start(listeners, slot):
    """Fork the worker for listeners[slot]; return its pid."""
    def work():
        for i, sock in enumerate(listeners):
            if i != slot:
                sock.close()  # our copies only: the parent keeps them open
        worker(listeners[slot])
    return supervisor.fork_worker(work)


# --- the parent: a supervisor (_supervisor.py) ---------------------------------

def serve(args):
    supervisor.block_signals()
    listeners = listen_all(args.host, args.port, args.workers)
    workers = {}  # pid -> (slot, start time)
    try:
        supervisor.supervise(range(len(listeners)), lambda slot: start(listeners, slot), workers)
    finally:
        supervisor.stop(workers)
        for sock in listeners:
            sock.close()


def main():
    args = common.parse_args(__doc__, default_port=2007, count=("--workers", os.cpu_count() or 1, "worker processes"))
    return common.run(serve, args)


if __name__ == "__main__":
    sys.exit(main())
