"""Mistake: a thread-per-client server that closes a connection only when the client ends it
cleanly: a client's reset raises out of the handler, and the socket stays in the server's
list of clients, open, forever (one file descriptor leaked per reset).

    clients.append(conn)
    ...echo until EOF...
    clients.remove(conn)  # skipped when recv() raises ConnectionResetError
    conn.close()

Why people make it: the cleanup is written for the way the author ends a connection by hand
(a clean close); an exception path is not visible in the code, and an uncaught exception in a
thread only prints a traceback, so the server looks healthy until it runs out of descriptors.
Where the pattern comes from: chat-server tutorials that keep a list of connected clients
(to count or broadcast to them), with the cleanup after the loop instead of in ``finally``.
"""

import threading

import _beginner

clients = []  # every connected client, to show how many are online
lock = threading.Lock()


def handle(conn):
    with lock:
        clients.append(conn)
    while True:
        data = conn.recv(1024)  # MISTAKE: a reset raises here: the cleanup below never runs
        if not data:
            break
        conn.sendall(data)
    with lock:
        clients.remove(conn)
    conn.close()


args = _beginner.parse_args()
server = _beginner.listen(args.host, args.port)
_beginner.serve_in_threads(server, handle)
