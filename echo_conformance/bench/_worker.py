"""A load generator worker process (started by ``_generator.Generator``; not a command)."""

import sys

from ._generator import worker_main

if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
