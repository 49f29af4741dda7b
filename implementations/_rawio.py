"""A socket's recv and send as os.read and os.write on its descriptor: the event-driven servers'
one CPython-specific trick, kept here so that their code still reads sock.recv / sock.send.

Why: the system calls are the same (read(2) and write(2) on a connected TCP socket do what
recv(2) and send(2) with no flags do), but CPython's socket methods cost more around them: they
parse their arguments the old way (a tuple, then a format string) and go through the machinery
that implements socket timeouts, while os.read and os.write take their arguments directly.  In an
event loop that makes one recv and one send per message, that is a measurable share of the
server's own (user) CPU time.  Measured on the project's machine, one 1 KiB send + recv pair on a
socketpair: 1.2-1.4 us of user time through the socket methods, 0.9 us through these.  In the
bench (100 connections x 1 KiB, one run each, side by side) echo-reactor's user time per round
trip went from 2.85 to 2.65 us; uvloop's, whose loop is C and only data_received Python, was
2.3-2.7 us in the same session's runs.

Both raise what the socket methods raise for a non-blocking socket: BlockingIOError when nothing
can be read or written now, ConnectionResetError, BrokenPipeError (Python ignores SIGPIPE).

The one hazard: these hold the descriptor's number, not the socket.  Once the socket is closed
the kernel gives that number to the next socket it opens, and a stale reader would read another
client's data.  So whoever closes the socket swaps in closed(), which fails as a closed socket's
methods do.  On Windows, where a socket is not a file descriptor, they are the socket methods.
"""

import errno
import functools
import os


def reader(sock, size):
    """A function of no arguments: sock.recv(size)."""
    if os.name == "nt":
        return functools.partial(sock.recv, size)
    return functools.partial(os.read, sock.fileno(), size)


def writer(sock):
    """A function of data: sock.send(data); returns how many bytes the socket took."""
    if os.name == "nt":
        return sock.send
    return functools.partial(os.write, sock.fileno())


def closed(*_args):
    """What a reader or writer becomes once its socket is closed."""
    raise OSError(errno.EBADF, os.strerror(errno.EBADF))
