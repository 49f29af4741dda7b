"""Defect: a non-blocking event loop built on select.select(), which cannot watch a file descriptor above FD_SETSIZE - 1 (1023): once a connection gets fd 1024, select() raises ValueError and the server dies.

Models the classic select() server (fd_set limited to FD_SETSIZE = 1024), here
through ``selectors.SelectSelector`` (picked "for portability"): it is correct
until the process holds about a thousand connections, then the first descriptor
past 1023 breaks the loop.  Python's select.select() raises
``ValueError: filedescriptor out of range in select()``; nothing catches it, so
the whole server exits (in C the same loop corrupts memory or stops accepting).
Otherwise the correct non-blocking reactor of _faulty_poll (per-connection output
buffer, write interest while output is pending, a high-water mark for
backpressure, flush then close after the client's EOF; errors and resets end
that connection only).
"""

import selectors

import _faulty_poll


class Reactor(_faulty_poll.Reactor):
    # BUG: select() only handles fds < FD_SETSIZE (1024); past that it raises ValueError.
    SELECTOR = selectors.SelectSelector


if __name__ == "__main__":
    _faulty_poll.run(__doc__, Reactor)
