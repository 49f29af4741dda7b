"""Defect: a global rate limit enforced by sleeping (100 answers a second for all peers together), so one peer's burst makes every other peer wait behind it.

Models anti-amplification rate limiting done wrong: one token bucket for the whole service,
and time.sleep() when it is empty, instead of a budget per source address that drops the
excess.  The socket's receive buffer is raised to 4 MiB "to absorb bursts", which keeps the
whole burst queued: a peer whose datagram arrives after a 2,000-datagram burst waits seconds
for its answer.  Without a burst every datagram is answered at once, correctly.
"""

import socket
import time

import _faulty_udp

RATE = 100.0  # answers per second, for everyone together
BURST = 50  # answers allowed back to back before the rate applies


def serve(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    tokens, last = float(BURST), time.monotonic()

    def rate_limited_answer(sock, data, peer):
        nonlocal tokens, last
        now = time.monotonic()
        tokens, last = min(BURST, tokens + (now - last) * RATE), now
        if tokens < 1:
            time.sleep((1 - tokens) / RATE)  # BUG: the one server loop waits, for everyone
            tokens, last = 1.0, time.monotonic()
        tokens -= 1
        _faulty_udp.answer(sock, data, peer)

    _faulty_udp.serve(sock, answer=rate_limited_answer)


if __name__ == "__main__":
    _faulty_udp.run(__doc__, serve)
