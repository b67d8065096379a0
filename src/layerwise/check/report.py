"""What ``layerwise check`` found: one :class:`Result` per check, and the formats it is written
in (a terminal table, JSON, Gradescope's ``results.json``)."""

from __future__ import annotations

import dataclasses
import textwrap
from dataclasses import dataclass, field
from typing import Any

#: Gradescope's visibility values (its autograder specification).
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")


@dataclass
class Result:
    """One check of one item: passed or not, what was measured against which tolerance, the
    diagnosis of a failure, and the points it is worth (from the rubric)."""

    item: str
    check: str
    description: str
    passed: bool
    diagnosis: str | None = None
    measured: str | None = None
    tolerance: str | None = None
    seconds: float = 0.0
    max_score: float = 1.0
    visibility: str = "visible"

    @property
    def score(self) -> float:
        return self.max_score if self.passed else 0.0

    @property
    def name(self) -> str:
        return f"{self.item}: {self.check}"


@dataclass
class Report:
    """Every result of one submission, the items it defines and what loading it noted."""

    path: str
    results: list[Result] = field(default_factory=list)
    found: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Every check of every item found passed (and at least one item was found)."""
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def score(self) -> float:
        return sum(r.score for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.max_score for r in self.results)

    def failures(self) -> list[Result]:
        return [r for r in self.results if not r.passed]

    def result(self, item: str, check: str) -> Result:
        return next(r for r in self.results if r.item == item and r.check == check)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` file."""
        return {
            "format": "layerwise-check",
            "version": 1,
            "path": self.path,
            "passed": self.passed,
            "score": self.score,
            "max_score": self.max_score,
            "found": self.found,
            "notes": self.notes,
            "results": [
                {**dataclasses.asdict(r), "name": r.name, "score": r.score} for r in self.results
            ],
        }

    def gradescope(self) -> dict[str, Any]:
        """Gradescope's ``results.json``: one test per check (name, score, max_score, status,
        output, visibility), the total, and the loading notes as the top-level output."""
        tests = []
        for number, r in enumerate(self.results, start=1):
            output = r.description if r.passed else f"{r.description}\n{r.diagnosis}"
            if r.measured:
                output += f"\n(measured {r.measured}; tolerance {r.tolerance})"
            tests.append(
                {
                    "name": r.name,
                    "number": str(number),
                    "score": r.score,
                    "max_score": r.max_score,
                    "status": "passed" if r.passed else "failed",
                    "output": output,
                    "visibility": r.visibility,
                }
            )
        found = ", ".join(sorted(self.found)) or "none of the exercise's names"
        output = f"layerwise check found: {found}."
        if self.notes:
            output += "\nWhile loading: " + "; ".join(self.notes)
        return {
            "score": self.score,
            "output": output,
            "execution_time": round(sum(r.seconds for r in self.results), 3),
            "stdout_visibility": "hidden",
            "tests": tests,
        }

    def lines(self, width: int = 100) -> list[str]:
        """The terminal table: one line per check, a failure's diagnosis wrapped below it."""
        out = [f"layerwise check {self.path}"]
        for note in self.notes:
            out.append(f"  note: {note}")
        for item, how in self.found.items():
            if how != "own":
                out.append(f"  note: {item} is {how}, not written in this file")
        if not self.results:
            out.append("  found none of the exercise's functions or classes")
            return out
        name_width = max(len(r.name) for r in self.results)
        for r in self.results:
            mark = "PASS" if r.passed else "FAIL"
            measured = f"  {r.measured} (tolerance {r.tolerance})" if r.measured else ""
            out.append(f"{mark}  {r.name:{name_width}}{measured}")
            if r.diagnosis and not r.passed:
                out += textwrap.wrap(
                    r.diagnosis, width, initial_indent=" " * 6, subsequent_indent=" " * 6
                )
        failed = len(self.failures())
        out.append(
            f"{len(self.results) - failed} of {len(self.results)} checks passed; score "
            f"{self.score:g} / {self.max_score:g}"
        )
        return out
