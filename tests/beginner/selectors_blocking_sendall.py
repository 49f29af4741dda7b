"""Mistake: a single-threaded selectors loop over blocking sockets that answers with sendall():
a client that sends without reading fills its socket buffers, sendall() blocks, and the whole
loop -- every other client -- waits behind it.

    data = conn.recv(4096)
    conn.sendall(data)    # blocks the loop while this client does not read

Why people make it: select() says the socket is readable, so it feels safe to read and to
answer at once; sendall() does the "send everything" part for you.  Readable is not writable,
and a blocking write stalls everything in an event loop.
Where the pattern comes from: select()-based chat and echo servers of tutorials, which keep
the sockets blocking (error handling added here, so that a client's reset ends only its own
connection).
"""

import selectors

import _beginner

sel = selectors.DefaultSelector()


def drop(conn):
    sel.unregister(conn)
    conn.close()


args = _beginner.parse_args()
server = _beginner.listen(args.host, args.port)
sel.register(server, selectors.EVENT_READ)

while True:
    for key, mask in sel.select():
        if key.fileobj is server:
            conn, addr = server.accept()
            sel.register(conn, selectors.EVENT_READ)
            continue
        conn = key.fileobj
        try:
            data = conn.recv(4096)
            if not data:
                drop(conn)
                continue
            conn.sendall(data)  # MISTAKE: a blocking write inside the event loop
        except OSError:
            drop(conn)
