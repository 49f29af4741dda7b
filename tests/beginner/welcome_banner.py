"""Mistake: greets every client with a welcome line before echoing.

    conn.sendall(b"Welcome to the echo server!\\r\\n")

Why people make it: a greeting shows, when trying the server with telnet, that the connection
works; an echo server must send back only what it received (RFC 862), so a client that checks
its echo byte for byte sees bytes it never sent.
Where the pattern comes from: the first socket example of many tutorials, whose server sends
"Thank you for connecting" as soon as a client connects.
"""

import argparse
import socket
import threading


def handle(conn):
    with conn:
        conn.sendall(b"Welcome to the echo server!\r\n")  # MISTAKE: bytes nobody sent
        while True:
            data = conn.recv(1024)
            if not data:
                break
            conn.sendall(data)


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
