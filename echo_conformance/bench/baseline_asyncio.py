"""``python -m echo_conformance.bench.baseline_asyncio --host H --port P``: the bench's baseline
echo server, an asyncio Protocol on asyncio's own event loop (see ``_baselines``)."""

import sys

from ._baselines import main

if __name__ == "__main__":
    sys.exit(main("asyncio"))
