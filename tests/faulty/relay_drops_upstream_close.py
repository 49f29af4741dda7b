"""Defect: when the upstream closes (or resets), the relay's upstream-to-client copy just ends: nothing reaches the client, which never sees EOF (or the reset) and waits forever.

Models a copy loop whose only way out is ``break`` -- on EOF and on an error alike -- with
the client socket closed only when the client-to-upstream direction finishes, that is when
the client itself closes.  The upstream's end never reaches the client.
Everything else is the correct thread-per-direction relay of _faulty_relay.
"""

import _faulty
import _faulty_relay


def upstream_to_client(src, dst):
    while True:
        try:
            data = src.recv(_faulty.RECV_SIZE)
        except OSError:
            break  # BUG: the upstream's reset is not passed on
        if not data:
            break  # BUG: the upstream's EOF is not passed on: missing dst.shutdown(socket.SHUT_WR)
        try:
            dst.sendall(data)
        except OSError:
            _faulty_relay.abort(src)
            _faulty_relay.abort(dst)
            break


if __name__ == "__main__":
    _faulty_relay.run(__doc__, down=upstream_to_client)
