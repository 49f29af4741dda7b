"""The baselines: the smallest correct asyncio Protocol echo server, on asyncio's own event
loop and on uvloop's.

Every result of the bench is read next to these: they are what anyone can reproduce on their
own machine (``python -m echo_conformance.bench.baseline_asyncio --host H --port P``, or
``baseline_uvloop`` where uvloop is installed), and a relay is measured in front of one of
them (the fastest available) and next to it measured directly.

It is the echo server of uvloop's own benchmarks (``transport.write(data)`` in
``data_received``) plus the flow control every correct server needs: above the transport's
high-water mark, stop reading (a client that sends without reading must not make the server
buffer without bound).  In a ping-pong benchmark the mark is never reached, so it costs
nothing per round trip.  SIGTERM and SIGINT stop it with exit status 0.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket


HIGH_WATER = 1024 * 1024
STOP = (signal.SIGTERM, signal.SIGINT)


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        transport.set_write_buffer_limits(high=HIGH_WATER)

    def data_received(self, data):
        self.transport.write(data)

    def pause_writing(self):
        self.transport.pause_reading()

    def resume_writing(self):
        self.transport.resume_reading()


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in STOP:
        loop.add_signal_handler(sig, stop.set)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server = await loop.create_server(Echo, host, port, family=family, reuse_address=True, backlog=4096)
    await stop.wait()
    server.close()  # stop listening; the connections die with the process


def main(event_loop: str) -> int:
    parser = argparse.ArgumentParser(description=f"the bench's baseline: an asyncio Protocol echo on {event_loop}")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2007)
    args = parser.parse_args()
    if event_loop == "uvloop":
        import uvloop

        uvloop.install()
    asyncio.run(serve(args.host, args.port))
    return 0


# --- the baselines as implementations -----------------------------------------------------------

def uvloop_available() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


BASELINE_PREFIX = "baseline-"


def baselines() -> list:
    """The baselines available here (Implementations): asyncio's, and uvloop's where it is
    installed."""
    from pathlib import Path

    from .._registry import make  # not in the server process: it needs only asyncio

    # run from the folder that holds the package, as the bundled servers are
    root = str(Path(__file__).resolve().parent.parent.parent)
    out = [make("baseline-asyncio",
                "{python} -m echo_conformance.bench.baseline_asyncio --host {host} --port {port}",
                connections=10000, cwd=root,
                description="The bench's baseline: the smallest correct asyncio Protocol echo, "
                            "on asyncio's own event loop.")]
    if uvloop_available():
        out.append(make("baseline-uvloop",
                        "{python} -m echo_conformance.bench.baseline_uvloop --host {host} --port {port}",
                        connections=10000, cwd=root,
                        description="The same Protocol echo on uvloop's event loop (libuv)."))
    return out


def fastest():
    """The upstream a relay is measured in front of: uvloop's baseline where installed."""
    return baselines()[-1]
