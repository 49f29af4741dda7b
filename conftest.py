"""Load the echo-conformance pytest plugin for every run from the repository root."""

pytest_plugins = ["echo_conformance"]
