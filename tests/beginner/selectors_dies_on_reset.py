"""Mistake: a single-threaded selectors loop with no error handling: the first client that
resets its connection (ConnectionResetError from recv, BrokenPipeError from send) raises out
of the loop and ends the whole server.

    recv_data = sock.recv(4096)       # no try/except around it
    sent = sock.send(client.outb)     # nor around this

Why people make it: tried by hand, clients always close cleanly (Ctrl-D, or close()); a reset
only comes from a client that closes with unread data or crashes, and one such client takes
every other client down with it.  (SIGPIPE is not the issue in Python, which ignores it and
raises BrokenPipeError instead; in C the same loop also dies of SIGPIPE.)
Where the pattern comes from: Real Python's "Socket Programming in Python" multi-connection
server (selectors, a per-connection data.outb buffer), which has no exception handling in
service_connection(); here with its other rough edges fixed (write interest only while output
is pending, a cap on what is buffered per client, flush before closing at EOF).
"""

import selectors
import types

import _beginner

MAX_PENDING = 1 << 20  # stop reading from a client while this much of its echo is unsent

sel = selectors.DefaultSelector()


def accept_wrapper(sock):
    conn, addr = sock.accept()
    conn.setblocking(False)
    data = types.SimpleNamespace(addr=addr, outb=bytearray(), eof=False)
    sel.register(conn, selectors.EVENT_READ, data=data)


def service_connection(key, mask):
    sock = key.fileobj
    data = key.data
    if mask & selectors.EVENT_READ:
        recv_data = sock.recv(65536)  # MISTAKE: a reset raises here and ends the server
        if recv_data:
            data.outb += recv_data
        else:
            data.eof = True
    if mask & selectors.EVENT_WRITE and data.outb:
        sent = sock.send(data.outb)  # MISTAKE: ...and EPIPE/ECONNRESET here
        del data.outb[:sent]
    if data.eof and not data.outb:
        sel.unregister(sock)
        sock.close()
        return
    events = selectors.EVENT_WRITE if data.outb else 0
    if not data.eof and len(data.outb) < MAX_PENDING:
        events |= selectors.EVENT_READ
    sel.modify(sock, events, data=data)


args = _beginner.parse_args()
lsock = _beginner.listen(args.host, args.port)
lsock.setblocking(False)
sel.register(lsock, selectors.EVENT_READ, data=None)

while True:
    events = sel.select(timeout=None)
    for key, mask in events:
        if key.data is None:
            accept_wrapper(key.fileobj)
        else:
            service_connection(key, mask)
