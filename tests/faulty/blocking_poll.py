"""Defect: a single-threaded poll loop with BLOCKING client sockets and sendall(), so one client that does not read stalls every client.

Models the classic poll-loop defect: a reactor (select.poll) that never sets
the client sockets non-blocking and writes with a blocking ``sendall``; once a
client stops reading and the socket buffers fill, the whole loop blocks in that
client's send.
Otherwise the poll reactor of _faulty_poll: polite clients (that read their
echoes) are served correctly and concurrently.
"""

import _faulty_poll


class Reactor(_faulty_poll.Reactor):
    def setup(self, sock):
        pass  # BUG: the client socket stays blocking (no sock.setblocking(False))

    def received(self, c, data):
        c.sock.sendall(data)  # BUG: blocks the whole loop while this client's buffers are full


if __name__ == "__main__":
    _faulty_poll.run(__doc__, Reactor)
