"""Defect: a thread-per-connection handler that, after the client's EOF and a correct end of the echo (shutdown of its write side), "waits for the client to close" by calling recv() in a loop: recv() returns b"" at once, forever, so the thread spins at a full core and the socket is never closed.

Models a misread graceful close: the author passes the EOF on (the client gets every byte
and then EOF, as it should), then waits for the client to close its end too, expecting recv()
to raise once it has; but after EOF recv() only ever returns b"" at once, so the loop never
ends (only a client's reset ends it).  Every client that leaves cleanly leaves a thread
spinning and a descriptor open; with one such thread, an otherwise idle server uses a core.
Unlike tests/slow/spin_at_eof.py (which never passes the EOF on, so its half-closed clients
wait forever), the client sees a correct echo here: only the CPU (and the thread and
descriptor kept) shows the defect.
Otherwise the correct thread-per-connection server of _faulty.
"""

import socket

import _faulty


def handle(conn):
    _faulty.echo_until_eof(conn)
    conn.shutdown(socket.SHUT_WR)  # the echo is complete: pass the EOF on (correct)
    while True:  # BUG: "until the client closes": recv() returns b"" at once, forever
        conn.recv(_faulty.RECV_SIZE)


if __name__ == "__main__":
    _faulty.run_threaded(__doc__, handle)
