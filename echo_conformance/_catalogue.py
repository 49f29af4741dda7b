"""The catalogue of cases, for listings and docs/checks.md (``echo-conformance --list``)."""

from __future__ import annotations

import importlib
import pkgutil

from collections.abc import Iterable

from ._cases import CASES, MUST, Case


def load() -> dict[str, Case]:
    """Import every check module so that each registers its cases."""
    from . import checks

    for module in pkgutil.iter_modules(checks.__path__):
        if module.name.startswith("test_"):
            importlib.import_module(f"{checks.__name__}.{module.name}")
    return dict(sorted(CASES.items()))


def applies(spec: Case) -> str:
    parts = [spec.transport.upper() + (" over IPv6" if spec.ip == "ipv6" else "")]
    if spec.kinds != ("echo", "relay"):
        parts.append("/".join(spec.kinds))
    if spec.models != ("serial", "concurrent"):
        parts.append("/".join(spec.models))
    if spec.needs_capacity:
        parts.append("declaring a capacity")
    if spec.needs_process:
        parts.append("started by the suite")
    return ", ".join(parts)


def why(spec: Case) -> str:
    """What a MUST case guards against, or why a SHOULD case is not fatal."""
    if spec.level == MUST:
        return f"{spec.guards}: {spec.defect}"
    return f"not fatal: {spec.defect}"


def markdown_table(specs: Iterable[Case] | None = None) -> str:
    lines = ["| ID | level | applies to | requirement | guards against |", "|---|---|---|---|---|"]
    for spec in load().values() if specs is None else specs:
        lines.append(f"| `{spec.id}` | {spec.level} | {applies(spec)} | {spec.requirement} | {why(spec)} |")
    return "\n".join(lines)


def text_listing(specs: Iterable[Case]) -> str:
    return "\n".join(f"{spec.id:34} {spec.level:6} {applies(spec)}\n{'':41}{spec.requirement}\n"
                     f"{'':41}{'guards against ' if spec.level == MUST else ''}{why(spec)}" for spec in specs)
