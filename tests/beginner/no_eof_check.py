"""Mistake: the echo loop has no ``if not data: break``: after the client's EOF, recv()
returns b"" at once, forever, and the handler spins without ever closing the connection.

    while True:
        data = conn.recv(1024)
        conn.sendall(data)

Why people make it: the loop looks complete (receive, send back), and a client that is
killed (Ctrl-C on nc) seems to end it; that recv() returning b"" means "the client has
finished" is easy to miss, and sendall(b"") does not fail.  The client that half-closes
never sees EOF, and every finished client leaves a thread burning CPU.
Where the pattern comes from: tutorial echo loops with the EOF check left out.
"""

import argparse
import socket
import threading


def handle(conn):
    while True:
        data = conn.recv(1024)
        conn.sendall(data)  # MISTAKE: b"" (EOF) is not checked: spins, never closes


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
