"""Defect: each direction of a relayed pair polls its source with non-blocking recv() calls in a loop and ignores the BlockingIOError each raises when nothing has arrived, so every connected client, silent or not, keeps a thread spinning: a core while idle.

Models the relay of someone who read "recv() blocks" as a problem and passed MSG_DONTWAIT
(or made the socket non-blocking) without a select()/poll() to wait on: nothing is lost, every
byte and half-close is passed on, but each connection's two threads ask for data round and
round until it ends.  With no client connected the relay is idle (its accept() blocks).
Otherwise the correct thread-per-direction relay of _faulty_relay.
"""

import socket

import _faulty
import _faulty_relay


class Polling(_faulty_relay.Pump):
    def __call__(self, src, dst):
        try:
            while True:
                try:
                    data = src.recv(_faulty.RECV_SIZE, socket.MSG_DONTWAIT)
                except (BlockingIOError, InterruptedError):
                    continue  # BUG: nothing yet: ask again at once, instead of waiting for data
                if not data:
                    break
                self.forward(data, dst)
            self.at_eof(src, dst)
        except OSError as exc:
            self.on_error(src, dst, exc)


if __name__ == "__main__":
    _faulty_relay.run(__doc__, up=Polling(), down=Polling())
