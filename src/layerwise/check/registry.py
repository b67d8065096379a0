"""The table of what ``layerwise check`` knows: every item (a function or class of the
exercise, by its name) and its checks, in the order they run and are reported.

A check is a function ``f(ns) -> Outcome`` of the submission's namespace (a dict), registered
with :func:`check` (:mod:`layerwise.check.catalog` imports every module that does); it
raises :class:`~layerwise.check.compare.CheckFailed` with a diagnosis
when the submission is wrong. Checks may use other items of the submission only through
``ns`` and must not depend on another check having run (each may run in a fresh process).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from layerwise.check.compare import Outcome

CheckFunction = Callable[[dict[str, Any]], Outcome]


@dataclass(frozen=True)
class CheckSpec:
    item: str
    name: str
    function: CheckFunction
    description: str


#: item name -> its checks, in registration order.
CHECKS: dict[str, list[CheckSpec]] = {}
#: item name -> "function" or "class".
KINDS: dict[str, str] = {}


def check(item: str, name: str, kind: str = "function") -> Callable[[CheckFunction], CheckFunction]:
    """Register the decorated function as check ``name`` of ``item``; its docstring's first
    line describes it in reports."""

    def register(fn: CheckFunction) -> CheckFunction:
        doc = (fn.__doc__ or name).strip().splitlines()[0]
        specs = CHECKS.setdefault(item, [])
        if any(s.name == name for s in specs):
            raise ValueError(f"check {item}: {name} is registered twice")
        specs.append(CheckSpec(item, name, fn, doc))
        KINDS[item] = kind
        return fn

    return register
