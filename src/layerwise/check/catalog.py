"""Every check of every item: :mod:`layerwise.check.items` registered into
:mod:`layerwise.check.registry` (a module of its own, so that the registry never imports the
items that import it)."""

from __future__ import annotations

from layerwise.check import items  # noqa: F401  (registers on import)
from layerwise.check.registry import CHECKS, CheckSpec


def load_checks() -> dict[str, list[CheckSpec]]:
    """item -> its checks, in the order they run."""
    return CHECKS


def find(item: str, name: str) -> CheckSpec:
    """One check of an item, by name."""
    return next(s for s in CHECKS[item] if s.name == name)
