"""Two tricks that make an event-driven echo server cheaper per message (a proposal, issue 11).

Kept out of the teaching servers on purpose: echo_poll and echo_reactor show the model, and
every step of it (read into a buffer, ask for POLLOUT, write when told); this module shows
what a production loop does instead, and the bench measures the difference
(``echo-conformance bench --impl-cmd "{python} -m echo_conformance.implementations._fastpath
--host {host} --port {port}"``).

1. Write at once ("optimistic write"; libuv, asyncio's transports and muduo all do it).  The
   teaching loop appends what it read to the connection's buffer, asks poll for POLLOUT, and
   sends on the *next* round: two trips through the loop, and two changes of the interest set,
   per message.  Here the echo is sent right after the recv; only what the socket does not take
   is buffered, and only then is EPOLLOUT asked for.  In ping-pong the socket always takes it,
   so a message costs one wakeup, one recv and one send.
2. epoll instead of poll.  poll() hands the kernel every descriptor on every call, and the
   kernel checks each one: O(connections) per wakeup.  epoll keeps the interest set in the
   kernel and returns only the ready descriptors: O(ready).  It matters from hundreds of
   connections on.

Everything else is as in echo_poll: non-blocking sockets, backpressure at HIGH_WATER bytes of
unsent echo (stop reading; the client's window closes), half-close (flush, then close), a
reset ends that connection only, SIGTERM/SIGINT exit 0.  Linux only (epoll).
RFC 862: any data received is sent back until the calling user terminates the connection.
"""

import logging
import select
import sys

from . import _common as common

log = logging.getLogger("fastpath")

RECV_SIZE = 64 * 1024
HIGH_WATER = 1024 * 1024
IN, OUT, ERR = select.EPOLLIN, select.EPOLLOUT, select.EPOLLERR


def serve(args):
    listener = common.listen(args.host, args.port)
    listener.setblocking(False)
    epoll = select.epoll()
    epoll.register(listener.fileno(), IN)
    socks = {}    # fd -> socket
    pending = {}  # fd -> bytearray: echo the socket did not take yet (absent: none)
    eof = set()   # fds whose client has shut down its write side

    def close(fd):
        epoll.unregister(fd)
        socks.pop(fd).close()
        pending.pop(fd, None)
        eof.discard(fd)

    def watch(fd):
        """Interest while echo is pending: OUT, and IN too below the high-water mark."""
        out = pending[fd]
        epoll.modify(fd, OUT | (IN if fd not in eof and len(out) < HIGH_WATER else 0))

    try:
        while True:
            for fd, events in epoll.poll():
                if fd == listener.fileno():
                    while True:
                        try:
                            sock, _ = listener.accept()
                        except BlockingIOError:
                            break
                        except OSError as exc:  # e.g. EMFILE
                            log.warning("accept: %s", exc)
                            break
                        sock.setblocking(False)
                        socks[sock.fileno()] = sock
                        epoll.register(sock.fileno(), IN)
                    continue
                sock = socks.get(fd)
                if sock is None:
                    continue
                if events & ERR:
                    close(fd)
                    continue
                try:
                    out = pending.get(fd)
                    if events & OUT and out is not None:
                        del out[:sock.send(out)]
                        if not out:
                            del pending[fd]
                            if fd in eof:
                                close(fd)  # half-close done: all echoed, now our FIN
                                continue
                            epoll.modify(fd, IN)
                        else:
                            watch(fd)
                    if events & IN and fd not in eof:
                        data = sock.recv(RECV_SIZE)
                        if not data:
                            eof.add(fd)
                            if fd not in pending:
                                close(fd)
                            else:
                                watch(fd)
                        elif fd in pending:  # still behind: keep the order, queue it
                            pending[fd] += data
                            watch(fd)
                        else:
                            try:
                                sent = sock.send(data)  # trick 1: write at once
                            except BlockingIOError:
                                sent = 0
                            if sent < len(data):
                                pending[fd] = bytearray(data[sent:])
                                watch(fd)
                except BlockingIOError:
                    pass  # spurious readiness
                except OSError as exc:  # ECONNRESET, EPIPE: this connection only
                    log.debug("fd %d: %s", fd, exc)
                    close(fd)
    finally:
        for sock in socks.values():
            sock.close()
        listener.close()
        epoll.close()


def main():
    args = common.parse_args(__doc__, default_port=2007)
    return common.run(serve, args)


if __name__ == "__main__":
    sys.exit(main())
