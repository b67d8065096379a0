"""`layerwise check` on submissions the tests write: a correct one passes everything; each
typical bug fails its own checks (and those of the items built on it) with its diagnosis; the
seed notebook's own code gets every listed bug reported; runaway code fails a check, not the
run."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import jsonschema
import pytest

from layerwise.check import check_path, pytest_checks
from layerwise.check.catalog import load_checks
from layerwise.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from seed_cells import CELLS as SEED_CELLS
from submissions import CORRECT

BASIC = ["affine_forward", "affine_backward", "relu_forward", "relu_backward",
         "affine_relu_forward", "affine_relu_backward", "softmax_loss", "svm_loss", "sgd",
         "TwoLayerNet", "ThreeLayerNet"]  # fmt: skip


def write(tmp_path: Path, text: str, name: str = "submission.py") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def notebook(tmp_path: Path, cells: list[str], name: str = "submission.ipynb") -> Path:
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": source,
             "outputs": [], "execution_count": None}
            for i, source in enumerate(cells)
        ],
    }  # fmt: skip
    return write(tmp_path, json.dumps(nb), name)


def bug(old: str, new: str) -> str:
    assert CORRECT.count(old) == 1, old
    return CORRECT.replace(old, new)


def failed(report) -> set[str]:
    return {r.name for r in report.failures()}


@pytest.fixture(scope="module")
def correct_report(tmp_path_factory):
    return check_path(write(tmp_path_factory.mktemp("ok"), CORRECT), items=BASIC)


def test_a_correct_submission_passes_every_check(correct_report):
    assert set(correct_report.found) == set(BASIC)
    assert correct_report.passed and not correct_report.failures()
    names = {r.item for r in correct_report.results}
    assert names == set(BASIC)
    assert len(correct_report.results) == sum(len(load_checks()[i]) for i in BASIC)


@pytest.mark.parametrize(
    ("old", "new", "failing", "words"),
    [
        pytest.param(
            "dx = (dout @ theta.T).reshape(x.shape)", "dx = dout @ theta.T",
            {"affine_backward: gradients", "affine_backward: 4-D input",
             "affine_relu_backward: gradients"},
            "dx has shape (10, 6), expected (10, 2, 3); reshape dx to (10, 2, 3)",
            id="missing reshape of dx"),
        pytest.param(
            "dtheta0 = dout.sum(axis=0)", "dtheta0 = dout",
            {"affine_backward: gradients", "affine_backward: 4-D input",
             "affine_backward: float32", "affine_relu_backward: gradients",
             "TwoLayerNet: grads keys", "TwoLayerNet: gradients", "TwoLayerNet: numeric gradients",
             "ThreeLayerNet: grads keys", "ThreeLayerNet: gradients",
             "ThreeLayerNet: numeric gradients"},
            "dtheta0 has shape (10, 5), expected (5,); sum dtheta0 over the batch axis",
            id="bias gradient not summed"),
        pytest.param(
            "shifted = x - x.max(axis=1, keepdims=True)", "shifted = x",
            {"softmax_loss: large scores"},
            "subtract each row's maximum score before exp",
            id="softmax without max subtraction"),
        pytest.param(
            'loss += 0.5 * self.reg * (np.sum(self.params["theta1"] ** 2)',
            'loss += self.reg * (np.sum(self.params["theta1"] ** 2)',
            {"TwoLayerNet: regularisation", "TwoLayerNet: numeric gradients"},
            "without the 0.5 factor",
            id="regularisation without 0.5"),
        pytest.param(
            "def relu_forward(x):\n    return np.maximum(x, 0), x",
            "def relu_forward(x):\n    x[x < 0] = 0\n    return x, x",
            {"relu_forward: inputs unchanged"},
            "relu_forward changed its argument 1 in place",
            id="mutated input"),
        pytest.param(
            'dh1, grads["theta2"], grads["theta2_0"] = affine_relu_backward(dh2, c2)',
            'fc2, _ = c2\n        dh1, grads["theta2"], grads["theta2_0"] = affine_backward('
            'relu_backward(dh2, c1[1]), fc2)',
            {"ThreeLayerNet: training loss", "ThreeLayerNet: regularisation",
             "ThreeLayerNet: grads keys", "ThreeLayerNet: gradients",
             "ThreeLayerNet: numeric gradients"},
            "relu_backward(dh2, c1[1])",
            id="ReLU masked by the wrong layer"),
        pytest.param(
            '    dx[np.arange(m), y] -= 1\n    dx /= m\n    return loss, dx\n\n\ndef svm',
            '    dx[np.arange(m), y] -= 1\n    return loss, dx\n\n\ndef svm',
            {"softmax_loss: seed values", "softmax_loss: random scores",
             "softmax_loss: large scores", "softmax_loss: float32",
             "TwoLayerNet: gradients", "ThreeLayerNet: gradients",
             "TwoLayerNet: numeric gradients", "ThreeLayerNet: numeric gradients"},
            "times the reference (divide by the batch size",
            id="gradient not divided by the batch"),
    ],
)  # fmt: skip
def test_each_bug_fails_its_checks_with_its_diagnosis(tmp_path, old, new, failing, words):
    report = check_path(write(tmp_path, bug(old, new)), items=BASIC)
    assert failed(report) == failing
    first = report.result(*sorted(failing)[0].split(": "))
    diagnoses = " | ".join(r.diagnosis for r in report.failures())
    assert words in diagnoses, diagnoses
    assert first.diagnosis


def test_an_endless_loop_and_a_10_gb_allocation_fail_only_their_checks(tmp_path):
    text = bug(
        "def sgd(w, dw, config=None):\n",
        "def sgd(w, dw, config=None):\n    while True:\n        pass\n",
    ).replace(
        "def svm_loss(x, y):\n",
        "def svm_loss(x, y):\n    big = np.ones(10 * 2**30 // 8)\n",
    )
    report = check_path(write(tmp_path, text), items=["sgd", "svm_loss", "relu_forward"],
                        timeout=3)  # fmt: skip
    sgd = [r for r in report.results if r.item == "sgd"]
    assert sgd and all(not r.passed and "did not finish within 3 s" in r.diagnosis for r in sgd)
    svm = [r for r in report.results if r.item == "svm_loss"]
    assert svm and all("out of memory" in r.diagnosis for r in svm if not r.passed)
    assert not any(r.passed for r in svm)
    assert all(r.passed for r in report.results if r.item == "relu_forward")


def test_the_seed_notebooks_code_has_every_listed_bug_reported(tmp_path):
    report = check_path(notebook(tmp_path, SEED_CELLS, "seed.ipynb"))
    right = ["affine_forward", "affine_backward", "relu_forward", "relu_backward",
             "affine_relu_forward", "affine_relu_backward"]  # fmt: skip
    for item in right:
        assert all(r.passed for r in report.results if r.item == item), item
    assert any("No module named 'layers'" in n for n in report.notes)
    softmax = report.result("softmax_loss", "seed values")
    assert not softmax.passed and "subtract 1, do not set it" in softmax.diagnosis
    two = report.result("TwoLayerNet", "code of loss")
    assert not two.passed and "grads['theta2'] is assigned 2 times" in two.diagnosis
    assert "cell 8, line" in two.diagnosis
    three = report.result("ThreeLayerNet", "code of loss").diagnosis
    assert "counts theta1 twice and misses theta3" in three
    assert "self.params['theta2'] as the bias" in three
    assert "added to theta1 only; theta2, theta3 miss it" in three
    scores = report.result("ThreeLayerNet", "test-time scores").diagnosis
    assert "cell 9, line 20" in scores
    assert report.result("TwoLayerNet", "test-time scores").passed


def test_code_imported_from_layerwise_does_not_count(tmp_path, capsys):
    path = write(
        tmp_path,
        "from layerwise.layers import affine_forward\n"
        + CORRECT.split("def affine_backward")[0].split("def affine_forward")[0],
    )
    report = check_path(path)
    assert report.found == {"affine_forward": "imported from layerwise.layers"}
    assert not report.results and not report.passed  # noted, not graded
    asked = check_path(path, items=["affine_forward", "relu_forward"])
    assert asked.results and not any(r.passed for r in asked.results)
    diagnoses = {r.item: r.diagnosis for r in asked.results}
    assert "imported from layerwise.layers" in diagnoses["affine_forward"]
    assert diagnoses["relu_forward"] == "relu_forward is not defined in this file"
    assert main(["check", str(path)]) == 1
    assert "affine_forward is imported from layerwise.layers" in capsys.readouterr().out


def test_a_stub_is_reported_as_not_implemented(tmp_path):
    path = write(tmp_path, "def relu_forward(x):\n    raise NotImplementedError\n")
    report = check_path(path)
    assert all("not implemented yet" in r.diagnosis for r in report.results)


def test_training_cells_are_skipped_unless_asked(tmp_path):
    cells = ["import numpy as np", CORRECT, "solver.train()\nraise SystemExit('ran')"]
    path = notebook(tmp_path, cells)
    report = check_path(path, items=["relu_forward"])
    assert report.passed and any("cell 3: skipped (it trains)" in n for n in report.notes)
    ran = check_path(path, items=["relu_forward"], skip=None)
    assert any("NameError" in n for n in ran.notes)  # `solver` is not defined: it did run
    assert any("SystemExit: ran" in n for n in ran.notes) and ran.passed


def test_a_submission_that_hangs_while_loading_is_a_note_not_a_crash(tmp_path, monkeypatch):
    monkeypatch.setattr("layerwise.check.isolation.LOAD_TIMEOUT", 2.0)
    report = check_path(write(tmp_path, "def relu_forward(x):\n    pass\nwhile True:\n    pass\n"))
    assert not report.passed and not report.results
    assert "loading the submission did not finish within 2 s" in report.notes[0]


#: Gradescope's autograder results format (its documented fields and values).
GRADESCOPE_SCHEMA = {
    "type": "object",
    "required": ["tests"],
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number"},
        "output": {"type": "string"},
        "stdout_visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["score", "max_score", "name"],
                "properties": {
                    "score": {"type": "number"},
                    "max_score": {"type": "number"},
                    "status": {"enum": ["passed", "failed"]},
                    "name": {"type": "string"},
                    "number": {"type": "string"},
                    "output": {"type": "string"},
                    "visibility": {
                        "enum": ["hidden", "after_due_date", "after_published", "visible"]
                    },
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}


def test_the_command_writes_json_and_gradescope_files(tmp_path, capsys):
    toml = '[default]\npoints = 2\n[checks."TwoLayerNet: gradients"]\npoints = 5\n'
    rubric = write(tmp_path, toml + 'visibility = "after_due_date"\n', "rubric.toml")
    old = 'loss += 0.5 * self.reg * (np.sum(self.params["theta1"] ** 2)'
    sub = write(tmp_path, bug(old, old.replace("0.5 * ", "")))
    gs, js = tmp_path / "results.json", tmp_path / "report.json"
    code = main(["check", str(sub), "--items", "TwoLayerNet", "--rubric", str(rubric),
                 "--gradescope", str(gs), "--json", str(js)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 1
    assert re.search(r"FAIL  TwoLayerNet: regularisation", out) and "0.5 factor" in out
    results = json.loads(gs.read_text())
    jsonschema.validate(results, GRADESCOPE_SCHEMA)
    tests = {t["name"]: t for t in results["tests"]}
    assert tests["TwoLayerNet: gradients"]["max_score"] == 5
    assert tests["TwoLayerNet: gradients"]["visibility"] == "after_due_date"
    assert tests["TwoLayerNet: regularisation"] == {**tests["TwoLayerNet: regularisation"],
                                                    "score": 0, "status": "failed"}  # fmt: skip
    # 8 checks: gradients worth 5, the 7 others 2 each; regularisation and numeric gradients fail
    assert results["score"] == sum(t["score"] for t in results["tests"]) == 5 + 2 * 5
    saved = json.loads(js.read_text())
    assert saved["passed"] is False and saved["max_score"] == 5 + 2 * 7
    assert main(["check", str(write(tmp_path, CORRECT, "ok.py")), "--items", "sgd"]) == 0
    capsys.readouterr()


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["check", "missing.py"], "is not a file"),
        (["check", "{sub}", "--items", "affine"], "argument --items: unknown item"),
        (["check", "{sub}", "--rubric", "{bad_rubric}"], "argument --rubric: rubric"),
        (["check", "{sub}", "--timeout", "0"], "argument --timeout"),
        (["check", "{sub}", "--skip-cells", "("], "argument --skip-cells"),
        (["check", "{txt}"], "expected a .py file or a .ipynb notebook"),
    ],
)
def test_bad_input_is_one_error_line(tmp_path, capsys, argv, words):
    paths = {"sub": write(tmp_path, CORRECT), "txt": write(tmp_path, "x", "notes.txt"),
             "bad_rubric": write(tmp_path, "[default]\npoints = -1\n", "r.toml")}  # fmt: skip
    code = main([a.format(**paths) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("layerwise: error: ")
    assert words in err, err


pytest_plugins = ["pytester"]


def test_an_instructor_runs_the_checks_from_pytest(pytester, tmp_path):
    sub = write(tmp_path, bug("dtheta0 = dout.sum(axis=0)", "dtheta0 = dout"))
    pytester.makepyfile(
        f"""
        from layerwise.check import pytest_checks
        test_submission = pytest_checks({str(sub)!r}, items=["affine_backward"])
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(["*affine_backward: gradients: dtheta0 has shape (10, 5)*"])
    assert callable(pytest_checks)


def test_the_walkthrough_passes_and_its_student_version_is_all_to_do(tmp_path):
    """The walkthrough notebook's own solutions pass every check; `assignment build` turns it
    into a student notebook in which every item is reported as not implemented yet."""
    from layerwise.assignment import build_student_notebook

    walkthrough = Path(__file__).parents[2] / "examples" / "multilayer_nets.ipynb"
    report = check_path(walkthrough)
    assert all(report.found[item] == "own" for item in BASIC)
    assert report.passed, [f"{r.name}: {r.diagnosis}" for r in report.failures()]
    student = tmp_path / "student.ipynb"
    build_student_notebook(walkthrough, student)
    todo = check_path(student)
    assert todo.results and not any(r.passed for r in todo.results)
    assert all("not implemented yet" in r.diagnosis for r in todo.results)
