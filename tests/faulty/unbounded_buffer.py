"""Defect: a non-blocking poll loop with output buffers but no high-water mark: it keeps reading from a client that does not read and buffers its echo without limit.

Models a reactor that handles partial sends correctly (a per-connection output
buffer drained on POLLOUT) but always keeps POLLIN armed: nothing ever tells a
client that never reads to stop, so the server takes everything it sends and
its memory grows with it (no backpressure).
Otherwise the correct non-blocking poll reactor of _faulty_poll (flushes, then
closes after the client's EOF; errors and resets end that connection only).
"""

import _faulty_poll


class Reactor(_faulty_poll.Reactor):
    def wants_read(self, c):
        return not c.eof  # BUG: reads on however much echo is still unsent (no high-water mark)


if __name__ == "__main__":
    _faulty_poll.run(__doc__, Reactor)
