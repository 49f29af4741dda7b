"""``echo-conformance bench``: how fast each server model is, at what CPU cost, as connections grow.

Theory of operation
-------------------
The conformance suite answers which servers let clients block each other; the bench answers
what each costs.  It starts servers with the suite's launch harness (``_launch``: a keeper per
server, nothing outlives the bench), drives them with a load generator of several processes
(``_generator``: closed-loop ping-pong by default, open loop at a fixed rate with ``--rate``),
reads each server's CPU time over its whole process tree (``_runner``), and reports every
point (``_point``: one implementation at one load) as JSON, a table and plots (``_report``),
next to the baselines (``_baselines``: the smallest correct asyncio Protocol echo, on asyncio
and on uvloop).

The three classic mistakes of echo benchmarks, and what the bench does about them:

* a load generator that is itself the bottleneck: the generator measures its own CPU time
  and run-queue delay, and a point where one of its processes was busy 90 % of the time or
  more is marked ``generator_saturated`` (``GENERATOR SATURATED`` in the table, a hollow
  marker in the plots), never silently reported;
* latency computed as 1/throughput: every message is timed on its own (``perf_counter_ns``),
  and the percentiles come from those samples;
* open-loop versus closed-loop confusion: the mode is part of every point; closed loop (the
  default) measures the throughput a server sustains, open loop (``--rate``) the latency at a
  given load, from each message's scheduled send time (no coordinated omission).

``python -m echo_conformance.bench`` is ``echo-conformance bench``.  This package imports
nothing heavy at import time: the baseline servers (``baseline_asyncio``, ``baseline_uvloop``)
run from it with the standard library (and uvloop) only.
"""


def main(argv=None) -> int:
    from .cli import main as _main

    return _main(argv)
