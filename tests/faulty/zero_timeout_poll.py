"""Defect: a poll() event loop that polls with a timeout of 0, so poll() returns at once even when nothing is ready and the loop spins: a whole CPU core while idle.

Models the loop that passes timeout 0 (select(r, w, x, 0), poll(0), epoll_wait(..., 0))
so that it "never blocks" and can do other work between polls (check a stop flag, run
timers), with no other work to do: every pass is one poll() system call that finds nothing.
Each poll() is correct, so the echo is right; only the waiting is missing.
Otherwise the correct non-blocking poll reactor of _faulty_poll (per-connection output
buffer, POLLOUT while output is pending, a high-water mark for backpressure, flush then
close after the client's EOF; errors and resets end that connection only).
"""

import selectors

import _faulty_poll


class ZeroTimeoutSelector(selectors.PollSelector):
    def select(self, timeout=None):
        return super().select(0)  # BUG: timeout 0: returns at once, nothing ready or not


class Reactor(_faulty_poll.Reactor):
    SELECTOR = ZeroTimeoutSelector


if __name__ == "__main__":
    _faulty_poll.run(__doc__, Reactor)
