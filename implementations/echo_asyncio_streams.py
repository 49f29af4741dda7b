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
On SIGTERM/SIGINT (loop.add_signal_handler: _asyncio_runner.py) it stops
listening, aborts the connections still open and exits 0 at once.
RFC 862: any data received is sent back until the calling user terminates the connection.
"""

import asyncio
import logging
import sys

if not __package__: from _as_file import PACKAGE as __package__  # run as a file too (see _as_file.py)

from . import _asyncio_runner as asyncio_runner
from . import _common as common

log = logging.getLogger("echo_asyncio_streams")

RECV_SIZE = 64 * 1024


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


def start(open_transports, **listener):
    """The asyncio Server running echo() for each client (see _asyncio_runner.run)."""
    return asyncio.start_server(lambda reader, writer: echo(reader, writer, open_transports), **listener)


def main():
    args = common.parse_args(__doc__, default_port=2007)
    return asyncio_runner.run(start, args)


if __name__ == "__main__":
    sys.exit(main())
