"""Points per check, from a small TOML rubric (the default ships as ``rubric.toml`` here).

    [default]
    points = 1                 # every check not named below
    visibility = "visible"     # Gradescope's: visible, hidden, after_due_date, after_published

    [items.TwoLayerNet]        # every check of an item
    points = 2

    [checks."TwoLayerNet: gradients"]   # one check, by its reported name
    points = 4
    visibility = "after_due_date"

The most specific entry wins: a check's, then its item's, then the default.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from layerwise.check.report import VISIBILITIES
from layerwise.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class Rubric:
    table: dict[str, Any]

    def _entry(self, item: str, check: str) -> dict[str, Any]:
        entry = dict(self.table.get("default", {}))
        entry.update(self.table.get("items", {}).get(item, {}))
        entry.update(self.table.get("checks", {}).get(f"{item}: {check}", {}))
        return entry

    def points(self, item: str, check: str) -> float:
        return float(self._entry(item, check).get("points", 1))

    def visibility(self, item: str, check: str) -> str:
        return str(self._entry(item, check).get("visibility", "visible"))


def _check_table(table: Any, where: str) -> None:
    if not isinstance(table, dict):
        raise ConfigError(f"rubric {where}: expected a TOML table", "rubric")
    unknown = sorted(set(table) - {"default", "items", "checks"})
    if unknown:
        raise ConfigError(
            f"rubric {where}: unknown section(s) {unknown}; expected default, items, checks"
        )
    entries = [("default", table.get("default", {}))]
    for section in ("items", "checks"):
        entries += [(f"{section}.{k}", v) for k, v in table.get(section, {}).items()]
    for name, entry in entries:
        if not isinstance(entry, dict):
            raise ConfigError(f"rubric {where}: [{name}] must be a table", "rubric")
        bad = sorted(set(entry) - {"points", "visibility"})
        if bad:
            raise ConfigError(
                f"rubric {where}: [{name}] has unknown key(s) {bad}; expected points, visibility"
            )
        points = entry.get("points", 1)
        if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
            raise ConfigError(
                f"rubric {where}: [{name}] points must be a number >= 0; got {points!r}",
                "rubric",
            )
        if entry.get("visibility", "visible") not in VISIBILITIES:
            raise ConfigError(
                f"rubric {where}: [{name}] visibility must be one of {list(VISIBILITIES)}; got "
                f"{entry['visibility']!r}",
                "rubric",
            )


def load_rubric(path: str | Path | None = None) -> Rubric:
    """The rubric at ``path``, or the default one."""
    if path is None:
        text = resources.files("layerwise.check").joinpath("rubric.toml").read_text()
        where = "(default)"
    else:
        where = repr(str(path))
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"cannot read rubric {where}: {e}", "rubric") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"rubric {where} is not valid TOML: {e}", "rubric") from None
    _check_table(table, where)
    return Rubric(table)
