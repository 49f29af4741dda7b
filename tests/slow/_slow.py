"""Makes the faulty servers' correct plumbing (``tests/faulty/_faulty*.py``) importable from
this directory: each slow server here adds one defect on top of it, like the faulty ones."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "faulty"))
