"""Mistake: a non-blocking selectors loop that ignores send()'s return value: what send()
did not take (a partial send), or all of it when send() raises BlockingIOError, is lost.

    data = conn.recv(1000)
    conn.send(data)  # Hope it won't block

Why people make it: on a fast local test every send() takes everything, so the count it
returns seems useless; when the first BlockingIOError crashes the server, catching and
ignoring it looks like the fix.  A client that reads more slowly than it sends loses data
silently.
Where the pattern comes from: the example at the end of the Python selectors docs, whose
comment says "Hope it won't block", with the BlockingIOError it raises caught and ignored (and
resets handled, so that they end only their own connection).
"""

import selectors

import _beginner

sel = selectors.DefaultSelector()


def accept(sock, mask):
    conn, addr = sock.accept()
    conn.setblocking(False)
    sel.register(conn, selectors.EVENT_READ, read)


def close(conn):
    sel.unregister(conn)
    conn.close()


def read(conn, mask):
    try:
        data = conn.recv(1000)
    except ConnectionError:
        close(conn)
        return
    if not data:
        close(conn)
        return
    try:
        conn.send(data)  # MISTAKE: the count send() returns is ignored
    except BlockingIOError:
        pass  # MISTAKE: ...and so is the whole chunk when the socket's buffer is full
    except ConnectionError:
        close(conn)


args = _beginner.parse_args()
sock = _beginner.listen(args.host, args.port, backlog=100)
sock.setblocking(False)
sel.register(sock, selectors.EVENT_READ, accept)

while True:
    events = sel.select()
    for key, mask in events:
        callback = key.data
        callback(key.fileobj, mask)
