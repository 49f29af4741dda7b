"""Defect: forwards byte by byte, sleeping after every byte (a naive relay that sleeps per byte).

Every byte arrives, in order, and half-close and resets are passed on correctly, but one
byte at a time with a sleep each: a few tens of KiB/s.  Bytes keep trickling, so a stall
bound that restarts with every byte never fires.
"""

import time

import _slow  # noqa: F401  (makes _faulty_relay importable)
import _faulty_relay

PER_BYTE = 0.00002  # seconds; a sleep() this short still costs ~50-60 us on Linux


class PerByte(_faulty_relay.Pump):
    def forward(self, data, dst):
        for i in range(len(data)):
            dst.sendall(data[i : i + 1])
            time.sleep(PER_BYTE)  # BUG: a sleep per byte forwarded


if __name__ == "__main__":
    _faulty_relay.run(__doc__, up=PerByte(), down=PerByte())
