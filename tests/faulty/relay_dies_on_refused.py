"""Defect: connects to the upstream in the accept loop with no error handling, so the first refused connection raises an exception that ends the whole relay process.

Models the naive relay: ``upstream = socket.create_connection(...)`` right after
``accept()``, as if the upstream were always there.  When it is down, ConnectionRefusedError
propagates out of the accept loop and the relay exits (status 1): no client is served any
more, even once the upstream is back.
While the upstream accepts, this is the correct thread-per-direction relay of _faulty_relay.
"""

import _faulty
import _faulty_relay


def serve(listener, upstream_addr):
    while True:
        client = _faulty.accept(listener)
        if client is None:
            continue
        upstream = _faulty_relay.connect_upstream(upstream_addr)  # BUG: a refusal is not caught
        _faulty.start_daemon(_faulty_relay.relay_pair, client, upstream)


if __name__ == "__main__":
    _faulty_relay.run(__doc__, serve)
