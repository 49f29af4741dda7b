"""The suite's Hypothesis profiles, and the settings its property-based checks run with.

No per-example deadline (servers are timed by the suite's own bounds); the endpoint fixture is
deliberately shared by all examples of one check.  One case, one verdict: Hypothesis shrinks
the first failure it finds instead of hunting on for others (report_multiple_bugs), and a
failing check's CheckBudget (_expect) caps the time spent after its first failure.  No
``@reproduce_failure`` blob (print_blob): a person testing a server has no test function to
decorate; the verdict's failing example and reproduce line say how to see the failure again.
No explain phase either: it runs more examples against the server, to list the lines of the
check that only failing examples ran.

- ``conformance`` (the default): verdicts are reproducible, the same 25 examples in every run
  (derandomize), so a server's verdict never depends on the draw;
- ``thorough`` (``--hypothesis-profile=thorough``): 400 fresh random examples;
- ``verdict``: a verdict only, fast: no shrinking, no example database (the project's own
  proof runs).

The checks take their settings from ``check_settings()``, which ``check.case`` applies to each
Hypothesis check (``_expect.property_check``), instead of loading a profile as Hypothesis'
default: a project that loads the plugin into its own test run (``pytest -p echo_conformance``)
keeps its own Hypothesis settings for its own tests.
"""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, settings

PROFILES = ("conformance", "thorough", "verdict")
DEFAULT = "conformance"

settings.register_profile(
    "conformance", deadline=None, max_examples=25, print_blob=False, report_multiple_bugs=False,
    derandomize=True, phases=[phase for phase in Phase if phase != Phase.explain],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large])
settings.register_profile("thorough", parent=settings.get_profile("conformance"), max_examples=400,
                          derandomize=False)
settings.register_profile("verdict", parent=settings.get_profile("conformance"), database=None,
                          phases=[Phase.explicit, Phase.generate])


def check_settings() -> settings:
    """The settings for a check: the profile given with --hypothesis-profile if it is one of the
    suite's, else the default one.  Called when the checks are imported, after Hypothesis' own
    pytest plugin has loaded --hypothesis-profile."""
    name = settings.get_current_profile_name()
    return settings.get_profile(name if name in PROFILES else DEFAULT)
