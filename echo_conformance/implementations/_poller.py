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


class _Epoll:
    """select.epoll with select.poll's methods: poll(timeout) takes milliseconds."""

    def __init__(self):
        self._epoll = select.epoll()
        self.register = self._epoll.register
        self.modify = self._epoll.modify
        self.unregister = self._epoll.unregister

    def poll(self, timeout=None):
        return self._epoll.poll(-1 if timeout is None else timeout / 1000)

    def close(self):
        self._epoll.close()


class _Poll:
    """select.poll, with a close() that has nothing to release."""

    def __init__(self):
        self._poll = select.poll()
        self.register = self._poll.register
        self.modify = self._poll.modify
        self.unregister = self._poll.unregister
        self.poll = self._poll.poll

    def close(self):
        pass


if hasattr(select, "epoll"):
    assert (select.EPOLLIN, select.EPOLLOUT, select.EPOLLHUP, select.EPOLLERR) == (
        select.POLLIN, select.POLLOUT, select.POLLHUP, select.POLLERR)
    Poller = _Epoll
else:
    Poller = _Poll
