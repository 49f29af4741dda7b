"""Thread-based TCP relay: forwards each client to an upstream echo server.

Concurrent (accept + threads): clients do not block each other. Each client
gets two threads, one per direction, each a blocking recv/sendall loop.
RFC 862 is served upstream; the relay passes its bytes, half-close and resets through unchanged.
"""

import logging
import socket
import struct
import sys
import time

if not __package__: from _as_file import PACKAGE as __package__  # run as a file too (see _as_file.py)

from . import _common as common

log = logging.getLogger("tcp_relay")

CONNECT_TIMEOUT = 5.0  # seconds to reach upstream before giving up on a client


def abort(sock):
    """Reset the connection (RST, not FIN) and wake any thread blocked on it."""
    try:
        # SO_LINGER with timeout 0: close() sends RST, so a reset on one side
        # reaches the other as a reset, not as a clean end of stream.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # shutdown() (unlike close()) wakes the other thread blocked in recv/send.
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def pump(src, dst, name):
    """Copy src -> dst until EOF or error."""
    try:
        # Blocking sendall: if dst does not read, we stop reading src, its
        # TCP window closes and the sender is slowed down (backpressure).
        while data := src.recv(65536):
            dst.sendall(data)
        # EOF from src: pass the half-close on, the other direction goes on.
        dst.shutdown(socket.SHUT_WR)
    except OSError as exc:
        # Reset or broken pipe on either socket: end both directions, so the
        # other thread does not wait forever.
        log.debug("%s: %s", name, exc)
        abort(src)
        abort(dst)


def relay(client, peer, upstream_addr):
    """Per-client thread: connect upstream, pump both ways, then close both."""
    try:
        upstream = socket.create_connection(upstream_addr, timeout=CONNECT_TIMEOUT)
    except OSError as exc:  # refused, unreachable, timed out
        log.debug("%s: upstream %s: %s", peer, upstream_addr, exc)
        # The client sees EOF at once (RST if it had already sent data that
        # nobody read); the relay keeps serving others.
        client.close()
        return
    upstream.settimeout(None)  # back to plain blocking mode for the transfer
    common.no_delay(client, upstream)
    with client, upstream:
        other = common.start_thread(pump, client, upstream, "client->upstream")
        pump(upstream, client, "upstream->client")
        # Close only when both directions are done: closing a socket another
        # thread still uses could hit a reused descriptor number.
        other.join()
    log.debug("closed %s", peer)


def serve(args):
    upstream_addr = (args.upstream_host, args.upstream_port)
    with common.bind(args.host, args.port) as listener:
        while True:
            try:
                client, peer = listener.accept()
            except OSError as exc:  # e.g. EMFILE: out of descriptors
                log.warning("accept: %s", exc)
                time.sleep(0.1)
                continue
            log.debug("connection from %s", peer)
            common.start_thread(relay, client, peer, upstream_addr)


def main():
    args = common.parse_args(__doc__, default_port=3007, relay=True)
    return common.run(serve, args)


if __name__ == "__main__":
    sys.exit(main())
