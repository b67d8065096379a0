"""One thread setting for BLAS and the fused kernels (layerwise.threads)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from layerwise import fused, optim
from layerwise.cli import main
from layerwise.errors import ConfigError
from layerwise.threads import ENV, available, resolve, set_threads


@pytest.fixture(autouse=True)
def restore_threads():
    with threadpool_limits(None):  # whatever the test sets is undone at its end
        yield


def test_the_number_comes_from_the_argument_the_environment_or_the_cores(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    assert resolve(3) == 3
    assert resolve() == available() >= 1
    monkeypatch.setenv(ENV, " 2 ")
    assert resolve() == 2 and resolve(5) == 5


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "two"])
def test_a_bad_number_is_refused(bad, monkeypatch):
    with pytest.raises(ConfigError, match="positive number of threads"):
        resolve(bad)
    monkeypatch.setenv(ENV, str(bad))
    with pytest.raises(ConfigError, match=ENV):
        resolve()


def test_without_a_number_nothing_changes(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    with threadpool_limits(1):
        assert set_threads() == 1  # OMP_NUM_THREADS=1 (or this limit) is kept, not raised
        assert all(
            lib["num_threads"] == 1 for lib in threadpool_info() if lib["user_api"] == "blas"
        )


def test_blas_follows_it_and_the_kernels_stay_on_one_thread():
    import numba

    assert set_threads(1) == 1
    assert all(lib["num_threads"] == 1 for lib in threadpool_info() if lib["user_api"] == "blas")
    set_threads(2)
    w = np.ones((300, 300), np.float32)
    optim.adam(w, w.copy(), None)  # loads the kernels
    assert fused.kernels() is not None and numba.get_num_threads() == fused.KERNEL_THREADS == 1


def test_the_command_records_it_and_a_resume_keeps_it(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--epochs", "1", "--quiet", "--threads", "1"]) == 0
    assert json.loads((run / "config.json").read_text())["threads"] == 1
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet"]) == 0
    assert json.loads((run / "config.json").read_text())["threads"] == 1
    assert main(["train", "--out", str(tmp_path / "bad"), "--threads", "0"]) == 2
    assert "argument --threads" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
