"""Defect: an event-driven echo server that, once the client half-closes, gives the rest of the echo a fixed 0.5 s to drain and then aborts the connection.

Models an asyncio Protocol echo with a "linger" timeout after EOF (eof_received keeps the
transport open and schedules transport.abort()): a client that half-closes and reads its
echo at once gets it all; one that takes longer than 0.5 s to read loses whatever the
transport still buffered (and sees a reset).
Otherwise a correct asyncio Protocol echo server (exits 0 on SIGTERM/SIGINT).
"""

import asyncio
import signal

import _faulty

GIVE_UP_AFTER = 0.5  # BUG: a fixed time after the client's EOF, not "once the echo is sent"


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)

    def eof_received(self):
        # BUG: the echo still buffered is dropped a fixed time after the EOF
        asyncio.get_running_loop().call_later(GIVE_UP_AFTER, self.transport.abort)
        return True  # keep the transport open (half-closed) until then


async def main():
    args = _faulty.parse_args(__doc__)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, sock=_faulty.listen(args.host, args.port))
    stop = asyncio.Event()
    for sig in _faulty.STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    asyncio.run(main())
