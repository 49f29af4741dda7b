"""Defect: once the client half-closes, the relay passes the EOF on and closes both sides a fixed 0.5 s later, whatever is still on its way back.

Models a relay with a "closing phase" timeout (socat's -t, 0.5 s by default): after one
direction's EOF it waits a fixed time for the other direction, then ends the session.  Fine
while the answer comes back at once to a client that reads at once; a client that
half-closes and then reads slowly, or an upstream that takes longer than that to answer,
loses the rest of the answer (the client sees it end early, without an error).
Everything else is the correct thread-per-direction relay of _faulty_relay.
"""

import threading

import _faulty_relay

GIVE_UP_AFTER = 0.5  # BUG: a fixed time after the client's EOF, not "when both directions are done"


class ClientToUpstream(_faulty_relay.Pump):
    def at_eof(self, src, dst):
        super().at_eof(src, dst)
        # BUG: both sockets are reset a fixed time after the client's EOF, mid-answer or not
        timer = threading.Timer(GIVE_UP_AFTER, lambda: (_faulty_relay.abort(src), _faulty_relay.abort(dst)))
        timer.daemon = True
        timer.start()


if __name__ == "__main__":
    _faulty_relay.run(__doc__, up=ClientToUpstream())
