"""Defect: a worker discards what a client sent while it waited for a worker ("flush typeahead").

Models a habit from interactive line protocols: before serving a connection that had to wait,
read and drop whatever is already buffered on it.  A client that waited for a worker loses
every byte it sent while waiting; clients served at once lose nothing.
Otherwise a correct fixed pool of --workers threads.
"""


import _faulty
import _faulty_pool


class FlushingPool(_faulty_pool.Pool):
    def __init__(self, workers):
        super().__init__(workers, self.flush_then_echo)
        self.waited = set()  # the connections handed over while no worker was free

    def hand_over(self, conn):
        with self.lock:
            if self.idle - self.accepted.qsize() <= 0:
                self.waited.add(conn.fileno())
        super().hand_over(conn)

    def flush_then_echo(self, conn):
        with self.lock:
            waited = conn.fileno() in self.waited
            self.waited.discard(conn.fileno())
        if waited:
            conn.setblocking(False)
            try:
                while conn.recv(65536):  # BUG: drops the bytes sent while the client waited
                    pass
            except BlockingIOError:
                pass
            finally:
                conn.setblocking(True)
        _faulty.echo_until_eof(conn)


if __name__ == "__main__":
    _faulty_pool.run(__doc__, FlushingPool)
