"""Event-driven TCP echo server: one thread, select.poll, non-blocking sockets.

Model 5 (poll reactor, written as one loop): clients do not block each other as
long as no call blocks -- every socket is non-blocking and unsent echo waits in
a per-connection buffer until poll reports POLLOUT.
RFC 862: any data received is sent back until the calling user terminates the connection.
"""

import logging
import select
import sys

if not __package__: from _as_file import PACKAGE as __package__  # run as a file too (see _as_file.py)

from . import _common as common

log = logging.getLogger("echo_poll")

RECV_SIZE = 64 * 1024
# Backpressure: a client that sends but never reads would make its output
# buffer grow without bound. Above this much unsent echo we stop polling it for
# POLLIN; its data then waits in the kernel, its TCP window closes and its own
# send() blocks. We read again once the buffer drains below the mark.
HIGH_WATER = 1024 * 1024

IN, OUT = select.POLLIN, select.POLLOUT
DEAD = select.POLLERR | select.POLLHUP | select.POLLNVAL


def serve(args):
    listener = common.bind(args.host, args.port)
    poller = select.poll()
    # Non-blocking everywhere: a single blocking call would stall every client.
    listener.setblocking(False)
    poller.register(listener, IN)
    conns = {}     # fd -> socket
    outbuf = {}    # fd -> bytearray of data received but not yet echoed
    eof = set()    # fds whose client has shut down its write side

    def close(fd):
        poller.unregister(fd)
        conns.pop(fd).close()
        del outbuf[fd]
        eof.discard(fd)
        log.debug("closed fd %d", fd)

    def update(fd):
        """Poll for what this connection can do now, or close it if finished."""
        out = outbuf[fd]
        if fd in eof and not out:
            close(fd)  # half-close done: everything echoed, now send our FIN
            return
        events = 0
        if fd not in eof and len(out) < HIGH_WATER:
            events |= IN
        if out:
            events |= OUT
        poller.modify(fd, events)

    try:
        while True:
            for fd, events in poller.poll():
                if fd == listener.fileno():
                    # Accept every pending connection, not just one per wakeup.
                    while True:
                        try:
                            sock, peer = listener.accept()
                        except BlockingIOError:
                            break
                        except OSError as exc:  # e.g. EMFILE: out of descriptors
                            log.warning("accept: %s", exc)
                            break
                        # accept() returns a blocking socket; make it non-blocking.
                        sock.setblocking(False)
                        conns[sock.fileno()] = sock
                        outbuf[sock.fileno()] = bytearray()
                        poller.register(sock, IN)
                        log.debug("connection from %s on fd %d", peer, sock.fileno())
                    continue

                if events & DEAD:
                    # Reset or error: nobody left to echo to. (We never shut
                    # down our own write side, so POLLHUP always means this.)
                    close(fd)
                    continue
                sock = conns[fd]
                try:
                    if events & IN:
                        data = sock.recv(RECV_SIZE)
                        if data:
                            outbuf[fd] += data
                        else:
                            eof.add(fd)  # client half-closed: stop reading, flush, close
                    if events & OUT:
                        # send() writes only what fits in the socket buffer; it
                        # returns the count, and the rest stays for next POLLOUT.
                        sent = sock.send(outbuf[fd])
                        del outbuf[fd][:sent]
                except BlockingIOError:
                    pass  # spurious readiness: try again on the next event
                except OSError as exc:
                    # ECONNRESET, EPIPE...: this connection only.
                    log.debug("fd %d: %s", fd, exc)
                    close(fd)
                    continue
                update(fd)
    finally:
        for sock in conns.values():
            sock.close()
        listener.close()


def main():
    args = common.parse_args(__doc__, default_port=2007)
    return common.run(serve, args)


if __name__ == "__main__":
    sys.exit(main())
