"""Mistake: forks a child per connection and never reaps the children: each finished
connection leaves a zombie process behind.

    pid = os.fork()
    if pid == 0:
        ...serve the client...
        os._exit(0)
    conn.close()          # and no os.waitpid() anywhere, no SIGCHLD handler

Why people make it: the child exits, so it looks gone; that a parent must wait() for its
children (or set SIGCHLD to SIG_IGN) is Unix lore the fork examples skip, and zombies only
show in ps after many connections, until the process table or the user's process limit fills.
Where the pattern comes from: the classic accept()/fork() server of C network programming
books and courses, translated to Python's os.fork().
"""

import argparse
import os
import socket

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
    pid = os.fork()  # MISTAKE: nobody ever waits for this child
    if pid == 0:
        server.close()
        try:
            while True:
                data = conn.recv(1024)
                if not data:
                    break
                conn.sendall(data)
        except OSError:
            pass
        finally:
            conn.close()
            os._exit(0)
    conn.close()
