"""``python -m echo_conformance.bench.baseline_uvloop --host H --port P``: the bench's baseline
echo server, the same asyncio Protocol on uvloop's event loop (``pip install uvloop``; see
``_baselines``)."""

import sys

from ._baselines import main

if __name__ == "__main__":
    sys.exit(main("uvloop"))
