"""``python -m echo_conformance.bench``: the ``echo-conformance bench`` command (see ``--help``)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
