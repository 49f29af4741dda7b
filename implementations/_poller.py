"""The readiness demultiplexer under the reactors and the event-driven relay: epoll where the
system has it (Linux), poll elsewhere, behind poll's interface.

Why not poll everywhere: select.poll hands the kernel the whole array of descriptors on every
call, and the kernel looks at each one, so with N connections every wakeup costs O(N) even when
one socket is ready (and CPython rebuilds that array after any register or modify).  epoll keeps
the interest set in the kernel and returns only the ready descriptors: O(ready).  This is what
muduo's EPollPoller, libuv and asyncio's selectors do on Linux.  echo_poll stays on plain poll:
it is the model the others are read against.

On Linux the event bits are the same numbers in both (EPOLLIN == POLLIN, ...), so callers use
IN, OUT, HUP, ERR from here whichever is underneath.  The one behaviour that differs: poll
reports a closed descriptor as POLLNVAL, epoll forgets it; every caller unregisters a socket
before closing it, so neither case arises.
"""

import select

IN, OUT, HUP = select.POLLIN, select.POLLOUT, select.POLLHUP
ERR = select.POLLERR | select.POLLNVAL
DEAD = ERR | HUP


class _Wrapped:
    """register, modify and unregister straight from the system's poller (no Python in between)."""

    def __init__(self, inner):
        self._inner = inner
        self.register, self.modify, self.unregister = inner.register, inner.modify, inner.unregister


class _Epoll(_Wrapped):
    """select.epoll with select.poll's methods: poll(timeout) takes milliseconds."""

    def __init__(self):
        super().__init__(select.epoll())

    def poll(self, timeout=None):
        return self._inner.poll(-1 if timeout is None else timeout / 1000)

    def close(self):
        self._inner.close()


class _Poll(_Wrapped):
    """select.poll, with a close() that has nothing to release."""

    def __init__(self):
        super().__init__(select.poll())
        self.poll = self._inner.poll

    def close(self):
        pass


if hasattr(select, "epoll"):
    assert (select.EPOLLIN, select.EPOLLOUT, select.EPOLLHUP, select.EPOLLERR) == (
        select.POLLIN, select.POLLOUT, select.POLLHUP, select.POLLERR)
    Poller = _Epoll
else:
    Poller = _Poll
