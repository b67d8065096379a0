"""A student notebook from a reference notebook: ``layerwise assignment build``.

An instructor writes one notebook that runs (the reference solution) and marks what the
student must write with nbgrader's markers, so the same file serves both sides:

- in a code cell, the lines between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` become
  one stub line at the marker's indentation: ``raise NotImplementedError`` (``stub="raise"``)
  or ``# TODO: your code here`` and ``pass`` (``stub="todo"``);
- in a markdown cell, such a block becomes ``YOUR ANSWER HERE``;
- a block between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` is removed (tests the
  solution notebook runs and the student never sees).

Every code cell loses its outputs and execution count, so no result of the solution leaks;
everything else (cell ids, metadata, unmarked cells) is kept as it was. A marker that is
unmatched, nested or misspelt is refused with the cell and line, never guessed at: a
guess would hand a student the solution.

nbformat reads and writes the notebooks (the ``[assignment]`` extra), imported only here.
"""

from __future__ import annotations

import copy
import importlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layerwise.errors import ConfigError, LayerwiseError
from layerwise.io import write_bytes
from layerwise.validation import check_choice

__all__ = [
    "ANSWER",
    "INSTALL_HINT",
    "KINDS",
    "STUBS",
    "Block",
    "BuildResult",
    "NbformatMissing",
    "build_student_notebook",
    "strip_solutions",
]

INSTALL_HINT = "pip install 'layerwise[assignment]'"
#: The stub lines that replace a code solution, by the name ``stub=`` takes.
STUBS = {"raise": ("raise NotImplementedError",), "todo": ("# TODO: your code here", "pass")}
#: What replaces a markdown solution (nbgrader's words).
ANSWER = "YOUR ANSWER HERE"
#: The kinds of block: a code solution (now a stub), a markdown one (now ANSWER), hidden tests.
KINDS = ("solution", "answer", "hidden tests")
_MARKER = re.compile(r"^(?P<indent>\s*)### (?P<edge>BEGIN|END) (?P<kind>SOLUTION|HIDDEN TESTS)\s*$")
#: A comment that reads like a marker but is not one exactly: refused, since it would leak.
_NEAR_MARKER = re.compile(r"^\s*#+\s*(begin|end)\s+(solution|hidden\s*tests)\b", re.IGNORECASE)


class NbformatMissing(LayerwiseError, ImportError):
    """nbformat, which reading and writing notebooks needs, is not installed."""


@dataclass(frozen=True)
class Block:
    """One marked block: its cell and the line of its BEGIN marker (both counted from 1).

    kind: one of :data:`KINDS`.
    """

    cell: int
    line: int
    kind: str


@dataclass(frozen=True)
class BuildResult:
    """What :func:`build_student_notebook` wrote: the path and every block it replaced."""

    out: Path
    blocks: tuple[Block, ...]
    stub: str

    @property
    def counts(self) -> dict[str, int]:
        """The number of blocks of each kind (solution, answer, hidden tests)."""
        return {k: sum(b.kind == k for b in self.blocks) for k in KINDS}


def _nbformat() -> Any:
    try:
        return importlib.import_module("nbformat")
    except ImportError:
        raise NbformatMissing(
            "building a student notebook needs nbformat, which is not installed; install it "
            f"with: {INSTALL_HINT}"
        ) from None


def _strip_cell(
    source: str, cell_no: int, cell_type: str, stub: tuple[str, ...]
) -> tuple[str, list[Block]]:
    """The cell's source with its marked blocks replaced, and the blocks found."""
    out: list[str] = []
    blocks: list[Block] = []
    open_block: tuple[str, int, str] | None = None  # (kind, line, indent) of the BEGIN
    for line_no, line in enumerate(source.split("\n"), start=1):
        where = f"cell {cell_no} ({cell_type}), line {line_no}"
        match = _MARKER.match(line)
        if match is None:
            if cell_type == "code" and _NEAR_MARKER.match(line):
                raise ConfigError(
                    f"{where}: {line.strip()!r} looks like a marker but is not one; write "
                    "'### BEGIN SOLUTION', '### END SOLUTION', '### BEGIN HIDDEN TESTS' or "
                    "'### END HIDDEN TESTS' exactly",
                    "source",
                )
            if open_block is None:
                out.append(line)
            continue
        kind = match["kind"].lower()
        if match["edge"] == "BEGIN":
            if open_block is not None:
                raise ConfigError(
                    f"{where}: '### BEGIN {match['kind']}' inside the block opened on line "
                    f"{open_block[1]}; blocks cannot be nested",
                    "source",
                )
            open_block = (kind, line_no, match["indent"])
            continue
        if open_block is None or open_block[0] != kind:
            opened = "" if open_block is None else f" (line {open_block[1]} opened another kind)"
            raise ConfigError(
                f"{where}: '### END {match['kind']}' without its BEGIN{opened}", "source"
            )
        _, begin_line, indent = open_block
        if kind == "solution":
            block_kind = "solution" if cell_type == "code" else "answer"
            out.extend(indent + s for s in (stub if cell_type == "code" else (ANSWER,)))
        else:
            block_kind = "hidden tests"
        blocks.append(Block(cell_no, begin_line, block_kind))
        open_block = None
    if open_block is not None:
        raise ConfigError(
            f"cell {cell_no} ({cell_type}), line {open_block[1]}: "
            f"'### BEGIN {open_block[0].upper()}' has no END in its cell",
            "source",
        )
    return "\n".join(out), blocks


def strip_solutions(notebook: Any, stub: str = "raise") -> tuple[Any, tuple[Block, ...]]:
    """The student version of ``notebook`` (an nbformat v4 node) and the blocks replaced.

    Pure: ``notebook`` is not changed. Code cells lose outputs and execution counts; only a
    cell holding markers has its source rewritten. Raises ConfigError naming the cell and line
    of a bad marker, and when there is no solution block at all (a student notebook identical
    to the solution is almost certainly a mistake).
    """
    check_choice("stub", stub, STUBS)
    new = copy.deepcopy(notebook)
    blocks: list[Block] = []
    for cell_no, cell in enumerate(new["cells"], start=1):
        source = cell.get("source", "")
        if isinstance(source, list):  # a node read as plain JSON keeps the list of lines
            source = "".join(source)
        if cell["cell_type"] in ("code", "markdown"):
            stripped, found = _strip_cell(source, cell_no, cell["cell_type"], STUBS[stub])
            if found:  # a cell without markers keeps its source object untouched
                cell["source"] = stripped
                blocks.extend(found)
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    if not any(b.kind in ("solution", "answer") for b in blocks):
        raise ConfigError(
            "the notebook has no '### BEGIN SOLUTION' / '### END SOLUTION' block; the student "
            "version would be the solution itself",
            "source",
        )
    return new, tuple(blocks)


def _read(nbformat: Any, source: Path) -> Any:
    if not source.is_file():
        raise ConfigError(f"{str(source)!r}: no such notebook file", "source")
    try:
        notebook = nbformat.read(source, as_version=4)
        nbformat.validate(notebook)
    except OSError:
        raise
    except Exception as e:  # nbformat raises many types on malformed input; all mean the same
        detail = getattr(e, "message", None) or str(e)
        raise ConfigError(
            f"{str(source)!r} is not a Jupyter notebook ({type(e).__name__}: {detail[:200]})",
            "source",
        ) from None
    return notebook


def build_student_notebook(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    stub: str = "raise",
    overwrite: bool = False,
) -> BuildResult:
    """Write the student version of the notebook ``source`` to ``out`` (atomically).

    Refuses (ConfigError) ``out`` equal to ``source``, an existing ``out`` unless
    ``overwrite``, a ``source`` that is not a notebook, and every case
    :func:`strip_solutions` refuses; nothing is written then.
    """
    check_choice("stub", stub, STUBS)
    src, dest = Path(source), Path(out)
    if dest.resolve() == src.resolve() or (
        dest.exists() and src.exists() and os.path.samefile(src, dest)
    ):
        raise ConfigError(
            f"the student notebook {str(dest)!r} would replace the source notebook", "out"
        )
    if dest.exists() and not overwrite:
        raise ConfigError(
            f"{str(dest)!r} already exists; choose another file, or overwrite=True (--overwrite)",
            "out",
        )
    nbformat = _nbformat()
    student, blocks = strip_solutions(_read(nbformat, src), stub)
    text = nbformat.writes(student)
    write_bytes(dest, (text if text.endswith("\n") else text + "\n").encode("utf-8"))
    return BuildResult(dest, blocks, stub)
