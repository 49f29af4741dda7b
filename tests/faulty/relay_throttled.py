"""Defect: paces the copy with a sleep per byte forwarded (about 512 KiB/s per direction), so large transfers take many times longer than the network needs.

Models the origin's relay, which slept per byte it forwarded: a "be gentle with the
upstream" or debugging leftover.  16 MiB take more than 30 s each way.  Every byte arrives,
in order, and half-close and resets are passed on correctly.
Must be caught by: relay.throughput.
"""

import socket
import time

import _faulty
import _faulty_relay

RATE = 512 * 1024  # bytes per second


def paced(src, dst):
    try:
        while data := src.recv(_faulty.RECV_SIZE):
            dst.sendall(data)
            time.sleep(len(data) / RATE)  # BUG: a sleep per byte forwarded
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        _faulty_relay.abort(src)
        _faulty_relay.abort(dst)


if __name__ == "__main__":
    _faulty_relay.run(__doc__, lambda listener, upstream: _faulty_relay.serve_threaded(
        listener, upstream, up=paced, down=paced))
