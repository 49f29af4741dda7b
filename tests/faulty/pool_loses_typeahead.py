"""Defect: each worker discards what a client sent before the worker took it ("flush typeahead").

Models a habit from interactive line protocols: before serving a connection, read and drop
whatever is already buffered on it.  A client that waited for a worker loses every byte it
sent while waiting; clients served at once lose nothing.
Otherwise a correct fixed pool of --workers threads.
"""


import _faulty
import _faulty_pool


def flush_then_echo(conn):
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
    _faulty_pool.run(__doc__, lambda workers: _faulty_pool.Pool(workers, flush_then_echo))
