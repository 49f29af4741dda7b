"""Mistake: strips each chunk it receives and adds a newline to it:
``conn.sendall(data.strip() + b"\\n")``.

Why people make it: typed with nc or telnet, every line arrives with its newline (or CR/LF),
and the author strips it to print or log the message cleanly, then adds "\\n" back so the
echo still ends the line; it looks right on a terminal.  But a chunk is not a line: every
chunk without a newline gets one added, and whitespace at a chunk's ends is lost.
Where the pattern comes from: chat and command-server tutorials that ``.strip()`` what they
receive before handling it, and println-style replies.
"""

import argparse
import socket
import threading


def handle(conn):
    with conn:
        while True:
            data = conn.recv(1024)
            if not data:
                break
            conn.sendall(data.strip() + b"\n")  # MISTAKE: a chunk is not a line


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
