"""echo-conformance: a conformance suite for RFC 862 echo servers and TCP relays.

Theory of operation
-------------------
The suite is a pytest plugin (``conformance.plugin``) plus test modules whose every test
function is one *case*: a stable ID, a one-line requirement and a level (MUST / SHOULD),
declared with :func:`conformance._cases.case`.  The plugin parametrizes each case over the
implementations it applies to (``_registry``), starts servers through a keeper process that
guarantees none outlives the run (``_launch``, ``_keeper``), and hands each check an
endpoint to talk to with the bounded, loopback-only client in ``_client``.  Every time bound
lives in ``_bounds``; failure messages are built by ``_diff``.
"""
