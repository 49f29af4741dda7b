"""Defect: when the client resets, the relay's client-to-upstream copy just returns: the upstream connection is neither shut down nor closed, so the upstream-to-client copy waits on it forever and both sockets and a thread leak per client that resets.

Models ``except ConnectionResetError: return  # the client is gone, nothing left to do``:
the client's socket is dead, but the other direction is still blocked reading the upstream,
which is waiting for more data and never closes.
Must be caught by: relay.client.reset.
Clients that close normally are relayed and cleaned up correctly.
"""

import socket

import _faulty
import _faulty_relay


def client_to_upstream(src, dst):
    try:
        while data := src.recv(_faulty.RECV_SIZE):
            dst.sendall(data)
        dst.shutdown(socket.SHUT_WR)
    except ConnectionResetError:
        return  # BUG: the client is gone, but its upstream connection stays open
    except OSError:
        _faulty_relay.abort(src)
        _faulty_relay.abort(dst)


if __name__ == "__main__":
    _faulty_relay.run(__doc__, lambda listener, upstream: _faulty_relay.serve_threaded(
        listener, upstream, up=client_to_upstream))
