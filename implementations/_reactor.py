"""What a reactor (echo_reactor.Reactor) needs once other threads are involved: a Waker.

Only the loop's own thread may touch its poller and its sockets (neither is safe to share), so
another thread -- a pool thread with a finished task (echo_reactor_pool), the acceptor thread
with a new client (echo_reactors_threads) -- cannot register a socket or write to one itself.
It asks the loop's thread to run a function instead: the Waker puts the call in a queue and
wakes the loop by writing a byte to a socketpair whose other end the loop polls (the self-pipe
trick: muduo's runInLoop + wakeupFd, Netty's execute(), asyncio's call_soon_threadsafe).
"""

import queue
import socket

from .echo_reactor import Handler
from ._poller import IN


class Waker(Handler):
    """Calls queued by other threads for one reactor, and the socketpair that wakes it for them."""

    def __init__(self, reactor):
        self.reactor = reactor
        self.calls = queue.SimpleQueue()
        self.sock, self.wsock = socket.socketpair()  # the loop reads sock; other threads write wsock
        self.sock.setblocking(False)
        self.wsock.setblocking(False)
        reactor.register(self, IN)

    def call_soon_threadsafe(self, func, *args):
        """Run func(*args) in the loop's thread, soon. Safe from any thread."""
        self.calls.put((func, args))
        try:
            self.wsock.send(b"\0")
        except BlockingIOError:
            pass  # its buffer is full of wake-up bytes: the loop will wake anyway
        except OSError:
            pass  # closed: the loop has ended, nobody will run the call

    def handle_read(self):
        try:
            while self.sock.recv(4096):
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

    def handle_close(self):
        self.reactor.unregister(self)
        self.sock.close()
        self.wsock.close()
