"""Mistake: an asyncio streams echo that calls ``writer.write(data)`` without
``await writer.drain()``: the coroutine never waits for the client to read, so a client that
sends without reading makes the server buffer without bound.

    while data := await reader.read(4096):
        writer.write(data)        # no await writer.drain()

Why people make it: write() is a plain method that always succeeds, so it looks complete;
drain() reads like an optional flush.  The docs' example has it, but the server works without
it until a client stops reading.
Where the pattern comes from: the asyncio docs' "TCP echo server using streams", in a loop,
with the drain() call dropped.
"""

import asyncio

import _beginner


async def handle_echo(reader, writer):
    while True:
        data = await reader.read(4096)
        if not data:
            break
        writer.write(data)  # MISTAKE: no await writer.drain(): nothing ever waits for the client
    writer.close()
    await writer.wait_closed()


async def main(host, port):
    server = await asyncio.start_server(handle_echo, host, port)
    async with server:
        await server.serve_forever()


args = _beginner.parse_args()
asyncio.run(main(args.host, args.port))
