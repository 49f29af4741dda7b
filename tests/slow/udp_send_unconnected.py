"""Defect: answers with ``sock.send(data)`` instead of ``sock.sendto(data, peer)`` on its
unconnected socket: every answer fails (EDESTADDRREQ, "Destination address required"), and
the error is logged and the loop goes on.  It binds, reads every datagram and answers nobody.
"""

import sys

import _slow  # noqa: F401
import _faulty_udp

_logged = 0


def serve(sock):
    global _logged
    while True:
        data, peer = sock.recvfrom(_faulty_udp.MAX_DATAGRAM)
        try:
            sock.send(data)  # BUG: no destination: the peer is never used
        except OSError as exc:
            if _logged < 5:  # the log stays short
                _logged += 1
                print(f"answering {peer}: {exc}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    _faulty_udp.run(__doc__, serve)
