"""Defect: a non-blocking UDP loop that never waits: it calls recvfrom() round and round and ignores the BlockingIOError it raises when no datagram is there, so it burns a whole CPU core while idle.

Models the UDP server of someone who made the socket non-blocking "so the loop does not hang"
and skipped select()/poll(): each pass asks for a datagram, and almost every pass finds none.
Every datagram is answered whole, to its sender; only the waiting is missing.
Otherwise the correct serve loop of _faulty_udp.
"""

import _faulty_udp


def serve(sock):
    sock.setblocking(False)
    while True:
        try:
            data, peer = sock.recvfrom(_faulty_udp.MAX_DATAGRAM)
        except (BlockingIOError, InterruptedError):
            continue  # BUG: nothing there: ask again at once, instead of waiting for a datagram
        _faulty_udp.answer(sock, data, peer)


if __name__ == "__main__":
    _faulty_udp.run(__doc__, serve)
