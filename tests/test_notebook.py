"""The walkthrough notebook: paired with its .py source, stored without outputs, and it runs.

The notebook is executed with nbclient in quick mode on the embedded digits, the way a student
would run it top to bottom; any failing cell (every gradient check and exact-value check in
it asserts) fails the test.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import layerwise

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "multilayer_nets.ipynb"
SOURCE = NOTEBOOK.with_suffix(".py")
SRC = Path(layerwise.__file__).resolve().parent.parent

#: Figures the notebook draws: three training-curve pairs, cost per epoch, two prediction
#: grids, first-layer weights and the confusion matrix.
NUM_FIGURES = 8


def _require(module: str) -> ModuleType:
    """Import a notebook tool (the [dev] extra); skip without it, but fail under CI."""
    try:
        return importlib.import_module(module)
    except ImportError:
        message = f"{module} is not installed (pip install -e '.[dev]')"
        if os.environ.get("CI", "").strip().lower() in {"true", "1"}:
            pytest.fail(message)
        pytest.skip(message)


def test_notebook_and_source_are_in_sync() -> None:
    jupytext = _require("jupytext")
    notebook, source = jupytext.read(NOTEBOOK), jupytext.read(SOURCE)
    assert notebook.metadata["jupytext"]["formats"] == "ipynb,py:percent"
    in_notebook = [(c.cell_type, c.source) for c in notebook.cells]
    in_source = [(c.cell_type, c.source) for c in source.cells]
    for i, (a, b) in enumerate(zip(in_notebook, in_source, strict=False)):
        assert a == b, f"cell {i} differs; run: jupytext --sync {NOTEBOOK.relative_to(ROOT)}"
    assert len(in_notebook) == len(in_source), "the two files have different numbers of cells"


def test_notebook_is_stored_without_outputs() -> None:
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert len(code) > 10
    for i, cell in enumerate(code):
        assert cell["outputs"] == [] and cell["execution_count"] is None, (
            f"code cell {i} holds outputs; clear them before committing"
        )
    assert "widgets" not in notebook["metadata"]


def _outputs(notebook: Any, output_type: str) -> list[Any]:
    return [
        out
        for cell in notebook.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == output_type
    ]


@pytest.mark.slow
def test_notebook_runs_in_quick_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = _require("nbformat")
    nbclient = _require("nbclient")
    _require("ipykernel")
    monkeypatch.setenv("LAYERWISE_NOTEBOOK_DATASET", "digits")
    monkeypatch.setenv("LAYERWISE_NOTEBOOK_QUICK", "1")
    monkeypatch.delenv("LAYERWISE_NOTEBOOK_DATA_DIR", raising=False)
    # The kernel is a new process: let it import this checkout even where it is not installed.
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    )
    # One BLAS thread: under `pytest -n 2` the kernel shares two cores with another worker,
    # and OpenBLAS threads spinning against each other make matrix products ~10x slower.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(name, "1")

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # the kernel's working folder
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, when any cell fails
    elapsed = time.perf_counter() - start

    assert _outputs(notebook, "error") == []
    text = "".join(out.text for out in _outputs(notebook, "stream") if out.name == "stdout")
    for line in (
        "dataset digits, data folder (default), quick mode True",
        "TwoLayerNet: scores and losses match the seed",
        "ThreeLayerNet: scores and losses match the seed",
        "(Epoch 5 / 5) train acc: ",
        "notebook finished in",
    ):
        assert line in text, line
    figures = [out for out in _outputs(notebook, "execute_result") if "image/png" in out.data]
    assert len(figures) == NUM_FIGURES
    assert list(tmp_path.iterdir()) == []  # the notebook writes no files
    print(f"notebook ran in {elapsed:.1f} s")
