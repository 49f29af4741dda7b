"""asyncio Protocol TCP echo server with flow control: a full write buffer pauses reading.

Model 5 (a reactor: asyncio's event loop over epoll, calling back a Protocol
object per connection). Clients do not block each other as long as no
callback blocks the loop. It costs one small object per client, no thread.

The trap it avoids: the Protocol echo as usually written -- transport.write(data)
in data_received -- buffers without bound. write() never blocks: what the
socket cannot take waits in the transport's buffer, and a client that sends
but never reads fills it for ever while we keep reading. Here the transport's
flow control drives reading: above the high-water mark it calls pause_writing(),
and we stop reading (transport.pause_reading()); the client's data then waits
in the kernel, its TCP window closes and its send() blocks. Once the buffer
drains below the low-water mark, resume_writing() reads again. A connection
holds at most HIGH_WATER plus one read (256 KiB) of unsent echo.
Half-close: eof_received returns None, so the transport closes itself after
sending everything still buffered, then our FIN.
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

log = logging.getLogger("echo_asyncio_protocol")

# asyncio's defaults are 64 KiB / 16 KiB; larger marks mean fewer pause/resume
# round trips for a fast client, and the same bound as echo_poll's.
HIGH_WATER = 1024 * 1024
LOW_WATER = 256 * 1024


class EchoProtocol(asyncio.Protocol):
    def __init__(self, open_transports):
        self.open_transports = open_transports
        self.transport = None

    def connection_made(self, transport):
        log.debug("connection from %s", transport.get_extra_info("peername"))
        self.transport = transport
        transport.set_write_buffer_limits(high=HIGH_WATER, low=LOW_WATER)
        self.open_transports.add(transport)

    def data_received(self, data):
        self.transport.write(data)  # may call pause_writing() before it returns

    def pause_writing(self):
        # Our unsent echo is above HIGH_WATER: read no more until it drains.
        self.transport.pause_reading()

    def resume_writing(self):
        self.transport.resume_reading()

    def eof_received(self):
        # The client half-closed. A false value tells the transport to close
        # itself; close() sends everything still buffered first.
        return None

    def connection_lost(self, exc):
        # After an orderly close exc is None; a reset gives ECONNRESET.
        log.debug("closed %s (%s)", self.transport.get_extra_info("peername"), exc or "EOF")
        self.open_transports.discard(self.transport)


def start(open_transports, **listener):
    """The asyncio Server with an EchoProtocol for each client (see _asyncio_runner.run)."""
    return asyncio.get_running_loop().create_server(lambda: EchoProtocol(open_transports), **listener)


def main():
    args = common.parse_args(__doc__, default_port=2007)
    return asyncio_runner.run(start, args)


if __name__ == "__main__":
    sys.exit(main())
