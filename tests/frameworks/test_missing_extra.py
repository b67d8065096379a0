"""Without the [tf] extra: one line that says how to install it, never a traceback."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from layerwise.cli import main

HINT = r"pip install 'layerwise\[tf\]'"


@pytest.fixture
def no_tensorflow(monkeypatch: pytest.MonkeyPatch) -> None:
    """`import tensorflow` / `import keras` raise ImportError, as when they are not installed."""
    for name in ("tensorflow", "keras"):
        monkeypatch.setitem(sys.modules, name, None)
    import layerwise.frameworks

    for name in ("keras", "tensorflow"):
        monkeypatch.delitem(sys.modules, f"layerwise.frameworks.{name}", raising=False)
        monkeypatch.delattr(layerwise.frameworks, name, raising=False)


@pytest.mark.usefixtures("no_tensorflow")
@pytest.mark.parametrize(
    "module", ["layerwise.frameworks.keras", "layerwise.frameworks.tensorflow"]
)
def test_importing_a_twin_says_what_to_install(module: str) -> None:
    from layerwise.frameworks import FrameworkMissing

    with pytest.raises(ImportError, match=HINT) as info:
        importlib.import_module(module)
    assert isinstance(info.value, FrameworkMissing)
    assert "\n" not in str(info.value)


@pytest.mark.usefixtures("no_tensorflow")
def test_require_engine() -> None:
    from layerwise.frameworks import FrameworkMissing, NetSpec, require_engine

    assert require_engine("numpy")["engine"] == "numpy"
    for engine in ("keras", "tensorflow"):
        with pytest.raises(FrameworkMissing, match=HINT):
            require_engine(engine)
    with pytest.raises(ValueError, match=r"unknown engine 'torch'"):
        require_engine("torch")
    from layerwise.frameworks.engines import build_twin

    with pytest.raises(FrameworkMissing, match=HINT):
        build_twin("keras", NetSpec(4, (3,)), NetSpec(4, (3,)).build_numpy())


@pytest.mark.usefixtures("no_tensorflow")
@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--engine", "keras"],
        ["train", "--engine", "tensorflow", "--epochs", "1"],
        ["compare", "--engines", "numpy,keras", "--epochs", "1"],
    ],
)
def test_the_command_line_says_it_in_one_line(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main([*argv, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("layerwise: error: ")
    assert "Traceback" not in captured.err
    assert pytest.importorskip("re").search(HINT, lines[0])
    assert not out.exists()  # nothing was started


@pytest.mark.usefixtures("no_tensorflow")
def test_help_needs_no_framework(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--help"]) == 0
    assert "--engine {numpy,keras,tensorflow}" in capsys.readouterr().out
    assert main(["compare", "--help"]) == 0
    assert "--engines" in capsys.readouterr().out
