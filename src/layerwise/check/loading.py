"""Reading a submission (a ``.py`` file or an ``.ipynb`` notebook) into a namespace.

A notebook's code cells run in order, without its training cells (those that call
``.train()`` or ``.fit(``, by default: a grader must not spend minutes training; in a ``.py``
file, the top-level statements that do) and without
IPython's ``%`` and ``!`` lines. Each top-level statement runs on its own, so one that fails
(``from layers import *`` in a notebook that was split from its files, a missing dataset)
costs only itself: the definitions around it still load, and the failure is noted with its
cell and line. Code is compiled under its file name and cell, so a traceback from a check
points at the student's line.
"""

from __future__ import annotations

import ast
import json
import linecache
import os
import re
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layerwise.errors import ConfigError

#: Cells (or top-level statements of a .py file) that are skipped by default: training.
DEFAULT_SKIP = r"\.train\(|\.fit\("
#: The ``__name__`` a submission runs under (so its ``if __name__ == "__main__":`` does not).
MODULE_NAME = "submission"


@dataclass(frozen=True)
class Cell:
    """One unit of code: its text and where it is (``notebook.ipynb, cell 3``)."""

    source: str
    where: str


def read_cells(path: str | Path) -> list[Cell]:
    """The code of a ``.py`` file (one cell) or of a notebook's code cells, in order."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{str(path)!r} is not a file; expected a .py file or a .ipynb notebook")
    if path.suffix not in (".py", ".ipynb"):
        raise ConfigError(f"{str(path)!r}: expected a .py file or a .ipynb notebook", "path")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read {str(path)!r}: {e}") from None
    if path.suffix == ".py":
        return [Cell(text, path.name)]
    try:
        notebook = json.loads(text)
        cells = notebook["cells"]
        assert isinstance(cells, list)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise ConfigError(f"{str(path)!r} is not a Jupyter notebook (no list of cells)") from None
    out = []
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        out.append(Cell(source, f"{path.name}, cell {number}"))
    return out


def _without_magics(source: str) -> str:
    """IPython's ``%magic``, ``%%cell magic`` and ``!shell`` lines become comments."""
    return re.sub(r"(?m)^(\s*)([%!])", r"\1# \2", source)


def load(cells: list[Cell], skip: str | None = DEFAULT_SKIP) -> tuple[dict[str, Any], list[str]]:
    """Run the cells in a fresh namespace; returns it and the notes (skipped cells, failed
    statements), each naming the cell and line."""
    pattern = re.compile(skip) if skip else None
    ns: dict[str, Any] = {"__name__": MODULE_NAME, "__builtins__": __builtins__}
    notes: list[str] = []
    for cell in cells:
        source = _without_magics(cell.source)
        # Tracebacks and inspect.getsource read the student's lines from here.
        lines = source.splitlines(keepends=True)
        linecache.cache[cell.where] = (len(source), None, lines, cell.where)
        try:
            tree = ast.parse(source, filename=cell.where)
        except SyntaxError as e:
            notes.append(f"{cell.where}, line {e.lineno}: syntax error ({e.msg}); cell skipped")
            continue
        notebook_cell = ", cell " in cell.where
        if notebook_cell and pattern is not None and pattern.search(source):
            notes.append(f"{cell.where}: skipped (it trains)")
            continue
        for stmt in tree.body:
            text = ast.get_source_segment(source, stmt) or ""
            if not notebook_cell and pattern is not None and pattern.search(text):
                notes.append(f"{cell.where}, line {stmt.lineno}: skipped (it trains)")
                continue
            code = compile(ast.Module([stmt], type_ignores=[]), cell.where, "exec")
            try:
                exec(code, ns)
            except BaseException as e:  # a student's SystemExit too
                notes.append(f"{cell.where}, line {stmt.lineno}: {_one_line(e)}")
    return ns, notes


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def where_in_submission(e: BaseException, labels: set[str] | None = None) -> str:
    """The innermost line of the submission's own code (``labels``: its cells' names; by
    default every frame of code compiled under a bare name, as :func:`load` compiles it) in
    ``e``'s traceback, as `` at sub.py, line 12 (dx = ...)``; empty when none."""
    own = [
        f
        for f in traceback.extract_tb(e.__traceback__)
        if (f.filename in labels if labels is not None else not os.path.isabs(f.filename))
        and not f.filename.startswith("<")
    ]
    if not own:
        return ""
    shown = [
        f"{f.filename}, line {f.lineno}" + (f" ({f.line.strip()})" if f.line else "")
        for f in own[-2:]
    ]
    return " at " + shown[-1] + (f", called from {shown[0]}" if len(shown) == 2 else "")
