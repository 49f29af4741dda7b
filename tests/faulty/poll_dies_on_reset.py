"""Defect: a single-threaded poll loop that does not catch ConnectionResetError/BrokenPipeError from recv()/send(), so one client's reset ends the whole process.

Models a non-blocking reactor whose author handled only the "would block"
case (``except BlockingIOError``) around recv() and send(): when a client
aborts its connection (RST, e.g. SO_LINGER 0 or a crashed peer), the next
recv() raises ECONNRESET, or send() raises ECONNRESET/EPIPE, the exception
escapes the event loop and the server dies, taking every other client with it.
Otherwise the correct non-blocking poll reactor of _faulty_poll (per-connection
output buffer, POLLOUT, a high-water mark for backpressure, flush then close
after the client's EOF; an error or hang-up is handled like readability, so
recv() reports a reset).
"""

import _faulty_poll


class Reactor(_faulty_poll.Reactor):
    def ready(self, c, events):
        # BUG: read() and flush() expect only BlockingIOError (and EINTR), and nothing
        # here catches the rest (no `except OSError: self.close(c)`): a client's
        # ECONNRESET/EPIPE from recv()/send() escapes the event loop.
        self.handle(c, events)


if __name__ == "__main__":
    _faulty_poll.run(__doc__, Reactor)
