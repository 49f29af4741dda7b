"""echo-conformance: a conformance suite for RFC 862 echo servers and TCP relays.

Theory of operation
-------------------
The suite is a pytest plugin (``echo_conformance.plugin``) plus check modules
(``echo_conformance.checks``) whose every test function is one *case*: a stable ID, a one-line
requirement and a level (MUST / SHOULD), declared with :func:`echo_conformance.check.case`.
The plugin parametrizes each case over the implementations it applies to (``_registry``),
starts servers through a keeper process that guarantees none outlives the run (``_launch``,
``_keeper``), and hands each check an endpoint to talk to with the bounded, loopback-only
client in ``_client``.  Every time bound lives in ``_bounds``; failure messages are built by
``_diff``.  The reference servers are ``echo_conformance.implementations``.

Where the folders are: in a checkout the checks and the servers sit at the top level
(``conformance/``, ``implementations/``); the wheel maps them into this package at build time
(``pyproject.toml``'s ``package-dir``), so that it installs this one package and nothing else,
and ``_map_checkout_folders`` does the same in a checkout at import time, so that the two names
work alike in both.  docs/layout.md maps every folder and module.

``pytest -p echo_conformance`` loads the plugin into any pytest run.  The plugin's hooks are
re-exported here only when pytest is already running, so that starting a reference server
(``python -m echo_conformance.implementations...``) imports nothing but the standard library.
"""

import importlib.util
import os
import sys

__version__ = "0.2.0"

#: subpackage -> the checkout's top-level folder that holds it
CHECKOUT_FOLDERS = {"checks": "conformance", "implementations": "implementations"}


def _map_checkout_folders() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    for name, folder in CHECKOUT_FOLDERS.items():
        if os.path.isdir(os.path.join(here, name)):
            continue  # installed: the wheel put the folder in the package
        path = os.path.join(os.path.dirname(here), folder)
        init = os.path.join(path, "__init__.py")
        if not os.path.isfile(init):
            continue
        qualified = f"{__name__}.{name}"
        spec = importlib.util.spec_from_file_location(qualified, init, submodule_search_locations=[path])
        module = importlib.util.module_from_spec(spec)
        sys.modules[qualified] = module
        spec.loader.exec_module(module)
        globals()[name] = module


_map_checkout_folders()

if "pytest" in sys.modules:  # loaded as a plugin (-p echo_conformance) or imported by a test
    from .plugin import *  # noqa: F401,F403  (hooks and fixtures, for -p echo_conformance)
    from .plugin import _pool  # noqa: F401  (a fixture; * skips private names)
