"""Defect: on the client's EOF the relay's client-to-upstream copy just ends: the half-close is not passed on (no shutdown(SHUT_WR)) and nothing is closed.

Models the copy loop that ends with ``return`` at EOF, written as if EOF meant "the
connection is over": the upstream never learns that the client has finished, so it never
closes, and the client waits forever for the rest of the echo and the EOF.
Must be caught by: relay.halfclose.upstream, relay.chain (the client's half-close through
two relays never reaches the echo server).
Everything else is the correct thread-per-direction relay of _faulty_relay.
"""

import _faulty
import _faulty_relay


def client_to_upstream(src, dst):
    try:
        while data := src.recv(_faulty.RECV_SIZE):
            dst.sendall(data)
        # BUG: the client's EOF is not passed on: missing dst.shutdown(socket.SHUT_WR)
    except OSError:
        _faulty_relay.abort(src)
        _faulty_relay.abort(dst)


if __name__ == "__main__":
    _faulty_relay.run(__doc__, lambda listener, upstream: _faulty_relay.serve_threaded(
        listener, upstream, up=client_to_upstream))
