"""Mistake: an asyncio Protocol echo that writes every chunk with transport.write() and never
pauses reading: a client that sends without reading makes the server buffer without bound.

    def data_received(self, data):
        self.transport.write(data)

Why people make it: transport.write() never blocks and never fails, so nothing ever signals
that the client has stopped reading; the flow-control callbacks (pause_writing and
resume_writing, pause_reading on the transport) are an advanced topic the examples leave out.
Where the pattern comes from: the asyncio docs' "TCP Echo Server" protocol example, without
the transport.close() that makes it answer only once.
"""

import asyncio

import _beginner


class EchoServerProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)  # MISTAKE: no flow control: the write buffer grows forever


async def main(host, port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(EchoServerProtocol, host, port)
    async with server:
        await server.serve_forever()


args = _beginner.parse_args()
asyncio.run(main(args.host, args.port))
