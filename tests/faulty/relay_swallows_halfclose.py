"""Defect: on the client's EOF the relay's client-to-upstream copy just ends: the half-close is not passed on (no shutdown(SHUT_WR)) and nothing is closed.

Models the copy loop that ends with ``return`` at EOF, written as if EOF meant "the
connection is over": the upstream never learns that the client has finished, so it never
closes, and the client waits forever for the rest of the echo and the EOF.
Through two relays, the client's half-close never reaches the echo server either.
Everything else is the correct thread-per-direction relay of _faulty_relay.
"""

import _faulty_relay


class ClientToUpstream(_faulty_relay.Pump):
    def at_eof(self, src, dst):
        pass  # BUG: the client's EOF is not passed on: missing dst.shutdown(socket.SHUT_WR)


if __name__ == "__main__":
    _faulty_relay.run(__doc__, up=ClientToUpstream())
