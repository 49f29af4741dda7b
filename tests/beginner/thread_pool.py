"""Mistake: hands each client to a ThreadPoolExecutor with the default number of workers
(min(32, CPUs + 4)): a client occupies a worker for as long as it stays connected, so once
that many clients are connected the next ones are accepted but not served until one leaves.

    pool = ThreadPoolExecutor()
    pool.submit(handle, conn)

Why people make it: "use a thread pool, not a thread per client" is standard advice, and the
default size looks generous; but a pool fits short tasks, not connections that stay open.  On
a two-core machine the 7th simultaneous client waits.
Where the pattern comes from: concurrent.futures examples and code-review advice applied to
a thread-per-client server.
"""

import argparse
import socket
from concurrent.futures import ThreadPoolExecutor


def handle(conn):
    with conn:
        try:
            while True:
                data = conn.recv(1024)
                if not data:
                    break
                conn.sendall(data)
        except ConnectionError:
            pass


parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=9000)
args = parser.parse_args()

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((args.host, args.port))
server.listen()

pool = ThreadPoolExecutor()  # MISTAKE: a handful of workers, each held by one client
while True:
    conn, addr = server.accept()
    pool.submit(handle, conn)
