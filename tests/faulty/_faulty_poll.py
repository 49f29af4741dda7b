"""Shared plumbing for the deliberately faulty single-threaded poll-loop echo servers here.

Like ``_faulty.py`` (whose listening socket, accept() and signal handling it reuses),
everything here is correct on purpose: ``Reactor`` is a non-blocking poll() reactor
(``selectors.PollSelector``) with a per-connection output buffer, write interest while
output is pending, a high-water mark for backpressure (no reading from a client with
HIGH_WATER bytes of unsent echo), flush then close after the client's EOF.  An error or
hang-up is handled like readability (poll's POLLERR/POLLHUP: recv() reports it), and errors
and resets end that connection only.  Each faulty server subclasses ``Reactor`` and
overrides the one hook (or the selector) that holds its defect.

Run a server as ``python NAME.py --host HOST --port PORT`` from this directory.
"""

import selectors

import _faulty

READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.out = bytearray()  # echo not sent yet
        self.eof = False


class Reactor:
    """A correct non-blocking echo reactor: ``Reactor(listener).serve()``."""

    SELECTOR = selectors.PollSelector  # poll(): any descriptor number
    HIGH_WATER = 1 << 20  # stop reading from a client with this much unsent echo

    def __init__(self, listener):
        self.listener = listener
        self.selector = self.SELECTOR()

    def serve(self):
        self.listener.setblocking(False)
        self.selector.register(self.listener, READ)
        while True:
            for key, events in self.selector.select():
                if key.fileobj is self.listener:
                    sock = _faulty.accept(self.listener)
                    if sock is not None:
                        self.on_accept(sock)
                else:
                    self.ready(key.data, events)

    def on_accept(self, sock):
        self.add(sock)

    def add(self, sock):
        """Set up a new connection and watch it for reading."""
        self.setup(sock)
        c = Conn(sock)
        self.selector.register(sock, READ, c)
        return c

    def setup(self, sock):
        sock.setblocking(False)

    def ready(self, c, events):
        """Handle c's events; a network error (a reset...) ends that connection only."""
        try:
            self.handle(c, events)
        except OSError:
            self.close(c)

    def handle(self, c, events):
        """Read if readable, send what can be sent, then close or re-arm."""
        if events & READ:
            self.read(c)
        self.flush(c)
        self.rearm(c)

    def read(self, c):
        try:
            data = c.sock.recv(_faulty.RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        if data:
            self.received(c, data)
        else:
            c.eof = True

    def received(self, c, data):
        c.out += data

    def flush(self, c):
        if c.out:
            try:
                sent = c.sock.send(c.out)
            except (BlockingIOError, InterruptedError):
                return
            del c.out[:sent]

    def rearm(self, c):
        if c.eof and not c.out:
            self.close(c)
            return
        events = (READ if self.wants_read(c) else 0) | (WRITE if c.out else 0)
        self.selector.modify(c.sock, events, c)

    def wants_read(self, c):
        return not c.eof and len(c.out) < self.HIGH_WATER

    def close(self, c):
        self.selector.unregister(c.sock)
        c.sock.close()


def run(description, reactor=Reactor):
    """Parse --host/--port, listen, run reactor(listener).serve(); exit 0 on a stop signal."""
    _faulty.run(description, lambda listener: reactor(listener).serve())
