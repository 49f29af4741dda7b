"""The catalogue of cases, for listings and the README (``python -m echo_conformance``)."""

from __future__ import annotations

import importlib
import pkgutil

from ._cases import CASES, Case


def load() -> dict[str, Case]:
    """Import every check module so that each registers its cases."""
    from . import checks

    for module in pkgutil.iter_modules(checks.__path__):
        if module.name.startswith("test_"):
            importlib.import_module(f"{checks.__name__}.{module.name}")
    return dict(sorted(CASES.items()))


def applies(spec: Case) -> str:
    parts = [spec.transport.upper() + (" over IPv6" if spec.family == "ipv6" else "")]
    if spec.kinds != ("echo", "relay"):
        parts.append("/".join(spec.kinds))
    if spec.models != ("serial", "concurrent"):
        parts.append("/".join(spec.models))
    if spec.needs_process:
        parts.append("started by the suite")
    return ", ".join(parts)


def markdown_table() -> str:
    lines = ["| ID | level | applies to | requirement |", "|---|---|---|---|"]
    for spec in load().values():
        lines.append(f"| `{spec.id}` | {spec.level} | {applies(spec)} | {spec.requirement} |")
    return "\n".join(lines)
