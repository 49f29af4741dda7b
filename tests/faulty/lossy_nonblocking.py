"""Defect: a non-blocking poll loop that ignores send()'s return count and drops the data on BlockingIOError.

Models the classic plain-send defect: ``sock.send(data)`` on a non-blocking
socket treated as if it always sent everything; when the socket buffer is
(nearly) full the unsent part is silently lost, so large transfers come back
short.  The server also fixes SO_SNDBUF at 16 KiB (the kernel doubles it), a
memory-saving setting that is harmless in a correct server; it makes a 64 KiB
send() on loopback come up short or fail with EAGAIN whenever the client falls
even slightly behind, where autotuned multi-MiB buffers would hide the loss in
many runs.
Otherwise the correct non-blocking poll reactor of _faulty_poll (closes after
the client's EOF; errors and resets end that connection only).
"""

import socket

import _faulty_poll

SNDBUF = 16 * 1024  # fixed send buffer (see the docstring)


class Reactor(_faulty_poll.Reactor):
    def setup(self, sock):
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)

    def received(self, c, data):
        try:
            c.sock.send(data)  # BUG: the returned count is ignored
        except (BlockingIOError, InterruptedError):
            pass  # BUG: the data is dropped


if __name__ == "__main__":
    _faulty_poll.run(__doc__, Reactor)
