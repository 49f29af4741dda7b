"""What the two asyncio servers share: serving until SIGTERM/SIGINT, then stopping at once.

The stop signals are asyncio's own here (loop.add_signal_handler): the handler runs as one more
callback of the event loop, between two others, and only sets an Event.  The server's coroutine
waits for that Event, then stops listening and aborts the connections still open, so that
asyncio.run() returns at once even while clients are connected, and _common.run exits 0."""

import asyncio
import logging
import signal

from . import _common as common

log = logging.getLogger("asyncio_runner")

STOP = (signal.SIGTERM, signal.SIGINT)


def run(start, args):
    """_common.run for an asyncio server: serve on --host/--port until a stop signal, exit 0.

    start(open_transports, sock=..., backlog=...) returns (a coroutine giving) the asyncio
    Server on that listening socket; each connection keeps its transport in the set
    open_transports while it is open, so that the stop can abort it.
    """
    return common.run(lambda args: asyncio.run(_serve(start, args)), args)


async def _serve(start, args):
    stopping = _stop_event()
    open_transports = set()
    # Our own socket (IPv6-aware, SO_REUSEADDR); asyncio calls listen() on it
    # again with `backlog`, whose default (100) would undo common.BACKLOG.
    server = await start(open_transports, sock=common.bind(args.host, args.port), backlog=common.BACKLOG)
    await stopping.wait()
    # Not `async with server` / wait_closed(): since Python 3.12 that waits for
    # every client to leave. Stop listening, then drop the clients.
    server.close()
    for transport in list(open_transports):
        transport.abort()


def _stop_event():
    """An Event that the first SIGTERM or SIGINT sets; the later ones are ignored."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def request_stop(signum):
        log.debug("%s received, exiting", signal.Signals(signum).name)
        for sig in STOP:  # further stop signals are ignored during cleanup
            loop.remove_signal_handler(sig)
            signal.signal(sig, signal.SIG_IGN)
        stopping.set()

    for sig in STOP:
        loop.add_signal_handler(sig, request_stop, sig)
    return stopping
