"""Defect: a pre-threaded pool that caps its workers at 8, whatever --workers says.

Models a pool size clamped by a forgotten constant (or by a CPU-count heuristic): it is
declared, and started, with 16 workers, but only 8 clients are served at once; the 9th to
16th wait although the capacity promised them service.
Otherwise a correct fixed pool: clients beyond its 8 wait and are served in turn.
"""

import _faulty_pool

MAX_WORKERS = 8  # BUG: silently caps the declared pool size


if __name__ == "__main__":
    _faulty_pool.run(__doc__, lambda workers: _faulty_pool.Pool(min(workers, MAX_WORKERS)))
