"""The reactor core shared by the multi-loop reference servers.

echo_reactor.py is the one to read first; it stays self-contained. This is the
same Reactor and Acceptor, plus what a reactor needs once other threads are
involved (the connections are echo_reactor's own EchoConnection, which needs
nothing from its reactor but register, modify and unregister):

- call_soon_threadsafe(): any thread may ask the loop to run a function. Only
  the loop's own thread touches its poll object and its sockets (neither is
  safe to share), so other threads put the call in a queue and wake the loop
  by writing a byte to a socketpair registered in its poller (the self-pipe
  trick: muduo's runInLoop + wakeupFd, Netty's execute(), asyncio's
  call_soon_threadsafe).
- every poll() result is resolved to its handler before any handler runs, and
  an event is delivered only if that handler still owns the descriptor: a
  connection closed earlier in the same round is skipped, and a new connection
  that got the same descriptor number (the kernel reuses the lowest free one at
  once) never receives the old connection's events -- an old POLLHUP would
  close it.
- modify() skips the system's poller when nothing changed: each change costs
  epoll a system call, and select.poll (where there is no epoll) rebuilds its
  whole array, 10,000 entries with 10,000 connections.
"""

import logging
import queue
import socket

from ._poller import DEAD, IN, OUT, Poller
from .echo_reactor import HIGH_WATER, RECV_SIZE, EchoConnection  # noqa: F401 (re-exported)

log = logging.getLogger("reactor")


class Reactor:
    """Demultiplex poll() events to handlers; knows nothing about echo.

    Handlers have fileno(), handle_read(), handle_write() and handle_close().
    Everything but call_soon_threadsafe() and stop() must be called from the
    thread that runs the loop.
    """

    def __init__(self):
        self.poller = Poller()
        self.handlers = {}  # fd -> handler
        self.events = {}    # fd -> the event mask the poller has now
        self.running = False
        self.waker = Waker(self)

    def register(self, handler, events):
        fd = handler.fileno()
        self.handlers[fd] = handler
        self.events[fd] = events
        self.poller.register(fd, events)

    def modify(self, handler, events):
        fd = handler.fileno()
        if self.events[fd] != events:
            self.events[fd] = events
            self.poller.modify(fd, events)

    def unregister(self, handler):
        # Call before closing the socket: fileno() is -1 afterwards.
        fd = handler.fileno()
        del self.handlers[fd], self.events[fd]
        self.poller.unregister(fd)

    def call_soon_threadsafe(self, func, *args):
        """Run func(*args) in the loop's thread, soon. Safe from any thread."""
        self.waker.call_soon(func, *args)

    def stop(self):
        """End run() after the current round. Safe from any thread."""
        self.call_soon_threadsafe(setattr, self, "running", False)

    def run(self):
        self.running = True
        poll, handlers = self.poller.poll, self.handlers
        while self.running:
            ready = [(fd, handlers.get(fd), events) for fd, events in poll()]
            for fd, handler, events in ready:
                if handler is None or handlers.get(fd) is not handler:
                    continue  # closed earlier in this round (its fd maybe reused)
                if events & DEAD:
                    handler.handle_close()
                    continue
                if events & IN:
                    handler.handle_read()
                if events & OUT and handlers.get(fd) is handler:
                    handler.handle_write()

    def close(self):
        """Close every handler, the waker last."""
        for handler in list(self.handlers.values()):
            if handler is not self.waker:
                handler.handle_close()
        self.waker.handle_close()
        self.poller.close()


class Waker:
    """Calls queued by other threads, and the socketpair that wakes the loop for them."""

    def __init__(self, reactor):
        self.reactor = reactor
        self.calls = queue.SimpleQueue()
        self.rsock, self.wsock = socket.socketpair()
        self.rsock.setblocking(False)
        self.wsock.setblocking(False)
        reactor.register(self, IN)

    def fileno(self):
        return self.rsock.fileno()

    def call_soon(self, func, *args):  # any thread
        self.calls.put((func, args))
        try:
            self.wsock.send(b"\0")
        except BlockingIOError:
            pass  # its buffer is full of wake-up bytes: the loop will wake anyway
        except OSError:
            pass  # closed: the loop has ended, nobody will run the call

    def handle_read(self):
        try:
            while self.rsock.recv(4096):
                pass
        except BlockingIOError:
            pass
        # Drain the queue after the wake-up bytes: a call queued from now on
        # writes a new byte, so the loop wakes again for it; none is lost.
        while True:
            try:
                func, args = self.calls.get_nowait()
            except queue.Empty:
                return
            func(*args)

    def handle_write(self):
        pass

    def handle_close(self):
        if self.rsock.fileno() != -1:
            self.reactor.unregister(self)
            self.rsock.close()
            self.wsock.close()


class Acceptor:
    """Readable listening socket -> new_connection(sock) for each client."""

    def __init__(self, reactor, listener, new_connection):
        self.reactor, self.sock = reactor, listener
        self.new_connection = new_connection
        listener.setblocking(False)
        reactor.register(self, IN)

    def fileno(self):
        return self.sock.fileno()

    def handle_read(self):
        while True:  # accept everything pending, not one per wakeup
            try:
                sock, peer = self.sock.accept()
            except BlockingIOError:
                return
            except OSError as exc:  # e.g. EMFILE: out of descriptors
                log.warning("accept: %s", exc)
                return
            log.debug("connection from %s", peer)
            self.new_connection(sock)

    def handle_write(self):
        pass

    def handle_close(self):
        self.reactor.unregister(self)
        self.sock.close()
