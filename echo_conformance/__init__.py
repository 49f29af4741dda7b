"""echo-conformance: a conformance suite for RFC 862 echo servers and TCP relays.

Theory of operation
-------------------
The suite is a pytest plugin (``echo_conformance.plugin``) plus check modules
(``echo_conformance.checks``) whose every test function is one *case*: a stable ID, a one-line
requirement and a level (MUST / SHOULD), declared with :func:`echo_conformance._cases.case`.
The plugin parametrizes each case over the implementations it applies to (``_registry``),
starts servers through a keeper process that guarantees none outlives the run (``_launch``,
``_keeper``), and hands each check an endpoint to talk to with the bounded, loopback-only
client in ``_client``.  Every time bound lives in ``_bounds``; failure messages are built by
``_diff``.  The reference servers live in ``echo_conformance.implementations``.

``pytest -p echo_conformance`` loads the plugin into any pytest run.  The plugin's hooks are
re-exported here only when pytest is already running, so that starting a reference server
(``python -m echo_conformance.implementations...``) imports nothing but the standard library.
"""

import sys

__version__ = "0.2.0"

if "pytest" in sys.modules:  # loaded as a plugin (-p echo_conformance) or imported by a test
    from .plugin import *  # noqa: F401,F403  (hooks and fixtures, for -p echo_conformance)
    from .plugin import _pool  # noqa: F401  (a fixture; * skips private names)
