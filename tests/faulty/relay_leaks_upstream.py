"""Defect: when the client resets, the relay's client-to-upstream copy just returns: the upstream connection is neither shut down nor closed, so the upstream-to-client copy waits on it forever and both sockets and a thread leak per client that resets.

Models ``except ConnectionResetError: return  # the client is gone, nothing left to do``:
the client's socket is dead, but the other direction is still blocked reading the upstream,
which is waiting for more data and never closes.
Clients that close normally are relayed and cleaned up correctly.
"""

import _faulty_relay


class ClientToUpstream(_faulty_relay.Pump):
    def on_error(self, src, dst, exc):
        if isinstance(exc, ConnectionResetError):
            return  # BUG: the client is gone, but its upstream connection stays open
        super().on_error(src, dst, exc)


if __name__ == "__main__":
    _faulty_relay.run(__doc__, up=ClientToUpstream())
