"""The conformance checks: every test function here is one case (see ``.._cases``)."""
