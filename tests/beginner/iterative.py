"""Mistake: a correct one-client-at-a-time (iterative) server, run with the suite's default
declaration, which promises a concurrent one.

    while True:
        conn, addr = s.accept()
        with conn:
            ...echo until EOF...

Why people make it: the Python docs' echo server serves exactly one client; wrapping it in
``while True`` makes it serve clients one after another, and with one client at a time (how
one tries a server by hand) nothing shows that the second client waits.  As written it is a
correct serial server (declare it with --impl-model serial); the mistake is the declaration
left at its default, concurrent.
Where the pattern comes from: the "Echo server program" of the Python socket module's docs,
in a ``while True`` loop (plus a try/except so that a client's reset does not end it).
"""

import argparse
import socket

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=9000)
args = parser.parse_args()

with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((args.host, args.port))
    s.listen()
    while True:
        conn, addr = s.accept()  # MISTAKE (as declared): the next client waits for this one
        with conn:
            try:
                while True:
                    data = conn.recv(1024)
                    if not data:
                        break
                    conn.sendall(data)
            except ConnectionError:
                pass
