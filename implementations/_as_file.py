"""What lets a reference server run as a file from a checkout, as the originals were run:

    python implementations/echo_thread.py --port 2007

Run so, a server is ``__main__`` outside any package, and its relative imports (``from . import
_common``) would fail.  Importing this module puts this folder's parent (the checkout's root)
first on ``sys.path`` in place of this folder, imports the folder as the package it becomes
when installed (``echo_conformance.implementations``), and names that package for the server
to take as its ``__package__`` (PEP 366).  Its relative imports then work as under ``python -m``.
"""

import os
import sys

sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import echo_conformance.implementations  # noqa: E402  (after the path it is found on)

PACKAGE = echo_conformance.implementations.__name__
