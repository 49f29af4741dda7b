"""Mistake: serves every client from one loop over non-blocking sockets with no select() or
poll(): it tries accept() and recv() on everything, round and round, and ignores the
BlockingIOError each one raises when there is nothing to do.  It echoes correctly, and uses a
whole CPU core while no client sends anything (or none is connected).

    while True:
        try: conn, addr = server.accept() ...
        except BlockingIOError: pass
        for conn in clients:
            try: data = conn.recv(4096) ...
            except BlockingIOError: pass

Why people make it: setblocking(False) is the first answer to "recv() blocks my loop", and
once the loop works the CPU it burns goes unnoticed on a test machine; waiting for readiness
(select, poll, selectors) is the part of the lesson that got skipped.
Where the pattern comes from: Stack Overflow answers that make sockets non-blocking "so the
loop doesn't hang", and "non-blocking server without threads" blog posts.
"""

import _beginner

MAX_PENDING = 1 << 20  # stop reading from a client while this much of its echo is unsent

args = _beginner.parse_args()
server = _beginner.listen(args.host, args.port)
server.setblocking(False)

clients = {}  # conn -> [bytes waiting to be echoed, client has sent EOF]

while True:  # MISTAKE: nothing in this loop ever waits
    try:
        conn, addr = server.accept()
        conn.setblocking(False)
        clients[conn] = [bytearray(), False]
    except BlockingIOError:
        pass
    for conn, state in list(clients.items()):
        pending, eof = state
        try:
            if not eof and len(pending) < MAX_PENDING:
                try:
                    data = conn.recv(65536)
                    if data:
                        pending += data
                    else:
                        state[1] = eof = True
                except BlockingIOError:
                    pass
            if pending:
                try:
                    sent = conn.send(pending)
                    del pending[:sent]
                except BlockingIOError:
                    pass
        except OSError:
            del clients[conn]
            conn.close()
            continue
        if eof and not pending:
            del clients[conn]
            conn.close()
