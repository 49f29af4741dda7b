"""An echo server with asyncio streams, as the Python docs' "TCP echo server using streams"
writes it (asyncio.start_server, reader.read(100), writer.write, drain), reading in a loop
until the client's EOF instead of answering once.

Usage: python asyncio_streams_echo.py HOST PORT
"""
import asyncio
import sys


async def handle_echo(reader, writer):
    while data := await reader.read(100):
        writer.write(data)
        await writer.drain()
    writer.close()
    await writer.wait_closed()


async def main(host, port):
    server = await asyncio.start_server(handle_echo, host, port)
    async with server:
        await server.serve_forever()


asyncio.run(main(sys.argv[1], int(sys.argv[2])))
