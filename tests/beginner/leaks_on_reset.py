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

import argparse
import socket
import threading

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


parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=9000)
args = parser.parse_args()

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((args.host, args.port))
server.listen()

while True:
    conn, addr = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
