"""Defect: a single-threaded poll loop that, right after accept(), blocks in recv() for the new client's first data.

Models "read the request right after accepting it" carried over from an
iterative server into an event loop: until the new client speaks, the loop is
stuck, so a client that connects and stays silent freezes every other client.
Otherwise the correct non-blocking poll reactor of _faulty_poll (per-connection
output buffer, POLLOUT, backpressure, flush then close after the client's EOF).
"""

import _faulty
import _faulty_poll


class Reactor(_faulty_poll.Reactor):
    def on_accept(self, sock):
        # BUG: wait (blocking) for the client's first data before returning to the
        # loop; a silent client stalls everyone.
        sock.setblocking(True)
        try:
            first = sock.recv(_faulty.RECV_SIZE)
        except OSError:
            first = b""
        if not first:
            sock.close()
            return
        c = self.add(sock)
        self.received(c, first)
        self.ready(c, 0)


if __name__ == "__main__":
    _faulty_poll.run(__doc__, Reactor)
