"""Mistake: a socketserver StreamRequestHandler that echoes line by line with
``self.rfile.readline()``: whatever follows the last newline is held back until more data or
the client's EOF comes, so a client that sends "hello" without a newline waits forever.

    while line := self.rfile.readline():
        self.wfile.write(line)

Why people make it: the socketserver docs show rfile.readline() as the convenient way to read
from a StreamRequestHandler, and every test message typed into nc or telnet ends with a
newline.  (Binary mode: the bytes themselves come back intact.)
Where the pattern comes from: the socketserver docs' StreamRequestHandler example
(``self.data = self.rfile.readline().strip()``), put in a loop, on a ThreadingTCPServer.
"""

import socketserver

import _beginner


class EchoHandler(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            line = self.rfile.readline()  # MISTAKE: waits for a newline
            if not line:
                break
            self.wfile.write(line)


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


args = _beginner.parse_args()
with Server((args.host, args.port), EchoHandler) as server:
    server.serve_forever()
