"""An echo server with an asyncio Protocol, as the Python docs' "TCP Echo Server" protocol
example writes it (data_received writes the data back), without closing after the first
answer.  Run with --uvloop to use uvloop's event loop, as uvloop's README shows.

Usage: python asyncio_protocol_echo.py [--uvloop] HOST PORT
"""
import asyncio
import sys


class EchoServerProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def main(host, port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(EchoServerProtocol, host, port)
    async with server:
        await server.serve_forever()


args = sys.argv[1:]
if args[0] == "--uvloop":
    import uvloop

    uvloop.install()
    args = args[1:]
asyncio.run(main(args[0], int(args[1])))
