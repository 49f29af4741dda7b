"""Defect: a learner's first poll loop: select.poll over BLOCKING sockets, recv then sendall,
nothing else (no output buffers, no error handling, default signal handling).

A client that does not read fills its socket buffers, and sendall() then blocks the whole
loop: every other client waits.  A client's reset raises out of the loop and ends the server.
"""

import argparse
import select
import socket

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, required=True)
args = parser.parse_args()

listener = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind((args.host, args.port))
listener.listen(128)
poller = select.poll()
poller.register(listener, select.POLLIN)
clients = {}
while True:
    for fd, _events in poller.poll():
        if fd == listener.fileno():
            conn, _ = listener.accept()
            clients[conn.fileno()] = conn
            poller.register(conn, select.POLLIN)
            continue
        conn = clients[fd]
        data = conn.recv(65536)
        if data:
            conn.sendall(data)  # BUG: blocks everyone while this client's buffers are full
        else:
            poller.unregister(fd)
            del clients[fd]
            conn.close()
