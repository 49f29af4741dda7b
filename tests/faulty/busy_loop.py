"""Defect: a single-threaded non-blocking loop that never waits: it tries accept(), recv() and send() on every socket, round and round, and ignores the BlockingIOError each one raises when there is nothing to do, so it burns a whole CPU core while idle.

Models the server of someone who made the sockets non-blocking "so the loop does not hang"
and skipped select()/poll(): its "selector" (NoWait below) asks the kernel nothing and hands
back every registered socket as ready for everything it is registered for, so each pass of
the loop is a round of accept()/recv()/send() attempts, most of them failing with EAGAIN.
The echo is right (the attempts that succeed are handled like real readiness); the CPU is
not: a full core with no client at all, or with clients connected and silent.
Otherwise the correct non-blocking reactor of _faulty_poll (per-connection output buffer,
write attempts while output is pending, a high-water mark for backpressure, flush then close
after the client's EOF; errors and resets end that connection only).
"""

import selectors

import _faulty_poll


class NoWait(selectors.PollSelector):
    """The registrations of a selector, with none of its waiting."""

    def select(self, timeout=None):
        # BUG: never waits for readiness: every socket is "ready" on every pass
        return [(key, key.events) for key in list(self.get_map().values())]


class Reactor(_faulty_poll.Reactor):
    SELECTOR = NoWait


if __name__ == "__main__":
    _faulty_poll.run(__doc__, Reactor)
