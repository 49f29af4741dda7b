"""Defect: the protocol object stores its connection in a class attribute, so every handler writes its echo to the most recently accepted connection.

Models the class-attribute-instead-of-instance-attribute bug in a
Protocol-style handler: ``connection_made`` does ``EchoProtocol.transport =
sock`` (shared by every instance) where ``self.transport = sock`` was meant,
and ``data_received`` writes with ``self.transport``.  With one client it is a
correct echo server; with two connections open, the first one's data is echoed
to the second.
Otherwise a correct thread-per-connection echo server (each connection is read,
and closed at EOF, by its own thread).
"""

import _faulty


class EchoProtocol:
    transport = None

    def connection_made(self, sock):
        EchoProtocol.transport = sock  # BUG: class attribute, shared by every connection

    def data_received(self, data):
        self.transport.sendall(data)  # goes to the most recently accepted connection


def read_loop(conn, protocol):
    while True:
        data = conn.recv(_faulty.RECV_SIZE)
        if not data:
            return
        protocol.data_received(data)


def on_accept(conn):
    protocol = EchoProtocol()
    protocol.connection_made(conn)  # right after accept(), as an event loop does
    _faulty.start_daemon(_faulty.handle_and_close, conn, lambda c: read_loop(c, protocol))


def serve(listener):
    _faulty.accept_loop(listener, on_accept)


if __name__ == "__main__":
    _faulty.run(__doc__, serve)
