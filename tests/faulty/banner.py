"""Defect: sends a greeting line as soon as a client connects.

Models a server built from a line-protocol template (SMTP/FTP style "220 ready"
banner) or a friendly "welcome" message: RFC 862 says only received data is
sent back, so the greeting is data the client never sent.
Otherwise a correct thread-per-connection echo server.
"""

import _faulty

BANNER = b"Welcome to the echo server\r\n"


def handle(conn):
    conn.sendall(BANNER)  # BUG: unsolicited data
    _faulty.echo_until_eof(conn)


if __name__ == "__main__":
    _faulty.run_threaded(__doc__, handle)
