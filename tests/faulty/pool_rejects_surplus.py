"""Defect: a pre-threaded pool that closes a client when no worker is free ("server busy").

Models load shedding in the acceptor: instead of leaving the client queued until a worker
is free, it closes the connection at once, so the client of the N+1st connection gets EOF
(and loses what it sent) although a worker frees up moments later.
Otherwise a correct fixed pool of --workers threads.
"""

import _faulty_pool


class SheddingPool(_faulty_pool.Pool):
    def hand_over(self, conn):
        with self.lock:
            busy = self.idle - self.accepted.qsize() <= 0
        if busy:
            conn.close()  # BUG: turns the client away instead of letting it wait
            return
        super().hand_over(conn)


if __name__ == "__main__":
    _faulty_pool.run(__doc__, SheddingPool)
