"""``layerwise assignment build``: the student notebook keeps everything but the solutions.

Small notebooks written here with nbformat cover each marker rule and each refusal; the
walkthrough notebook (examples/multilayer_nets.ipynb) is built too, and its student version's
exercise section is executed to show that every function it asks for now raises
NotImplementedError while the rest of the section still runs.
"""

from __future__ import annotations

import contextlib
import copy
import io
import re
import sys
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from layerwise import cli
from layerwise.assignment import (
    ANSWER,
    NbformatMissing,
    build_student_notebook,
    strip_solutions,
)
from layerwise.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
WALKTHROUGH = ROOT / "examples" / "multilayer_nets.ipynb"
MARKER = re.compile(r"###\s*(BEGIN|END)\s+(SOLUTION|HIDDEN TESTS)")

FUNCTION = '''\
def affine_forward(x, theta, theta0):
    """x: (m, d); theta: (d, h); theta0: (h,)."""
    ### BEGIN SOLUTION
    out = x.reshape(x.shape[0], -1) @ theta + theta0
    return out, (x, theta, theta0)
    ### END SOLUTION'''

METHOD = '''\
class TwoLayerNet:
    def __init__(self, reg=0.0):
        self.reg = reg

    def loss(self, X, y=None):
        """Scores, or (loss, grads)."""
        scores = X
        ### BEGIN SOLUTION
        if y is None:
            return scores
        return 0.0, {}
        ### END SOLUTION

    def other(self):
        return 1'''

TOP_LEVEL_AND_TWO_BLOCKS = """\
import numpy as np
### BEGIN SOLUTION
answer = 42
### END SOLUTION
for i in range(3):
    ### BEGIN SOLUTION
    print(i * answer)
    ### END SOLUTION"""

SOLUTION_LINES = (
    "out = x.reshape(x.shape[0], -1) @ theta + theta0",
    "return out, (x, theta, theta0)",
    "return scores",
    "return 0.0, {}",
    "answer = 42",
    "print(i * answer)",
)


def _code(source: str, count: int | None = 1) -> Any:
    cell = new_code_cell(source, execution_count=count)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a result\n")]
    cell.metadata = {"tags": ["kept"]}
    return cell


def _write(path: Path, *cells: Any) -> Path:
    nbformat.write(
        new_notebook(
            cells=list(cells),
            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        ),
        path,
    )
    return path


def _correct(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "solution.ipynb",
        new_markdown_cell("# The exercise\n\nWrite `affine_forward`."),
        _code("%matplotlib inline\nimport numpy as np\nprint(np.pi)"),
        _code(FUNCTION, 2),
        _code(METHOD, 3),
        new_raw_cell("### BEGIN SOLUTION (raw cells are left alone)"),
        _code(TOP_LEVEL_AND_TWO_BLOCKS, 4),
    )


def _compiles(source: str) -> None:
    """The cell is valid Python once IPython's magics and shell lines are left out."""
    plain = "\n".join(
        line for line in source.split("\n") if not line.lstrip().startswith(("%", "!"))
    )
    compile(plain, "<cell>", "exec")


def _read(path: Path) -> Any:
    return nbformat.read(path, as_version=4)


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main(argv)
    return rc, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------------------------
# What the student notebook holds
# --------------------------------------------------------------------------------------------


def test_solutions_become_stubs_at_their_indentation(tmp_path: Path) -> None:
    source = _correct(tmp_path)
    result = build_student_notebook(source, tmp_path / "student.ipynb")
    assert result.out == tmp_path / "student.ipynb"
    assert result.counts == {"solution": 4, "answer": 0, "hidden tests": 0}
    assert [(b.cell, b.line) for b in result.blocks] == [(3, 3), (4, 8), (6, 2), (6, 6)]

    solution, student = _read(source), _read(result.out)
    cells = student.cells
    text = "\n".join(c.source for c in cells if c.cell_type == "code")
    for line in SOLUTION_LINES:
        assert line not in text
    assert not any(MARKER.search(c.source) for c in cells if c.cell_type == "code")
    assert cells[2].source == FUNCTION.split("    ### BEGIN")[0] + "    raise NotImplementedError"
    method = cells[3].source.split("\n")
    assert method[7] == "        raise NotImplementedError"  # the method body's indentation
    assert method[8:] == ["", "    def other(self):", "        return 1"]
    assert cells[5].source.split("\n") == [
        "import numpy as np",
        "raise NotImplementedError",
        "for i in range(3):",
        "    raise NotImplementedError",
    ]
    for cell in cells:
        if cell.cell_type == "code":
            _compiles(cell.source)
            assert cell.outputs == [] and cell.execution_count is None
    # Cells without markers are unchanged; ids, metadata and cell types are kept.
    assert [c.id for c in cells] == [c.id for c in solution.cells]
    assert [c.cell_type for c in cells] == [c.cell_type for c in solution.cells]
    assert [c.metadata for c in cells] == [c.metadata for c in solution.cells]
    for i in (0, 1, 4):
        assert cells[i].source == solution.cells[i].source
    assert student.metadata == solution.metadata


def test_todo_stub(tmp_path: Path) -> None:
    result = build_student_notebook(_correct(tmp_path), tmp_path / "s.ipynb", stub="todo")
    cells = _read(result.out).cells
    assert cells[2].source.split("\n")[-2:] == ["    # TODO: your code here", "    pass"]
    assert cells[3].source.split("\n")[7:9] == ["        # TODO: your code here", "        pass"]
    assert cells[5].source.split("\n")[1:3] == ["# TODO: your code here", "pass"]
    for cell in cells:
        if cell.cell_type == "code":
            assert "NotImplementedError" not in cell.source
            _compiles(cell.source)


def test_markdown_solution_becomes_your_answer_here(tmp_path: Path) -> None:
    question = "Why does the loss start near log(10)?\n\n"
    answer = "### BEGIN SOLUTION\nThe scores are tiny, so every class gets 1/10.\n### END SOLUTION"
    source = _write(tmp_path / "md.ipynb", new_markdown_cell(question + answer))
    result = build_student_notebook(source, tmp_path / "s.ipynb")
    assert result.counts == {"solution": 0, "answer": 1, "hidden tests": 0}
    assert _read(result.out).cells[0].source == question + ANSWER


def test_hidden_tests_are_removed(tmp_path: Path) -> None:
    check = (
        "assert affine_forward is not None\n"
        "    ### BEGIN HIDDEN TESTS\n"
        "    assert secret() == 3\n"
        "    ### END HIDDEN TESTS\n"
        "print('checked')"
    )
    source = _write(tmp_path / "h.ipynb", _code(FUNCTION), _code(check))
    result = build_student_notebook(source, tmp_path / "s.ipynb")
    assert result.counts == {"solution": 1, "answer": 0, "hidden tests": 1}
    cell = _read(result.out).cells[1]
    assert cell.source == "assert affine_forward is not None\nprint('checked')"
    _compiles(cell.source)


def test_strip_solutions_does_not_change_its_input(tmp_path: Path) -> None:
    notebook = _read(_correct(tmp_path))
    before = copy.deepcopy(notebook)
    student, blocks = strip_solutions(notebook)
    assert notebook == before
    assert student != notebook and len(blocks) == 4


# --------------------------------------------------------------------------------------------
# Refusals
# --------------------------------------------------------------------------------------------

BAD_MARKERS = [
    (
        "def f():\n    ### BEGIN SOLUTION\n    return 1\n",
        r"cell 2 \(code\), line 2: '### BEGIN SOLUTION' has no END",
    ),
    ("x = 1\n### END SOLUTION", r"cell 2 \(code\), line 2: '### END SOLUTION' without its BEGIN"),
    (
        "### BEGIN SOLUTION\na = 1\n### BEGIN SOLUTION\nb = 2\n### END SOLUTION",
        r"cell 2 \(code\), line 3: '### BEGIN SOLUTION' inside the block opened on line 1",
    ),
    (
        "### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\n### END SOLUTION",
        r"cell 2 \(code\), line 2: .* cannot be nested",
    ),
    (
        "### BEGIN SOLUTION\na = 1\n### END HIDDEN TESTS",
        r"cell 2 \(code\), line 3: '### END HIDDEN TESTS' without its BEGIN \(line 1 opened",
    ),
    ("def f():\n    ## BEGIN SOLUTION\n    return 1", r"cell 2 \(code\), line 2: .* looks like"),
    ("### begin solution\nx = 1\n### end solution", r"cell 2 \(code\), line 1: .* looks like"),
]


@pytest.mark.parametrize(("source", "match"), BAD_MARKERS)
def test_bad_markers_name_the_cell_and_line(source: str, match: str, tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.ipynb", new_markdown_cell("# title"), _code(source))
    with pytest.raises(ConfigError, match=match):
        build_student_notebook(path, tmp_path / "s.ipynb")
    assert not (tmp_path / "s.ipynb").exists()


def test_unmatched_markdown_marker(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "bad.ipynb", _code(FUNCTION), new_markdown_cell("a\n### BEGIN SOLUTION")
    )
    with pytest.raises(ConfigError, match=r"cell 2 \(markdown\), line 2: .* has no END"):
        build_student_notebook(path, tmp_path / "s.ipynb")


def test_a_notebook_without_solutions_is_refused(tmp_path: Path) -> None:
    hidden_only = "### BEGIN HIDDEN TESTS\nassert True\n### END HIDDEN TESTS"
    path = _write(tmp_path / "none.ipynb", _code("x = 1"), _code(hidden_only))
    with pytest.raises(ConfigError, match=r"no '### BEGIN SOLUTION'"):
        build_student_notebook(path, tmp_path / "s.ipynb")
    assert not (tmp_path / "s.ipynb").exists()


@pytest.mark.parametrize(
    "content", ["print('a script')\n", "{}", "[1, 2]", '{"nbformat": 4, "cells": 3}', ""]
)
def test_what_is_not_a_notebook_is_refused(content: str, tmp_path: Path) -> None:
    path = tmp_path / "not.ipynb"
    path.write_text(content)
    with pytest.raises(ConfigError, match=r"not\.ipynb' is not a Jupyter notebook"):
        build_student_notebook(path, tmp_path / "s.ipynb")


def test_missing_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such notebook file"):
        build_student_notebook(tmp_path / "nope.ipynb", tmp_path / "s.ipynb")


def test_out_may_not_be_the_source(tmp_path: Path) -> None:
    source = _correct(tmp_path)
    before = source.read_bytes()
    (tmp_path / "sub").mkdir()
    for out in (source, tmp_path / "sub" / ".." / "solution.ipynb"):
        with pytest.raises(ConfigError, match=r"would replace the source notebook"):
            build_student_notebook(source, out, overwrite=True)
    assert source.read_bytes() == before


def test_existing_out_needs_overwrite(tmp_path: Path) -> None:
    source, out = _correct(tmp_path), tmp_path / "s.ipynb"
    out.write_text("the student's work")
    with pytest.raises(ConfigError, match=r"already exists; .*overwrite=True \(--overwrite\)"):
        build_student_notebook(source, out)
    assert out.read_text() == "the student's work"
    build_student_notebook(source, out, overwrite=True)
    assert len(_read(out).cells) == 6


def test_unknown_stub(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"stub must be one of 'raise', 'todo'; got 'pass'"):
        build_student_notebook(_correct(tmp_path), tmp_path / "s.ipynb", stub="pass")


def test_without_nbformat_the_message_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _correct(tmp_path)
    monkeypatch.setitem(sys.modules, "nbformat", None)  # import nbformat now raises ImportError
    with pytest.raises(NbformatMissing, match=re.escape("pip install 'layerwise[assignment]'")):
        build_student_notebook(source, tmp_path / "s.ipynb")


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


def test_cli_build(tmp_path: Path) -> None:
    out = tmp_path / "s.ipynb"
    rc, stdout, stderr = _run(["assignment", "build", str(_correct(tmp_path)), str(out)])
    assert (rc, stderr) == (0, "")
    assert "cell 3, line 3: solution -> raise NotImplementedError" in stdout
    assert f"wrote {out} (4 solution, 0 answer, 0 hidden tests; every output cleared)" in stdout
    assert "raise NotImplementedError" in _read(out).cells[2].source

    argv = ["assignment", "build", str(tmp_path / "solution.ipynb"), str(out)]
    rc, stdout, _ = _run([*argv, "--stub", "todo", "--overwrite"])
    assert rc == 0 and "solution -> # TODO: your code here / pass" in stdout
    assert "# TODO: your code here" in _read(out).cells[2].source


def _one_line_error(rc: int, stdout: str, stderr: str, match: str) -> None:
    assert rc == 2 and stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("layerwise: error: "), stderr
    assert re.search(match, lines[0]), lines[0]


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    source, out = _correct(tmp_path), tmp_path / "s.ipynb"
    out.write_text("taken")
    _one_line_error(*_run(["assignment", "build", str(source), str(out)]), r"already exists")
    bad = _write(tmp_path / "bad.ipynb", _code("### BEGIN SOLUTION\nx = 1"))
    argv = ["assignment", "build", str(bad), str(tmp_path / "t.ipynb")]
    _one_line_error(*_run(argv), r"cell 1 \(code\), line 1: .* has no END")
    _one_line_error(*_run(["assignment"]), r"required: ACTION")
    _one_line_error(*_run(["assignment", "build", str(source)]), r"required: OUT")
    argv = ["assignment", "build", str(source), str(tmp_path / "u.ipynb"), "--stub", "x"]
    _one_line_error(*_run(argv), r"--stub: invalid choice")
    assert out.read_text() == "taken"
    assert not (tmp_path / "t.ipynb").exists() and not (tmp_path / "u.ipynb").exists()


# --------------------------------------------------------------------------------------------
# The walkthrough notebook
# --------------------------------------------------------------------------------------------

#: The exercise section of the walkthrough: 9 functions and 2 classes of 2 methods each.
EXERCISE_BLOCKS = 13
SECTION = "## Write your own layers"


def _section_end(notebook: Any) -> int:
    """Index of the first cell after the exercise section (the next '## ' heading)."""
    start = next(i for i, c in enumerate(notebook.cells) if c.source.startswith(SECTION))
    return next(
        i
        for i, c in enumerate(notebook.cells)
        if i > start and c.cell_type == "markdown" and c.source.startswith("## ")
    )


def _run_up_to_the_section_end(notebook: Any) -> tuple[dict[str, Any], str]:
    """Execute the code cells up to the end of the exercise section; (namespace, stdout)."""
    namespace: dict[str, Any] = {"__name__": "__notebook__"}
    out = io.StringIO()
    state = np.random.get_state()
    try:
        with contextlib.redirect_stdout(out):
            for i, cell in enumerate(notebook.cells[: _section_end(notebook)]):
                if cell.cell_type == "code":
                    lines = cell.source.split("\n")
                    code = "\n".join(line for line in lines if not line.startswith("%"))
                    exec(compile(code, f"<cell {i + 1}>", "exec"), namespace)
    finally:
        np.random.set_state(state)
    return namespace, out.getvalue()


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("assignment") / "student.ipynb"
    result = build_student_notebook(WALKTHROUGH, out)
    return {"result": result, "solution": _read(WALKTHROUGH), "student": _read(out)}


def test_walkthrough_blocks_are_the_exercise_section(walkthrough: dict[str, Any]) -> None:
    result, solution = walkthrough["result"], walkthrough["solution"]
    assert result.counts == {"solution": EXERCISE_BLOCKS, "answer": 0, "hidden tests": 1}
    begins = sum(
        line.strip() == "### BEGIN SOLUTION"
        for c in solution.cells
        for line in c.source.split("\n")
    )
    assert begins == EXERCISE_BLOCKS
    start = next(i for i, c in enumerate(solution.cells) if c.source.startswith(SECTION))
    assert {b.cell - 1 for b in result.blocks} <= set(range(start, _section_end(solution)))


def test_walkthrough_student_version_holds_no_solution(walkthrough: dict[str, Any]) -> None:
    solution, student = walkthrough["solution"], walkthrough["student"]
    assert [c.id for c in student.cells] == [c.id for c in solution.cells]
    marked = {b.cell - 1 for b in walkthrough["result"].blocks}
    for i, (before, after) in enumerate(zip(solution.cells, student.cells, strict=True)):
        if i not in marked:
            assert after.source == before.source, f"cell {i + 1} changed"
            continue
        assert not MARKER.search(after.source)
        inside, hidden = False, []
        for line in before.source.split("\n"):
            if MARKER.search(line):
                inside = "BEGIN" in line
            elif inside and line.strip():
                hidden.append(line.strip())
        assert hidden
        kept = {line.strip() for line in after.source.split("\n")}
        assert not kept & set(hidden), f"cell {i + 1} still holds {sorted(kept & set(hidden))}"
        _compiles(after.source)
    assert all(c.outputs == [] for c in student.cells if c.cell_type == "code")


def test_walkthrough_solution_section_agrees_with_layerwise(walkthrough: dict[str, Any]) -> None:
    namespace, stdout = _run_up_to_the_section_end(walkthrough["solution"])
    assert "11 of 11 agree with layerwise's" in stdout

    # The section's check can fail: a hinge loss with margin 0 instead of 1 is caught.
    def no_margin(x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        return namespace["svm_loss"](x + 1.0 * (np.arange(x.shape[1]) == y[:, None]), y)

    errors, missing = namespace["compare_with_layerwise"]({"svm_loss": no_margin})
    assert missing == [] and errors["svm_loss"] > 1e-8


def test_walkthrough_student_functions_raise(walkthrough: dict[str, Any]) -> None:
    namespace, stdout = _run_up_to_the_section_end(walkthrough["student"])
    assert "0 of 11 agree with layerwise's" in stdout
    assert stdout.count("not written yet") == 11
    x, theta, theta0 = np.ones((2, 3)), np.ones((3, 4)), np.zeros(4)
    calls = {
        "affine_forward": (x, theta, theta0),
        "affine_backward": (np.ones((2, 4)), (x, theta, theta0)),
        "relu_forward": (x,),
        "relu_backward": (x, x),
        "affine_relu_forward": (x, theta, theta0),
        "affine_relu_backward": (np.ones((2, 4)), None),
        "softmax_loss": (x, np.zeros(2, dtype=int)),
        "svm_loss": (x, np.zeros(2, dtype=int)),
        "sgd": (x.copy(), x),
        "TwoLayerNet": (),
        "ThreeLayerNet": (),
    }
    for name, args in calls.items():
        with pytest.raises(NotImplementedError):
            namespace[name](*args)
    # The methods too, on an object made without the (stubbed) constructor.
    for cls in ("TwoLayerNet", "ThreeLayerNet"):
        model = object.__new__(namespace[cls])
        with pytest.raises(NotImplementedError):
            model.loss(x)
