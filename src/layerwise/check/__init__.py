"""``layerwise check``: a student's implementation of the exercise against layerwise's own.

:func:`check_path` loads a ``.py`` file or an ``.ipynb`` notebook in a child process
(:mod:`~layerwise.check.isolation`: time and memory limits; isolation, not a sandbox), finds
the exercise's functions and classes by their names (:mod:`~layerwise.check.registry`), runs
each one's checks (:mod:`~layerwise.check.items`: the seed's exact values, random shapes,
numeric gradients, float32, large scores, inputs left unchanged, the documented returns) and
returns a :class:`~layerwise.check.report.Report` whose failures say what is wrong and where.
:func:`pytest_checks` makes the same checks the tests of an instructor's own suite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from layerwise.check.catalog import load_checks
from layerwise.check.isolation import MEMORY_MB, TIMEOUT, Worker, WorkerDied
from layerwise.check.loading import DEFAULT_SKIP
from layerwise.check.report import Report, Result
from layerwise.check.rubric import Rubric, load_rubric
from layerwise.errors import ConfigError

__all__ = ["Report", "Result", "check_module", "check_path", "pytest_checks"]


def check_path(
    path: str | Path,
    *,
    items: Iterable[str] | None = None,
    rubric: Rubric | str | Path | None = None,
    timeout: float = TIMEOUT,
    memory_mb: int = MEMORY_MB,
    skip: str | None = DEFAULT_SKIP,
    on_result: Callable[[Result], None] | None = None,
) -> Report:
    """Check every item the submission at ``path`` defines itself, or exactly ``items``.

    Without ``items``, names it imports (``from layerwise.layers import affine_forward``) are
    noted and not graded. With ``items`` (what an assignment asks for), each of them is
    graded: one that is missing or imported fails every one of its checks, so the total
    score is the same for every submission.

    - rubric: a :class:`Rubric`, a TOML file, or None (the default: a point per check);
    - timeout: wall-clock seconds per check; memory_mb: the child's address-space limit;
    - skip: a regular expression: notebook cells (and top-level statements) matching it are
      not run (default: those that call ``.train()`` or ``.fit(``); None runs everything;
    - on_result: called with each result as it comes (the command prints progress).
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise ConfigError(f"{str(path)!r} is not a file; expected a .py file or a .ipynb notebook")
    if path.suffix not in (".py", ".ipynb"):
        raise ConfigError(f"{str(path)!r}: expected a .py file or a .ipynb notebook", "path")
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ConfigError(
            f"timeout must be a positive number of seconds; got {timeout!r}", "timeout"
        )
    if not (isinstance(memory_mb, int) and memory_mb >= 256):
        raise ConfigError(f"memory_mb must be an integer >= 256; got {memory_mb!r}", "memory_mb")
    rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    checks = load_checks()
    wanted = None if items is None else list(items)
    unknown = sorted(set(wanted or ()) - set(checks))
    if unknown:
        raise ConfigError(f"unknown item(s) {unknown}; expected some of {sorted(checks)}", "items")

    try:
        worker: Worker | None = Worker(path, skip, timeout, memory_mb)
    except WorkerDied as e:  # loading itself hung or crashed: nothing can be checked
        return Report(str(path), notes=[str(e)])
    assert worker is not None
    report = Report(str(path), found=dict(worker.found), notes=list(worker.notes))
    try:
        for item, specs in checks.items():
            how = report.found.get(item)
            if wanted is None and how != "own":
                continue  # only what the file itself defines (imported names are noted)
            if wanted is not None and item not in wanted:
                continue
            for spec in specs:
                result = Result(item, spec.name, spec.description, False)
                result.max_score = rubric.points(item, spec.name)
                result.visibility = rubric.visibility(item, spec.name)
                if how is None:
                    result.diagnosis = f"{item} is not defined in this file"
                elif how != "own":
                    result.diagnosis = f"{item} is {how}: the check grades code written here"
                else:
                    try:
                        if worker is None:
                            worker = Worker(path, skip, timeout, memory_mb)
                        answer = worker.run(item, spec.name)
                    except WorkerDied as e:
                        if worker is not None:
                            worker.close()
                        worker = None
                        answer = {"passed": False, "diagnosis": str(e)}
                    result.passed = bool(answer["passed"])
                    result.diagnosis = answer.get("diagnosis")
                    result.measured = answer.get("measured")
                    result.tolerance = answer.get("tolerance")
                    result.seconds = float(answer.get("seconds", 0.0))
                report.results.append(result)
                if on_result is not None:
                    on_result(result)
    finally:
        if worker is not None:
            worker.close()
    return report


def check_module(module_or_path: Any, **kwargs: Any) -> Report:
    """:func:`check_path` of a path, or of an imported module's file."""
    path = getattr(module_or_path, "__file__", module_or_path)
    if path is None:
        raise ConfigError(f"{module_or_path!r} has no file to check")
    return check_path(path, **kwargs)


def pytest_checks(path: str | Path, **kwargs: Any) -> Callable[..., None]:
    """A pytest test function, parametrised with one case per check of the submission, that
    fails with the check's diagnosis. In an instructor's test module::

        from layerwise.check import pytest_checks
        test_submission = pytest_checks("submission.ipynb")
    """
    import pytest

    report = check_path(path, **kwargs)
    cases = [pytest.param(r, id=r.name) for r in report.results]
    if not cases:
        cases = [pytest.param(None, id="nothing found")]

    @pytest.mark.parametrize("result", cases)
    def test_check(result: Result | None) -> None:
        if result is None:
            pytest.fail(f"{path}: defines none of the exercise's functions or classes")
        if not result.passed:
            pytest.fail(f"{result.name}: {result.diagnosis}", pytrace=False)

    return test_check
