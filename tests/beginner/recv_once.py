"""Mistake: reads once, echoes that one read, and closes (thread per client).

    data = conn.recv(1024)
    conn.send(data)
    conn.close()

Why people make it: typed by hand with nc or telnet, one line arrives in one recv(), so the
server looks right; that recv() returns whatever has arrived so far (up to 1024 bytes), not a
"message", is invisible until a client sends more than one segment.
Where the pattern comes from: the first server of many socket tutorials (receive, reply,
close), and the socketserver docs' TCP handler, which handles a single recv() per connection.
"""

import argparse
import socket
import threading


def handle(conn):
    data = conn.recv(1024)  # MISTAKE: one read is not the whole stream
    conn.send(data)
    conn.close()


parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=9000)
args = parser.parse_args()

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((args.host, args.port))
server.listen()
print(f"echo server listening on {args.host}:{args.port}", flush=True)

while True:
    conn, addr = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
