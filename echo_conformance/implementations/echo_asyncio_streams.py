"""asyncio streams TCP echo server: a coroutine per client, backpressure with await writer.drain().

Model 5 (a reactor: asyncio's event loop over epoll), the protocol written as
straight-line code: each client's coroutine reads and writes as if blocking,
and awaits where a blocking server would block. Clients do not block each
other as long as no coroutine blocks the loop. It costs one coroutine per
client (a few KiB), no thread.

The trap it avoids: writer.write() never blocks -- it appends to the
transport's buffer -- so without `await writer.drain()` a client that sends
but never reads makes that buffer grow without bound. drain() waits while the
buffer is above its high-water mark; meanwhile we do not read, the
StreamReader's buffer fills to its limit, asyncio stops reading the socket,
the client's TCP window closes and its send() blocks.
Half-close: read() returns b"" at the client's EOF, after every earlier byte
was echoed; close() then sends what is still buffered, then our FIN.
On SIGTERM/SIGINT (loop.add_signal_handler) it stops listening, aborts the
connections still open and exits 0 at once.
RFC 862: any data received is sent back until the calling user terminates the connection.
"""

import asyncio
import logging
import signal
import sys

from . import _common as common

log = logging.getLogger("echo_asyncio_streams")

RECV_SIZE = 64 * 1024
STOP = (signal.SIGTERM, signal.SIGINT)


async def echo(reader, writer, open_transports):
    peer = writer.get_extra_info("peername")
    log.debug("connection from %s", peer)
    open_transports.add(writer.transport)
    try:
        while data := await reader.read(RECV_SIZE):
            writer.write(data)
            await writer.drain()  # the backpressure: wait while the client is behind
    except OSError as exc:  # ECONNRESET, EPIPE: this client only
        log.debug("%s: %s", peer, exc)
    finally:
        open_transports.discard(writer.transport)
        # Flushes what is buffered, then closes. Not `await wait_closed()`:
        # for a client that never reads again that wait has no end.
        writer.close()
    log.debug("closed %s", peer)


async def serve_async(args):
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

    open_transports = set()
    # Our own socket (IPv6-aware, SO_REUSEADDR); asyncio calls listen() on it
    # again with `backlog`, whose default (100) would undo common.BACKLOG.
    server = await asyncio.start_server(lambda r, w: echo(r, w, open_transports),
                                        sock=common.listen(args.host, args.port),
                                        backlog=common.BACKLOG)
    await stopping.wait()
    # Not `async with server` / wait_closed(): since Python 3.12 that waits for
    # every client to leave. Stop listening, then drop the clients.
    server.close()
    for transport in list(open_transports):
        transport.abort()


def serve(args):
    asyncio.run(serve_async(args))


def main():
    args = common.parse_args(__doc__, default_port=2007)
    return common.run(serve, args)


if __name__ == "__main__":
    sys.exit(main())
