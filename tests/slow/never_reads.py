"""Defect: accepts connections and never reads from them (the handler was never started).
"""

import _slow  # noqa: F401
import _faulty

_held = []


def serve(listener):
    _faulty.accept_loop(listener, _held.append)  # BUG: accepted, kept, never served


if __name__ == "__main__":
    _faulty.run(__doc__, serve)
