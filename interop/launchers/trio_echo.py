"""The echo server of Trio's tutorial (trio.serve_tcp, async for over the stream,
send_all), on HOST PORT.

Usage: python trio_echo.py HOST PORT
"""
import sys
from functools import partial

import trio


async def echo_server(server_stream):
    try:
        async for data in server_stream:
            await server_stream.send_all(data)
    except Exception as exc:
        print(f"echo_server: crashed: {exc!r}")


trio.run(partial(trio.serve_tcp, echo_server, int(sys.argv[2]), host=sys.argv[1]))
