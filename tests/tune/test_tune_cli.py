"""``layerwise tune`` on the command line: options, one-line errors, the install hint."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from tune_helpers import TINY, results, run_tune

from layerwise import cli


def test_help_lists_tune_and_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    assert "tune" in capsys.readouterr().out
    assert cli.main(["tune", "--help"]) == 0
    text = capsys.readouterr().out
    for option in (
        "--grid",
        "--range",
        "--space",
        "--sampler",
        "--pruner",
        "--jobs",
        "--scheduler",
        "--study",
        "--retrain-best",
        "--update-rule",
        "--epochs",
    ):
        assert option in text


def test_without_the_extra_a_one_line_install_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna -> ImportError
    rc, _, err = run_tune("--grid", "lr=0.1,0.5", "--study", str(tmp_path / "s"))
    assert rc == 2
    assert err == (
        "layerwise: error: layerwise tune needs the optional package optuna, which is not "
        "installed; install it with: pip install 'layerwise[tune]'\n"
    )
    assert not (tmp_path / "s").exists()


def test_without_dask_only_parallel_runs_need_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    rc, _, err = run_tune("--grid", "lr=0.5", *TINY, "--jobs", "2", "--study", str(tmp_path / "a"))
    assert rc == 2 and "package distributed" in err and "layerwise[tune]" in err
    rc, out, err = run_tune(
        "--grid", "lr=0.5", *TINY, "--jobs", "1", "--study", str(tmp_path / "b")
    )
    assert rc == 0, err
    assert "Tested 0.5: Validation accuracy = " in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--grid", "lr=0.1,0.5", "--lr", "0.3"], "lr is both searched and fixed (--lr 0.3)"),
        (["--grid", "units=8,16", "--hidden", "32"], "units is both searched and fixed"),
        (["--grid", "lr=0.1", "--hidden-layers", "2"], "--hidden-layers 2 sets how many layers"),
        (["--range", "lr=0.1:1", "--sampler", "grid"], "the grid sampler needs values"),
        (["--grid", "momentum=0.9"], "unknown parameter 'momentum'"),
        (["--grid", "lr=0.1,-1"], "parameter lr: bad value '-1'"),
        (["--grid", "lr=0.1", "--norm", "batchnorm"], "only model fc normalises"),
        (
            ["--grid", "units=8", "--model", "three-layer", "--hidden-layers", "3"],
            "model three-layer needs 2 hidden size(s)",
        ),
        (["--grid", "lr=0.1", "--epochs", "0"], "argument --epochs: expected an integer >= 1"),
        (["--grid", "lr=0.1", "--activation", "swish"], "argument --activation: invalid choice"),
        ([], "nothing to search"),
        (["--grid", "lr=0.1", "--val-size", "1437"], "val_size 1437 leaves no training examples"),
        (["--grid", "lr=0.1", "--scheduler", ""], "'' is not a Dask scheduler address"),
        (["--grid", "lr=0.1", "--scheduler", "garbage"], "expected [protocol://]host:port"),
        (["--grid", "lr=0.1", "--scheduler", "tcp://"], "'tcp://' is not a Dask scheduler"),
    ],
)
def test_bad_command_lines_fail_in_one_line_before_any_training(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    rc, out, err = run_tune(*argv, "--study", str(tmp_path / "s"))
    assert rc == 2
    assert err.startswith("layerwise: error: ") and err.count("\n") == 1, err
    assert message in err
    assert "Tested" not in out
    assert not (tmp_path / "s").exists()  # nothing was created


def test_a_folder_that_is_not_a_study_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    rc, _, err = run_tune("--grid", "lr=0.5", *TINY, "--study", str(run))
    assert rc == 2 and "holds other files and no study" in err


def test_units_with_hidden_layers_builds_that_many_layers(tmp_path: Path) -> None:
    study = tmp_path / "s"
    rc, _, err = run_tune(
        "--model",
        "fc",
        "--hidden-layers",
        "3",
        "--grid",
        "units=8",
        "--epochs",
        "1",
        "--weight-init",
        "he",
        "--lr",
        "0.1",
        "--jobs",
        "1",
        "--study",
        str(study),
        "--retrain-best",
    )
    assert rc == 0, err
    import json

    model = json.loads((study / "best" / "model.json").read_text())
    assert model["config"]["hidden_dims"] == [8, 8, 8]
    assert results(study)["hidden_layers"] == 3


@pytest.mark.parametrize("damage", ["garbage line in journal.log", "random bytes as study.db"])
def test_a_damaged_study_storage_is_one_clean_line(tmp_path: Path, damage: str) -> None:
    study = tmp_path / "s"
    if damage.startswith("garbage"):
        rc, _, err = run_tune("--grid", "lr=0.5", *TINY, "--jobs", "1", "--study", str(study))
        assert rc == 0, err
        with open(study / "journal.log", "a") as f:
            f.write("garbage{\n")
        argv = ["--grid", "lr=0.5", *TINY, "--jobs", "1", "--study", str(study)]
    else:
        study.mkdir()
        (study / "study.db").write_bytes(bytes(range(256)) * 20)
        argv = ["--grid", "lr=0.5", *TINY, "--jobs", "1", "--study", str(study)]
    rc, out, err = run_tune(*argv)
    assert rc == 2 and "Traceback" not in out + err
    assert err.startswith("layerwise: error: the study storage ") and err.count("\n") == 1
    assert "cannot be read" in err


#: /proc/self/mountinfo lines (the kernel's format): a local root, an NFS home, a tmpfs.
MOUNTINFO = """\
22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
35 22 0:33 / /home rw,relatime shared:9 - nfs4 fileserver:/export/home rw,vers=4.2
36 35 0:34 / /home/ann/scratch rw - tmpfs tmpfs rw
40 22 0:40 / /mnt/my\\040disk rw - fuse.sshfs me@host:/data rw
"""


def test_the_file_system_of_a_path_is_read_from_mountinfo() -> None:
    from layerwise.tune.plan import file_system_type

    cases = {
        "/": "ext4",
        "/srv/studies": "ext4",
        "/home": "nfs4",
        "/home/ann/study": "nfs4",
        "/home/ann/scratch/study": "tmpfs",
        "/homework": "ext4",  # a prefix of the name is not the mount point
        "/mnt/my disk/s": "fuse.sshfs",
    }
    for path, kind in cases.items():
        assert file_system_type(Path(path), MOUNTINFO) == kind, path


def test_a_journal_on_a_network_file_system_is_refused() -> None:
    from layerwise.tune.plan import PlanError, check_local_file_system

    for storage in ("journal", "sqlite"):
        with pytest.raises(PlanError) as e:
            check_local_file_system(Path("/home/ann/study"), storage, MOUNTINFO)
        assert "network file system (nfs4)" in str(e.value) and storage in str(e.value)
        assert "--storage postgresql://" in str(e.value)
    check_local_file_system(Path("/home/ann/scratch/study"), "journal", MOUNTINFO)  # tmpfs


def test_the_grace_period_must_be_a_number_of_seconds(tmp_path: Path) -> None:
    for text in ("0", "-3", "nan", "inf", "soon"):
        rc, out, err = run_tune(
            "--grid", "lr=0.5", "--grace-period", text, "--study", str(tmp_path)
        )
        assert rc == 2 and out == "" and "--grace-period" in err and repr(text) in err, err
