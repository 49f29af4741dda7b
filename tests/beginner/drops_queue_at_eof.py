"""Mistake: a poll loop with a per-client output buffer that closes the connection as soon as
recv() returns b"" (the client's EOF), throwing away the echo still waiting in the buffer.

    data = s.recv(4096)
    if data:
        outgoing[fd] += data
    else:
        close(s)           # what is still in outgoing[fd] is never sent

Why people make it: "recv() returned b'' -> the client is gone" is what every example teaches,
and a client that closes completely is indeed gone; but a client that only shuts down its
write side (nc -N, an HTTP/1.0 client, shutdown(SHUT_WR)) still waits for the rest of its
echo, and the tail it has not received yet is lost.
Where the pattern comes from: PyMOTW's select/poll echo server (a message queue per client,
removed together with the connection when recv() returns nothing), with its send() count
handled and a cap on what is buffered per client.
"""

import select

import _beginner

READ_ONLY = select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR
READ_WRITE = READ_ONLY | select.POLLOUT
MAX_PENDING = 1 << 20  # stop reading from a client while this much of its echo is unsent

args = _beginner.parse_args()
server = _beginner.listen(args.host, args.port)
server.setblocking(False)

poller = select.poll()
poller.register(server, READ_ONLY)
sockets = {server.fileno(): server}
outgoing = {}  # fd -> bytes waiting to be echoed


def close(fd):
    poller.unregister(fd)
    sockets.pop(fd).close()
    del outgoing[fd]


def watch(fd):
    pending = len(outgoing[fd])
    events = READ_WRITE if pending else READ_ONLY
    if pending >= MAX_PENDING:
        events = select.POLLOUT
    poller.modify(fd, events)


while True:
    for fd, flag in poller.poll():
        if fd == server.fileno():
            try:
                conn, addr = server.accept()
            except BlockingIOError:
                continue
            conn.setblocking(False)
            sockets[conn.fileno()] = conn
            outgoing[conn.fileno()] = bytearray()
            poller.register(conn, READ_ONLY)
            continue
        if fd not in sockets:
            continue
        s = sockets[fd]
        try:
            if flag & (select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR):
                data = s.recv(65536)
                if data:
                    outgoing[fd] += data
                else:
                    close(fd)  # MISTAKE: the echo still in outgoing[fd] is dropped
                    continue
            if flag & select.POLLOUT and outgoing[fd]:
                sent = s.send(outgoing[fd])
                del outgoing[fd][:sent]
        except BlockingIOError:
            pass
        except OSError:
            close(fd)
            continue
        watch(fd)
