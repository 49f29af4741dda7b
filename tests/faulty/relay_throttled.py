"""Defect: paces the copy with a sleep per byte forwarded (about 512 KiB/s per direction), so large transfers take many times longer than the network needs.

Models a relay that sleeps per byte it forwards: a "be gentle with the
upstream" or debugging leftover.  16 MiB take more than 30 s each way.  Every byte arrives,
in order, and half-close and resets are passed on correctly.
"""

import time

import _faulty_relay

RATE = 512 * 1024  # bytes per second


class Paced(_faulty_relay.Pump):
    def forward(self, data, dst):
        dst.sendall(data)
        time.sleep(len(data) / RATE)  # BUG: a sleep per byte forwarded


if __name__ == "__main__":
    _faulty_relay.run(__doc__, up=Paced(), down=Paced())
