"""Defect: answers a batch of datagrams to the sender of the last one: the sender is kept in one variable, overwritten by every recvfrom.

To save wake-ups the server drains every datagram that arrives within a short batching
window and then answers them in one go.  The data go into a list, but the sender goes into
a single variable that each recvfrom() overwrites, so when several peers send at once,
answers go to whichever peer sent last.  With one peer at a time every answer is right.
"""

import _faulty_udp

BATCH_WINDOW = 0.005  # seconds to wait for more datagrams after the first


def serve(sock):
    while True:
        data, peer = sock.recvfrom(_faulty_udp.MAX_DATAGRAM)
        batch = [data]
        for data, peer in _faulty_udp.datagrams_within(sock, BATCH_WINDOW):
            batch.append(data)  # BUG: `peer` is overwritten: the earlier senders are forgotten
        for data in batch:
            _faulty_udp.answer(sock, data, peer)


if __name__ == "__main__":
    _faulty_udp.run(__doc__, serve)
