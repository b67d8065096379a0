"""How a message points at a value: the file it is in, the cell it is in, a list cut short.

Every refusal in the package names the file, the line or array, the column and the value, so
these few helpers are shared by the readers, the target checks and the encoder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

#: position -> "line 5" / "row 3" / "y_test[3]": where a value is, for messages. A callable,
#: not a string, so the place is only spelled out for the one cell a message names.
Cell = Callable[[int], str]


def source_prefix(source: str | None) -> str:
    """``"file.csv: "`` to start a message with, or ``""`` when the source is not known."""
    return f"{source}: " if source else ""


def shown_list(names: Sequence[Any], limit: int = 12) -> str:
    """The first ``limit`` of ``names``, repr'd and comma-joined; longer lists say their size."""
    shown = ", ".join(repr(n) for n in list(names)[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def absent_features(absent: Sequence[str], fitted: str) -> str:
    """``"no column 'a', a feature <fitted> (nor 'b', ...)"``: the feature columns a model or an
    encoder needs that the data lacks (``fitted``: "the model was trained on", ...)."""
    nor = f" (nor {shown_list(absent[1:])})" if len(absent) > 1 else ""
    return f"no column {absent[0]!r}, a feature {fitted}{nor}"
