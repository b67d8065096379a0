"""Fault injection: kill -9, crashes mid-write, damaged files, a full disk, two processes at once.

Every test drives the real command (``python -m layerwise`` in its own process, or
:func:`layerwise.cli.main` in this one) on the embedded digits, injects one fault, and checks the
guarantee that fault must not break:

1. **kill -9 at any point** (real processes, real SIGKILL): ``--resume RUN`` (again after a
   resume that is itself killed) finishes the run with a model.npz and a loss history equal, bit
   for bit, to an uninterrupted run's. What a kill before config.json exists leaves: the folder
   holds only ``.run.lock`` (the claim, made before the data is loaded, ~1 s with scikit-learn's
   import); ``--resume`` refuses it ("holds no config.json of a run") and ``train --out`` refuses
   it ("already exists and is not empty"), each in one line: the user removes the folder and
   starts again. An empty folder (a kill between ``mkdir`` and the claim) is accepted by
   ``train --out``.
2. **kill -9 while a checkpoint is written** (real kills timed on the temporary files, and each
   crash state written directly: a half-rotated pair, a new npz beside the old json, a json
   without its npz, files from two epochs, leftover ``.*.tmp`` files): ``--resume`` continues
   from a good checkpoint (the previous one, with a warning; or, killed between rotate's two
   renames, the latest JSON re-paired with its arrays by the digest it records) bit for bit, or
   refuses in one line; never a mixed pair.
3. **damaged files**: every kind of damage to ``checkpoints/`` (empty, truncated, random bytes,
   each JSON key missing or of the wrong type, arrays of another shape, garbage generator states)
   falls back to the previous checkpoint when that is good, and gives one ``layerwise: error:``
   line (exit 2, the folder unchanged) when both are damaged; damaged model files give
   ``layerwise evaluate`` one clean line.
4. **a full disk**: ENOSPC while any file is written (a real tmpfs where one can be mounted, else
   injected: the write puts half its bytes into the temporary file and raises, or fsync fails):
   one error line, exit 2, no file left that loads as something it is not, and the run completes
   once space is back.
5. **two processes at once**: two ``train --out SAME``: one trains, the other exits 2; two
   ``--resume RUN``: one trains, the other is refused by the lock; the lock of a killed process
   does not block.

Bit-exactness needs one BLAS thread: the child processes get ``OMP_NUM_THREADS=1`` (and the
OpenBLAS/MKL ones), the in-process runs run under threadpoolctl's limit of one thread, and each
is only ever compared with a reference made the same way. The in-process runs skip the figures
(they are drawn from the model and metrics that are compared, and take 1.5 s a run), except where
a figure is what the fault hits. Set ``LAYERWISE_FAULT_LOG=FILE`` to append one JSON line per
fault tried (kind, case, outcome); ``-s`` prints the tally at the end of the module.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import layerwise
from layerwise import cli
from layerwise.checkpoint import CheckpointError, load_checkpoint
from layerwise.io import ModelFileError, load_model, read_json
from layerwise.runs import RunFolder

SRC = Path(layerwise.__file__).resolve().parent.parent
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

#: The child processes' run: 337 training examples in batches of 10, so 33 iterations an epoch
#: and 31 checkpoints in about half a second of training: kills land in training and in
#: checkpoint writes alike.
SUB_ARGS = [
    "--val-size", "1100", "--batch-size", "10", "--epochs", "30", "--hidden", "50",
    "--seed", "7", "--print-every", "100000",
]  # fmt: skip
SUB_EPOCHS = 30
#: The in-process runs: every kind of state a checkpoint holds (Adam's moments and step count,
#: batchnorm's running statistics, the dropout generator), 25 iterations an epoch.
FC_FLAGS = [
    "--model", "fc", "--hidden", "20,20", "--norm", "batchnorm", "--update-rule", "adam",
    "--lr", "0.005", "--dropout", "0.1", "--seed", "3",
]  # fmt: skip
FC_EPOCHS = 3
#: The full-disk runs: the default two-layer net, small.
DISK_FLAGS = ["--hidden", "20", "--epochs", "3", "--seed", "5"]

LATEST, PREVIOUS = "ckpt_latest", "ckpt_previous"
FAULTS: list[dict[str, str]] = []


def _note(kind: str, case: str, outcome: str) -> None:
    """Count one fault tried (see the module's docstring)."""
    FAULTS.append({"kind": kind, "case": case, "outcome": outcome})
    log = os.environ.get("LAYERWISE_FAULT_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps(FAULTS[-1]) + "\n")


@pytest.fixture(scope="module", autouse=True)
def _tally_and_one_thread() -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        limits: Any = contextlib.nullcontext()
    else:
        limits = threadpool_limits(limits=1)
    with limits:
        yield
    if FAULTS:
        tally = Counter((f["kind"], f["outcome"]) for f in FAULTS)
        print("\nfaults tried (kind, outcome: count):")
        for (kind, outcome), n in sorted(tally.items()):
            print(f"  {kind}, {outcome}: {n}")


# --------------------------------------------------------------------------------------------
# Helpers: the command in this process and in a child process
# --------------------------------------------------------------------------------------------


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli.main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def _assert_one_line_error(rc: int, out: str, err: str, match: str = "") -> None:
    assert rc == 2, (rc, out, err)
    assert "Traceback" not in out + err, err
    assert err.count("\n") == 1 and err.startswith("layerwise: error: "), err
    assert re.search(match, err), err


@contextlib.contextmanager
def _noting_tracebacks(kind: str, case: str) -> Iterator[None]:
    """Count a fault whose command raised (a traceback for its user), then let it fail."""
    try:
        yield
    except Exception as e:
        _note(kind, case, f"TRACEBACK: {type(e).__name__}: {e}"[:120])
        raise


@contextlib.contextmanager
def _no_figures() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(RunFolder, "write_figures", lambda self, *a, **k: [])
        yield


@pytest.fixture
def no_figures() -> Iterator[None]:
    with _no_figures():
        yield


CHILDREN: list[Child] = []


class Child:
    """``python -m layerwise ARGS`` in its own process, its output lines read (and timed) as
    they come."""

    def __init__(self, *args: str | Path) -> None:
        env = {
            **os.environ,
            **ONE_THREAD,
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "layerwise", *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.started = time.monotonic()
        self.out: list[tuple[float, str]] = []
        self.err: list[str] = []
        self._closed = 0
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, True), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, False), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        CHILDREN.append(self)

    def _read(self, stream: Any, is_out: bool) -> None:
        for line in stream:
            with self._changed:
                if is_out:
                    self.out.append((time.monotonic(), line))
                else:
                    self.err.append(line)
                self._changed.notify_all()
        with self._changed:
            self._closed += 1
            self._changed.notify_all()

    def line_time(self, *prefixes: str, timeout: float = 120.0) -> float | None:
        """When a line starting with one of ``prefixes`` came (waiting for it); None if the
        process ended without one."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for when, line in self.out:
                    if line.startswith(prefixes):
                        return when
                left = deadline - time.monotonic()
                if self._closed == 2 or left <= 0:
                    return None
                self._changed.wait(left)

    def running(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> bool:
        """SIGKILL it; whether it was still running."""
        if self.proc.poll() is not None:
            return False
        os.kill(self.proc.pid, signal.SIGKILL)
        return True

    def kill_at(self, when: float) -> bool:
        time.sleep(max(0.0, when - time.monotonic()))
        return self.kill()

    def kill_when(self, condition: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Poll ``condition`` (about every 0.1 ms) and SIGKILL the process as soon as it holds;
        whether it held before the process ended or the timeout."""
        deadline = time.monotonic() + timeout
        while self.running() and time.monotonic() < deadline:
            try:
                if condition():
                    self.kill()
                    return True
            except OSError:  # a file vanished under the poll
                pass
            time.sleep(0.0001)
        self.kill()
        return False

    def finish(self, timeout: float = 180.0) -> tuple[int, str, str]:
        rc = self.proc.wait(timeout)
        for reader in self._readers:
            reader.join(timeout)
        return rc, "".join(line for _, line in self.out), "".join(self.err)


@pytest.fixture(autouse=True)
def _no_child_left() -> Iterator[None]:
    yield
    while CHILDREN:
        child = CHILDREN.pop()
        if child.kill():
            child.proc.wait(30)


# --------------------------------------------------------------------------------------------
# Helpers: what a run folder holds
# --------------------------------------------------------------------------------------------

_RESULT_KEYS = (
    "epochs",
    "loss_history",
    "train_acc_history",
    "val_acc_history",
    "val_loss_history",
    "best_val_acc",
    "val_acc",
    "test_acc",
    "num_iterations",
    "stopped_reason",
)


def _assert_same_run(run: Path, ref: Path) -> None:
    """model.npz's arrays and metrics.json's histories and accuracies equal, bit for bit."""
    with np.load(run / "model.npz") as a, np.load(ref / "model.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for name in a.files:
            assert a[name].dtype == b[name].dtype, name
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert json.loads((run / "model.json").read_text()) == json.loads(
        (ref / "model.json").read_text()
    )
    ma, mb = read_json(run / "metrics.json"), read_json(ref / "metrics.json")
    for key in _RESULT_KEYS:
        assert ma[key] == mb[key], key
    assert load_model(run).params.keys() == load_model(ref).params.keys()


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _complete(base: Path) -> bool:
    return base.with_suffix(".npz").is_file() and base.with_suffix(".json").is_file()


def _state(run: Path) -> str:
    """In words, what a killed or failed run left in its folder."""
    if not run.exists():
        return "no folder"
    names = set(os.listdir(run))
    if not names:
        return "empty folder"
    if "config.json" not in names:
        return "lock only" if names == {".run.lock"} else f"no config.json: {sorted(names)}"
    ck = run / "checkpoints"
    temporaries = sorted(
        ".".join(p.name.split(".")[1:3]) for p in [*ck.glob(".*.tmp"), *run.glob(".*.tmp")]
    )
    tmp = f", partial {'+'.join(temporaries)}" if temporaries else ""
    if "metrics.json" in names and "model.npz" in names:
        missing = [n for n in ("metrics.csv", "model.json") if n not in names]
        return f"finished{' without ' + '+'.join(missing) if missing else ''}{tmp}"
    if "metrics.json" in names or "model.npz" in names:
        return f"writing results{tmp}"
    latest, previous = _complete(ck / LATEST), _complete(ck / PREVIOUS)
    if not latest and not previous:
        return f"no checkpoint yet{tmp}"
    if not latest:
        return f"latest checkpoint incomplete{tmp}"
    return f"between checkpoints{tmp}"


def _assert_every_file_is_good_or_refused(run: Path, ref: Path | None = None) -> None:
    """What a failed write leaves: no temporary file of its own, and every file there either
    loads as what it should be or is refused by its loader (never half a file that loads)."""
    if not run.exists():
        return
    for path in run.rglob("*"):
        if not path.is_file():
            continue
        rel = path.relative_to(run)
        if path.name.startswith(".") and path.name.endswith(".tmp"):
            pytest.fail(f"a temporary file was left behind: {rel}")
        if path.suffix == ".png":
            data = path.read_bytes()
            assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82"), rel
    if (run / "config.json").exists():
        recipe = RunFolder(run).recipe()
        if ref is not None:
            assert recipe == RunFolder(ref).recipe()
    for base in {p.with_suffix("") for p in (run / "checkpoints").glob("*.*")}:
        with contextlib.suppress(CheckpointError):
            load_checkpoint(base)  # loads (a whole pair) or is refused
    if (run / "model.npz").exists() or (run / "model.json").exists():
        try:
            load_model(run)
        except (ModelFileError, FileNotFoundError):
            pass
        else:
            if ref is not None:
                with np.load(run / "model.npz") as a, np.load(ref / "model.npz") as b:
                    for name in b.files:
                        np.testing.assert_array_equal(a[name], b[name])
    if (run / "metrics.json").exists():
        metrics = read_json(run / "metrics.json")  # a JSON file that reads is a whole one
        if ref is not None:
            assert metrics["loss_history"] == read_json(ref / "metrics.json")["loss_history"]
    if (run / "metrics.csv").exists() and ref is not None:
        assert (run / "metrics.csv").read_bytes() == (ref / "metrics.csv").read_bytes()


# --------------------------------------------------------------------------------------------
# References: the uninterrupted runs
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sub_ref(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The child processes' run, uninterrupted, and how long its phases took."""
    run = tmp_path_factory.mktemp("faults-ref") / "run"
    child = Child("train", "--out", run, *SUB_ARGS)
    rc, out, err = child.finish()
    assert rc == 0, err
    training = child.line_time("Training")
    trained = child.line_time(f"(Epoch {SUB_EPOCHS} / {SUB_EPOCHS})")
    done = child.line_time("val accuracy")
    assert training and trained and done, out
    return {"run": run, "train_s": trained - training, "results_s": done - trained}


def _fc_recipe_args(epochs: int) -> list[str]:
    return [*FC_FLAGS, "--epochs", str(epochs)]


@pytest.fixture(scope="module")
def fc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The in-process runs: ``ref`` (3 epochs, uninterrupted), ``ref4`` (4 epochs), and
    ``stopped``: the same run stopped after its epoch-2 checkpoint (latest = epoch 2,
    previous = epoch 1), as a kill between two epochs leaves it."""
    from layerwise.cli.train import make_recipe
    from layerwise.runs import train_run

    root = tmp_path_factory.mktemp("faults-fc")
    with _no_figures():
        for name, epochs in (("ref", FC_EPOCHS), ("ref4", FC_EPOCHS + 1)):
            rc, _, err = _cli(["train", "--out", root / name, "--quiet", *_fc_recipe_args(epochs)])
            assert rc == 0, err

    class StopAfterEpoch2:
        def on_epoch_end(self, solver: Any) -> None:
            if solver.epoch == 2:
                raise KeyboardInterrupt

    argv = ["train", *_fc_recipe_args(FC_EPOCHS)]
    recipe = make_recipe(cli.build_parser().parse_args(argv))
    folder = RunFolder.create(root / "stopped")
    with pytest.raises(KeyboardInterrupt):
        train_run(
            recipe,
            folder,
            verbose=False,
            figures=False,
            callbacks=[StopAfterEpoch2()],
            extra_config={"print_every": 100, "argv": argv[1:]},
        )
    stopped = root / "stopped" / "checkpoints"
    assert read_json(stopped / f"{LATEST}.json")["epoch"] == 2
    assert read_json(stopped / f"{PREVIOUS}.json")["epoch"] == 1
    return {"ref": root / "ref", "ref4": root / "ref4", "stopped": root / "stopped"}


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def _resume_in_process(run: Path, *more: str) -> tuple[int, str, str]:
    """``train --resume RUN`` (in this process, figures skipped)."""
    with _no_figures():
        return _cli(["train", "--resume", run, "--quiet", *more])


# --------------------------------------------------------------------------------------------
# 1. kill -9 at any point of a run, and of its resumes
# --------------------------------------------------------------------------------------------


def _resume_until_finished(
    run: Path, ref: Path, kills: list[float], kind: str, case: str
) -> list[str]:
    """``--resume RUN`` (child processes) until the run is finished; each delay in ``kills``
    SIGKILLs one resume that long after it says it resumes. Returns the resumes' stderr."""
    errs = []
    for _ in range(len(kills) + 3):
        child = Child("train", "--resume", run)
        if kills:
            delay = kills.pop(0)
            said = child.line_time("Resuming", "Finishing")
            if said is not None and child.kill_at(said + delay):
                rc, _, err = child.finish()
                assert rc == -signal.SIGKILL
                holder = (run / RunFolder.LOCK).read_text().strip()
                assert holder == str(child.proc.pid)  # its lock is left behind, stale
                errs.append(err)
                _note(kind, f"{case}: resume killed", _state(run))
                continue
        rc, out, err = child.finish()
        errs.append(err)
        assert "Traceback" not in out + err, err
        if rc == 2 and "already finished" in err:  # the kill came after the results
            _assert_one_line_error(rc, out, err, "already finished")
            break
        if rc != 0:
            _note(kind, case, f"{_state(run)}: NOT resumable: {err.strip()}")
        assert rc == 0, f"{_state(run)}: the resume failed: {err}"
        break
    else:
        pytest.fail(f"{run} did not finish: {errs}")
    _assert_same_run(run, ref)
    return errs


def _kill_trial(
    tmp_path: Path, sub_ref: dict[str, Any], trigger: str, delay: float, resume_kills: list[float]
) -> None:
    run = tmp_path / "run"
    ck = run / "checkpoints"
    child = Child("train", "--out", run, *SUB_ARGS)
    if trigger == "lock":  # after the claim, before config.json
        hit = child.kill_when(
            lambda: (run / RunFolder.LOCK).exists() and not (run / "config.json").exists()
        )
    elif trigger == "config":  # config.json written, the first checkpoint not yet
        hit = child.kill_when(lambda: (run / "config.json").exists())
    elif trigger.startswith("tmp:"):  # a checkpoint's or result's temporary file is written
        name = trigger[4:]
        where = ck if name.startswith("ckpt") else run
        assert child.line_time(f"(Epoch {int(delay)} /") is not None
        hit = child.kill_when(lambda: any(n.startswith(f".{name}.") for n in os.listdir(where)), 5)
    elif trigger == "rotating":  # rotate has moved the latest npz to previous, not the json
        assert child.line_time(f"(Epoch {int(delay)} /") is not None
        hit = child.kill_when(
            lambda: not (ck / f"{LATEST}.npz").exists() and (ck / f"{LATEST}.json").exists(), 5
        )
    elif trigger == "rotated":  # the latest moved to previous, the new latest not there yet
        assert child.line_time(f"(Epoch {int(delay)} /") is not None
        hit = child.kill_when(lambda: not any(n.startswith(LATEST) for n in os.listdir(ck)), 5)
    else:  # "after": this long after the 'Training ...' line
        said = child.line_time("Training")
        assert said is not None
        hit = child.kill_at(said + delay)
    rc, _, err = child.finish()
    assert "Traceback" not in err, err
    state = _state(run)
    case = f"{trigger} at epoch {int(delay)}" if trigger[:3] in ("tmp", "rot") else trigger
    case += f" {delay:.3f} s" if trigger == "after" else ""
    if not hit:
        _note("kill -9", case, f"trigger missed, killed at: {state}")
    if rc == 0:  # it finished before the kill
        _assert_same_run(run, sub_ref["run"])
        _note("kill -9", case, "finished before the kill")
        return
    assert rc == -signal.SIGKILL
    if state in ("no folder", "empty folder", "lock only"):
        # Before config.json: nothing to resume; refused in one line, never a traceback.
        _assert_one_line_error(*_cli(["train", "--resume", run]), "holds no config.json")
        # A lock-only folder (its claimer dead, the lock free) is taken over by train --out.
        with _no_figures():
            rc, _, err = _cli(["train", "--out", run, "--quiet", *SUB_ARGS])
        assert rc == 0, err
        _assert_same_run(run, sub_ref["run"])
        _note("kill -9", case, f"{state}: resume refused cleanly, train --out bit-exact")
        return
    rotating = _inside_rotate(run)
    # Killed between rotate's two renames, neither pair is whole: the latest's json is beside
    # the previous npz, and the digest it records pairs them again.
    errs = _resume_until_finished(run, sub_ref["run"], list(resume_kills), "kill -9", case)
    if rotating:
        assert any("were found in" in e for e in errs), errs
    fell_back = any("resuming from" in e for e in errs)
    how = "inside rotate: re-paired + " if rotating else "fallback + " if fell_back else ""
    _note("kill -9", case, f"{state}: {how}bit-exact")


def _inside_rotate(run: Path) -> bool:
    """Whether the checkpoints are as a kill between rotate's two renames leaves them: the
    latest json beside no npz, its npz already moved to previous (the digest says so)."""
    ck = run / "checkpoints"
    latest_json, previous_npz = ck / f"{LATEST}.json", ck / f"{PREVIOUS}.npz"
    if (ck / f"{LATEST}.npz").exists() or not latest_json.exists() or not previous_npz.exists():
        return False
    digest = hashlib.sha256(previous_npz.read_bytes()).hexdigest()
    return bool(read_json(latest_json).get("npz_sha256") == digest)


def _delays(seed: int, span: float, n: int) -> list[float]:
    """``n`` delays spread over ``[0, span)``: one in each of n equal slices, at random."""
    rng = random.Random(seed)
    return [(i + rng.random()) * span / n for i in range(n)]


@pytest.mark.parametrize("trigger", ["lock", "config"])
def test_kill_9_before_training(
    tmp_path: Path, sub_ref: dict[str, Any], trigger: str, no_figures: None
) -> None:
    """Killed before config.json (a folder with only its claim): refused in one line by
    ``--resume``, taken over by ``train --out``. Killed after config.json but before the first
    checkpoint: the run must still be resumable (its recipe is in config.json)."""
    _kill_trial(tmp_path, sub_ref, trigger, 0.0, [])


def test_kill_9_during_training_and_during_its_resume(
    tmp_path: Path, sub_ref: dict[str, Any]
) -> None:
    (first,) = _delays(1, sub_ref["train_s"], 1)
    (second,) = _delays(2, sub_ref["train_s"] + sub_ref["results_s"], 1)
    _kill_trial(tmp_path, sub_ref, "after", first, [second])


@pytest.mark.parametrize("trigger", ["tmp:ckpt_latest.npz", "rotating"])
def test_kill_9_while_a_checkpoint_is_written(
    tmp_path: Path, sub_ref: dict[str, Any], trigger: str
) -> None:
    """Killed while the latest checkpoint's npz is written (the resume falls back to the
    previous one), or between rotate's two renames (at an epoch drawn from the trigger's
    name): there the resume may only refuse, in one line."""
    _kill_trial(tmp_path, sub_ref, trigger, float(random.Random(trigger).randint(3, 25)), [])


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_kill_9_at_random_points(tmp_path: Path, sub_ref: dict[str, Any], seed: int) -> None:
    """Kills spread over the whole run (training, the results, the figures), and over the
    resumes for every other trial."""
    span = sub_ref["train_s"] + sub_ref["results_s"]
    first = _delays(100, span, 3)[seed]
    resume_kills = _delays(200 + seed, span, 1) if seed % 2 == 0 else []
    _kill_trial(tmp_path, sub_ref, "after", first, resume_kills)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("trigger", "epoch"),
    [
        ("rotated", 0),
        ("tmp:metrics.json", SUB_EPOCHS),
        ("tmp:model.npz", SUB_EPOCHS),
    ],
)
def test_kill_9_while_a_checkpoint_or_result_is_written(
    tmp_path: Path, sub_ref: dict[str, Any], trigger: str, epoch: int
) -> None:
    epoch = epoch or random.Random(trigger).randint(3, 25)
    _kill_trial(tmp_path, sub_ref, trigger, float(epoch), [])


def test_an_empty_run_folder_is_refused_by_resume_and_taken_by_train(
    tmp_path: Path, fc: dict[str, Path], no_figures: None
) -> None:
    """A kill between ``mkdir`` and the claim leaves an empty folder."""
    run = tmp_path / "run"
    run.mkdir()
    _assert_one_line_error(*_cli(["train", "--resume", run]), "holds no config.json")
    rc, _, err = _cli(["train", "--out", run, "--quiet", *_fc_recipe_args(FC_EPOCHS)])
    assert rc == 0, err
    _assert_same_run(run, fc["ref"])
    _note("kill -9", "empty folder (simulated)", "resume refused cleanly, train --out bit-exact")


# --------------------------------------------------------------------------------------------
# 2. The states a kill during a checkpoint write (or the results) leaves, written directly
# --------------------------------------------------------------------------------------------


def _ck(run: Path) -> Path:
    return run / "checkpoints"


def _put(run: Path, name: str, src: Path) -> None:
    shutil.copyfile(src, _ck(run) / name)


def _partial(path: Path, data: bytes) -> None:
    path.write_bytes(data[: len(data) // 2])


def _crash_states(fc: dict[str, Path]) -> dict[str, Callable[[Path], None]]:
    """name -> what to do to a copy of ``stopped`` (latest = E2, previous = E1); the reference's
    checkpoints are E3 (latest) and E2 (previous)."""
    e2 = _ck(fc["stopped"]) / LATEST
    e1 = _ck(fc["stopped"]) / PREVIOUS
    e3 = _ck(fc["ref"]) / LATEST

    def rotate_half(run: Path) -> None:  # os.replace of the npz done, of the json not
        os.replace(_ck(run) / f"{LATEST}.npz", _ck(run) / f"{PREVIOUS}.npz")

    def rotated(run: Path) -> None:
        for suffix in (".npz", ".json"):
            os.replace(_ck(run) / f"{LATEST}{suffix}", _ck(run) / f"{PREVIOUS}{suffix}")

    def npz_partial(run: Path) -> None:
        rotated(run)
        _partial(_ck(run) / f".{LATEST}.npz.k1ll3d0.tmp", e3.with_suffix(".npz").read_bytes())

    def npz_written(run: Path) -> None:
        rotated(run)
        _put(run, f"{LATEST}.npz", e3.with_suffix(".npz"))

    def json_partial(run: Path) -> None:
        npz_written(run)
        _partial(_ck(run) / f".{LATEST}.json.k1ll3d0.tmp", e3.with_suffix(".json").read_bytes())

    def new_npz_old_json(run: Path) -> None:
        _put(run, f"{LATEST}.npz", e3.with_suffix(".npz"))

    def old_npz_new_json(run: Path) -> None:
        _put(run, f"{LATEST}.npz", e1.with_suffix(".npz"))

    def json_without_npz(run: Path) -> None:
        (_ck(run) / f"{LATEST}.npz").unlink()

    def npz_without_json(run: Path) -> None:
        (_ck(run) / f"{LATEST}.json").unlink()

    def both_pairs_mixed(run: Path) -> None:
        _put(run, f"{LATEST}.json", e1.with_suffix(".json"))
        _put(run, f"{PREVIOUS}.json", e2.with_suffix(".json"))

    def earlier_but_whole(run: Path) -> None:  # both files of the latest from epoch 1
        _put(run, f"{LATEST}.npz", e1.with_suffix(".npz"))
        _put(run, f"{LATEST}.json", e1.with_suffix(".json"))

    def leftover_temporaries(run: Path) -> None:
        for i, name in enumerate((f"{LATEST}.npz", f"{LATEST}.json", f"{PREVIOUS}.npz")):
            tmp = _ck(run) / f".{name}.stale{i}.tmp"
            _partial(tmp, (_ck(run) / name).read_bytes())
            old = time.time() - 3600
            os.utime(tmp, (old, old))
        _partial(_ck(run) / f".{LATEST}.npz.fresh.tmp", e3.with_suffix(".npz").read_bytes())

    def leftover_temporaries_no_latest(run: Path) -> None:
        rotated(run)
        leftover_partials = [f".{LATEST}.npz.a.tmp", f".{LATEST}.json.b.tmp"]
        for name in leftover_partials:
            (_ck(run) / name).write_bytes(b"PK\x03\x04 half a file")

    return {
        "killed inside rotate (npz moved, json not)": rotate_half,
        "killed after rotate, before the new latest": rotated,
        "killed writing the npz (partial .tmp left)": npz_partial,
        "killed after the npz, before the json": npz_written,
        "killed writing the json (partial .tmp left)": json_partial,
        "new npz beside the old json": new_npz_old_json,
        "old npz beside the new json": old_npz_new_json,
        "a json beside a missing npz": json_without_npz,
        "an npz beside a missing json": npz_without_json,
        "files of two epochs in both pairs": both_pairs_mixed,
        "an earlier but whole latest pair": earlier_but_whole,
        "leftover .tmp files (stale and fresh) beside good pairs": leftover_temporaries,
        "leftover .tmp files and no latest": leftover_temporaries_no_latest,
    }


#: What a resume must do: "fallback" (to the previous, with a warning), "latest" (resume from a
#: whole latest pair, no warning), "refuse" (one line); each must finish bit for bit.
CRASH_EXPECTED = {
    "killed inside rotate (npz moved, json not)": {"re-paired"},
    "killed after rotate, before the new latest": {"fallback"},
    "killed writing the npz (partial .tmp left)": {"fallback"},
    "killed after the npz, before the json": {"fallback"},
    "killed writing the json (partial .tmp left)": {"fallback"},
    "new npz beside the old json": {"fallback"},
    "old npz beside the new json": {"fallback"},
    "a json beside a missing npz": {"fallback"},
    "an npz beside a missing json": {"fallback"},
    # each JSON finds its own arrays in the other pair by digest: whole again
    "files of two epochs in both pairs": {"re-paired"},
    "an earlier but whole latest pair": {"latest"},
    "leftover .tmp files (stale and fresh) beside good pairs": {"latest"},
    "leftover .tmp files and no latest": {"fallback"},
}


def _resume_outcome(run: Path, ref: Path, *more: str) -> str:
    """Resume (in process) and check the guarantee: 'refuse' (one line, the folder unchanged),
    else the run finishes equal to ``ref``: 'fallback' (a warning names what was wrong) or
    'latest'."""
    before = _snapshot(run)
    rc, out, err = _resume_in_process(run, *more)
    assert "Traceback" not in out + err
    if rc == 2:
        _assert_one_line_error(rc, out, err, "argument --resume: ")
        assert _snapshot(run) == before, "a refused resume changed the run folder"
        return "refuse"
    assert rc == 0, err
    _assert_same_run(run, ref)
    if err:
        assert err.count("\n") == 1 and err.startswith("Warning: "), err
        if re.search(rf"were found in \S*{PREVIOUS}\.npz .*; resuming from \S*{LATEST}$", err):
            return "re-paired"
        assert re.search(rf"resuming from \S*{PREVIOUS} instead", err), err
        return "fallback"
    return "latest"


@pytest.mark.parametrize("name", list(CRASH_EXPECTED))
def test_a_crash_state_of_the_checkpoints_resumes_or_is_refused(
    tmp_path: Path, fc: dict[str, Path], name: str
) -> None:
    run = _copy(fc["stopped"], tmp_path / "run")
    _crash_states(fc)[name](run)
    outcome = _resume_outcome(run, fc["ref"])
    _note("crash state", name, outcome)
    assert outcome in CRASH_EXPECTED[name]
    if "stale" in name:
        assert not list(_ck(run).glob(".*stale*.tmp")), "stale temporaries were not removed"


#: name -> the files of the finished reference to remove: a kill while the results were written,
#: in the order they are written (metrics.json, metrics.csv, model.npz, model.json).
RESULTS_STATES = {
    "killed after training, before the results": [
        "metrics.json",
        "metrics.csv",
        "model.npz",
        "model.json",
    ],
    "killed after metrics.json": ["metrics.csv", "model.npz", "model.json"],
    "killed after metrics.csv": ["model.npz", "model.json"],
    "killed after model.npz, before model.json": ["model.json"],
}


@pytest.mark.parametrize("name", list(RESULTS_STATES))
def test_a_run_killed_while_writing_its_results_is_finished_by_resume(
    tmp_path: Path, fc: dict[str, Path], name: str
) -> None:
    run = _copy(fc["ref"], tmp_path / "run")
    for file in RESULTS_STATES[name]:
        (run / file).unlink()
    rc, _, err = _resume_in_process(run)
    _note("crash state", name, "finished bit-exact" if rc == 0 else f"exit {rc}: {err.strip()}")
    assert rc == 0, err
    _assert_same_run(run, fc["ref"])
    rc, _, err = _cli(["evaluate", run])
    assert rc == 0, err


ARCHIVE_ORDER = ("metrics.json", "metrics.csv", "model.json", "model.npz")


@pytest.mark.parametrize("moved", range(1, len(ARCHIVE_ORDER) + 1))
def test_a_kill_while_an_extension_archives_the_finished_run_loses_nothing(
    tmp_path: Path, fc: dict[str, Path], moved: int
) -> None:
    """``--resume --epochs 4`` of a finished 3-epoch run first moves its results to
    ``finished/epoch-3/``; killed after ``moved`` of the 4 moves, the next resume must still
    keep the whole finished run there (it is never overwritten) and reach the 4-epoch run."""
    run = _copy(fc["ref"], tmp_path / "run")
    dest = run / RunFolder.FINISHED / f"epoch-{FC_EPOCHS}"
    dest.mkdir(parents=True)
    for name in ARCHIVE_ORDER[:moved]:
        os.replace(run / name, dest / name)
    rc, _, err = _resume_in_process(run, "--epochs", str(FC_EPOCHS + 1))
    assert rc == 0, err
    _assert_same_run(run, fc["ref4"])
    kept = sorted(p.name for p in dest.iterdir())
    whole = _matches(dest, fc["ref"])
    _note(
        "crash state",
        f"extension killed after {moved} archive moves",
        f"extended bit-exact; finished/ {'whole' if whole else 'LOST FILES, holds ' + str(kept)}",
    )
    assert whole, f"the finished run was overwritten: finished/ holds only {kept}"


# --------------------------------------------------------------------------------------------
# 3. Damaged checkpoint files, and damaged model files
# --------------------------------------------------------------------------------------------


def _meta(base: Path) -> dict[str, Any]:
    return json.loads(base.with_suffix(".json").read_text())


def _set_meta(base: Path, meta: dict[str, Any]) -> None:
    base.with_suffix(".json").write_text(json.dumps(meta, indent=2))


def _arrays(base: Path) -> dict[str, np.ndarray]:
    with np.load(base.with_suffix(".npz")) as f:
        return {k: f[k] for k in f.files}


def _resign(
    base: Path, arrays: dict[str, np.ndarray] | None = None, data: bytes | None = None
) -> None:
    """Write new arrays (or raw bytes) as the npz and make the json name them and their
    digest: a pair that belongs together, with damaged contents."""
    if data is None:
        buf = io.BytesIO()
        np.savez(buf, **(arrays or {}))
        data = buf.getvalue()
    base.with_suffix(".npz").write_bytes(data)
    meta = _meta(base)
    meta.update(npz_sha256=hashlib.sha256(data).hexdigest(), npz_bytes=len(data))
    if arrays is not None:
        meta["arrays"] = sorted(arrays)
    _set_meta(base, meta)


def _edit(key: str, value: Any) -> Callable[[Path], None]:
    def damage(base: Path) -> None:
        meta = _meta(base)
        where = meta
        *path, last = key.split("/")
        for part in path:
            where = where[part] if isinstance(where, dict) else where[int(part)]
        where[last if isinstance(where, dict) else int(last)] = value
        _set_meta(base, meta)

    return damage


def _drop(key: str) -> Callable[[Path], None]:
    def damage(base: Path) -> None:
        meta = _meta(base)
        del meta[key]
        _set_meta(base, meta)

    return damage


def _raw(suffix: str, make: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def damage(base: Path) -> None:
        path = base.with_suffix(suffix)
        path.write_bytes(make(path.read_bytes()))

    return damage


def _random_bytes(data: bytes) -> bytes:
    return np.random.default_rng(len(data)).bytes(len(data))


def _flip(position: float, bit: int = 4) -> Callable[[bytes], bytes]:
    def make(data: bytes) -> bytes:
        out = bytearray(data)
        out[int(position * (len(data) - 1))] ^= 1 << bit
        return bytes(out)

    return make


def _array_edit(edit: Callable[[dict[str, np.ndarray]], None]) -> Callable[[Path], None]:
    def damage(base: Path) -> None:
        arrays = _arrays(base)
        edit(arrays)
        _resign(base, arrays)

    return damage


def _first(arrays: dict[str, np.ndarray], prefix: str) -> str:
    return next(k for k in sorted(arrays) if k.startswith(prefix))


def _reshape(prefix: str) -> Callable[[dict[str, np.ndarray]], None]:
    def edit(arrays: dict[str, np.ndarray]) -> None:
        key = _first(arrays, prefix)
        arrays[key] = np.zeros((*arrays[key].shape, 2), arrays[key].dtype)

    return edit


def _remove(prefix: str, every: bool = False) -> Callable[[dict[str, np.ndarray]], None]:
    def edit(arrays: dict[str, np.ndarray]) -> None:
        for key in [k for k in sorted(arrays) if k.startswith(prefix)][: None if every else 1]:
            del arrays[key]

    return edit


def _as_ints(prefix: str) -> Callable[[dict[str, np.ndarray]], None]:
    def edit(arrays: dict[str, np.ndarray]) -> None:
        key = _first(arrays, prefix)
        arrays[key] = arrays[key].astype(np.int64)

    return edit


def _npy_as_npz(base: Path) -> None:
    buf = io.BytesIO()
    np.save(buf, np.zeros(3))
    _resign(base, data=buf.getvalue())


_MISSING_HINT = {
    "format_version": "format version",
    "arrays": "array lists",
    "npz_sha256": "SHA-256",
    "settings": "update_rule",
}


def _shift_number(key: str, by: int) -> Callable[[Path], None]:
    """A number in the JSON changed to another valid one (a flipped digit)."""

    def damage(base: Path) -> None:
        meta = _meta(base)
        where = meta
        *path, last = key.split("/")
        for part in path:
            where = where[part] if isinstance(where, dict) else where[int(part)]
        index: Any = last if isinstance(where, dict) else int(last)
        where[index] = where[index] + by
        _set_meta(base, meta)

    return damage


#: (id, damage to one checkpoint pair (its base path), what the warning must name). Every one
#: must be refused but those in HARMLESS_DAMAGE (a field this run does not use).
CHECKPOINT_DAMAGE: list[tuple[str, Callable[[Path], None], str]] = [
    ("npz empty", _raw(".npz", lambda d: b""), "SHA-256"),
    ("npz truncated", _raw(".npz", lambda d: d[: len(d) // 2]), "SHA-256"),
    ("npz random bytes", _raw(".npz", _random_bytes), "SHA-256"),
    ("npz one bit flipped", _raw(".npz", _flip(0.5)), "SHA-256"),
    ("npz missing", lambda b: b.with_suffix(".npz").unlink(), r"\.npz does not exist"),
    ("json empty", _raw(".json", lambda d: b""), r"\.json"),
    ("json truncated", _raw(".json", lambda d: d[: len(d) // 2]), r"\.json"),
    ("json random bytes", _raw(".json", _random_bytes), r"\.json"),
    ("json not utf-8", _raw(".json", lambda d: b"\xff\xfe" + d), r"\.json"),
    ("json a list", _raw(".json", lambda d: b"[]"), "format version"),
    ("json null", _raw(".json", lambda d: b"null"), "format version"),
    ("json missing", lambda b: b.with_suffix(".json").unlink(), r"\.json does not exist"),
    ("format_version 99", _edit("format_version", 99), "format version"),
    ("npz_sha256 changed", _edit("npz_sha256", "0" * 64), "SHA-256"),
    ("arrays list changed", _edit("arrays", ["param.x"]), "array lists"),
    *[
        (f"key {key!r} missing", _drop(key), _MISSING_HINT.get(key, re.escape(key)))
        for key in (
            "format_version",
            "arrays",
            "npz_sha256",
            "settings",
            "t",
            "epoch",
            "loss_history",
            "train_acc_history",
            "val_acc_history",
            "val_loss_history",
            "best_val_acc",
            "optim_scalars",
            "base_lr",
            "solver_rng",
            "model_rng",
            "global_rng",
        )
    ],
    ("t negative", _edit("t", -1), r"\bt\b"),
    ("t a string", _edit("t", "50"), r"\bt\b"),
    ("t a float", _edit("t", 50.0), r"\bt\b"),
    ("t a bool", _edit("t", True), r"\bt\b"),
    ("t null", _edit("t", None), r"\bt\b"),
    ("t one too many", _shift_number("t", 1), "iterations"),
    ("epoch negative", _edit("epoch", -2), "epoch"),
    ("epoch a string", _edit("epoch", "2"), "epoch"),
    *[
        (f"{key} null", _edit(key, None), key)
        for key in ("loss_history", "train_acc_history", "val_acc_history", "val_loss_history")
    ],
    ("loss_history holds a string", _edit("loss_history/3", "x"), "damaged"),
    ("loss_history an object", _edit("loss_history", {"0": 1.0}), "loss_history"),
    ("best_val_acc a string", _edit("best_val_acc", "high"), "damaged"),
    ("settings null", _edit("settings", None), "settings"),
    ("settings: another batch size", _edit("settings/batch_size", 7), "batch_size"),
    ("settings: another update rule", _edit("settings/update_rule", "sgd"), "update_rule"),
    ("optim_scalars null", _edit("optim_scalars", None), "damaged"),
    ("optim_scalars a string", _edit("optim_scalars", "adam"), "damaged"),
    ("optim_scalars of a parameter a list", _edit("optim_scalars/theta1", [1]), "theta1"),
    ("Adam's t a string", _edit("optim_scalars/theta1/t", "50"), "step count"),
    ("Adam's t negative", _edit("optim_scalars/theta1/t", -3), "step count"),
    ("learning rate a string", _edit("optim_scalars/theta1/learning_rate", "x"), "learning"),
    ("learning rate null", _edit("optim_scalars/theta1/learning_rate", None), "learning"),
    ("base_lr null", _edit("base_lr", None), "damaged"),
    ("base_lr a string value", _edit("base_lr/theta1", "x"), "damaged"),
    ("solver_rng garbage", _edit("solver_rng", "garbage"), "damaged"),
    ("solver_rng of another generator", _edit("solver_rng/bit_generator", "MT19937"), "damaged"),
    ("solver_rng state missing", _edit("solver_rng/state", {}), "damaged"),
    ("model_rng garbage", _edit("model_rng", "garbage"), "damaged"),
    ("model_rng state a string", _edit("model_rng/state/state", "x"), "damaged"),
    ("global_rng garbage", _edit("global_rng", "garbage"), "damaged"),
    ("global_rng pos a string", _edit("global_rng/pos", "x"), "damaged"),
    ("global_rng pos out of range", _edit("global_rng/pos", 10**6), "damaged"),
    ("stopped_by garbage", _edit("stopped_by", "yes"), "damaged"),
    ("stopped_by without a message", _edit("stopped_by", {"kind": "callback"}), "damaged"),
    ("callback_state garbage", _edit("callback_state", "x"), "damaged"),
    ("an optimizer state of another shape", _array_edit(_reshape("optim.")), "optim"),
    ("an optimizer state of integers", _array_edit(_as_ints("optim.")), "optim"),
    ("an optimizer state missing", _array_edit(_remove("optim.")), "optim"),
    ("a batchnorm buffer of another shape", _array_edit(_reshape("buffer.")), "buffer"),
    ("a best batchnorm buffer of another shape", _array_edit(_reshape("best_buffer.")), "buffer"),
    ("a batchnorm buffer missing", _array_edit(_remove("buffer.")), "buffer"),
    ("every batchnorm buffer missing", _array_edit(_remove("buffer.", every=True)), "buffer"),
    ("a parameter of another shape", _array_edit(_reshape("param.")), "param"),
    ("a parameter missing", _array_edit(_remove("param.")), "param"),
    ("a best parameter missing", _array_edit(_remove("best.")), "best"),
    ("the global keys of another shape", _array_edit(_reshape("global_rng")), "damaged"),
    ("the global generator's keys missing", _array_edit(_remove("global_rng")), "global_rng"),
    ("the npz an .npy file (digest updated)", _npy_as_npz, "npz"),
    ("a digit of the solver's generator state", _shift_number("solver_rng/state/state", 2), ""),
    ("a digit of a recorded loss", _shift_number("loss_history/7", 1), ""),
]
DAMAGE = {name: (fn, hint) for name, fn, hint in CHECKPOINT_DAMAGE}
#: Damage to a field this run never reads (it has no early stopping): resuming from the
#: damaged checkpoint is fine as long as the result is the uninterrupted run's.
HARMLESS_DAMAGE = {"callback_state garbage"}


@pytest.mark.parametrize("name", list(DAMAGE))
def test_a_damaged_latest_checkpoint_falls_back_to_the_previous(
    tmp_path: Path, fc: dict[str, Path], name: str
) -> None:
    damage, hint = DAMAGE[name]
    run = _copy(fc["stopped"], tmp_path / "run")
    damage(_ck(run) / LATEST)
    before = _snapshot(run)
    with _noting_tracebacks("damaged checkpoint (latest)", name):
        rc, out, err = _resume_in_process(run)
    if rc != 0:
        _note("damaged checkpoint (latest)", name, f"exit {rc}: {err.strip()[:100]}")
        assert _snapshot(run) == before
    assert rc == 0, err
    identical = _matches(run, fc["ref"])
    outcome = ("fallback" if err else "resumed from the damaged latest") + (
        " + bit-exact" if identical else ", NOT equal to the uninterrupted run"
    )
    _note("damaged checkpoint (latest)", name, outcome)
    assert "Traceback" not in out + err
    if name in HARMLESS_DAMAGE and not err:
        _assert_same_run(run, fc["ref"])
        return
    assert err.startswith("Warning: ") and err.count("\n") == 1, (
        f"the damaged latest checkpoint was not refused: {outcome}"
    )
    assert "ckpt_latest" in err and re.search(hint, err, re.IGNORECASE), err
    assert re.search(rf"resuming from \S*{PREVIOUS} instead", err), err
    _assert_same_run(run, fc["ref"])


def _matches(run: Path, ref: Path) -> bool:
    try:
        _assert_same_run(run, ref)
    except (AssertionError, FileNotFoundError):
        return False
    return True


@pytest.mark.parametrize("name", list(DAMAGE))
def test_both_checkpoints_damaged_is_one_error_line(
    tmp_path: Path, fc: dict[str, Path], name: str
) -> None:
    damage, _ = DAMAGE[name]
    run = _copy(fc["stopped"], tmp_path / "run")
    damage(_ck(run) / LATEST)
    damage(_ck(run) / PREVIOUS)
    before = _snapshot(run)
    with _noting_tracebacks("damaged checkpoint (both)", name):
        rc, out, err = _resume_in_process(run)
    if rc == 2 and "Traceback" not in err and err.count("\n") == 1:
        _note("damaged checkpoint (both)", name, "clean error")
    elif rc == 0 and _matches(run, fc["ref"]):
        _note("damaged checkpoint (both)", name, "resumed bit-exact")
        assert name in HARMLESS_DAMAGE, "a damaged checkpoint was resumed from"
        return
    else:
        _note("damaged checkpoint (both)", name, f"exit {rc}: {err.strip()[-100:]}")
    _assert_one_line_error(rc, out, err, r"argument --resume: .*ckpt_latest")
    assert _snapshot(run) == before


@pytest.mark.slow
def test_a_bit_flipped_anywhere_in_the_latest_json(tmp_path: Path, fc: dict[str, Path]) -> None:
    """One bit flipped at each of 40 places spread over the JSON (bit i % 8 of the i-th; one
    resume each): refused (fallback) or harmless; never a resume that continues from altered
    numbers."""
    bad = []
    for i in range(40):
        position = (i + 0.5) / 40
        run = _copy(fc["stopped"], tmp_path / f"run{i}")
        _raw(".json", _flip(position, i % 8))(_ck(run) / LATEST)
        rc, _, err = _resume_in_process(run)
        if rc == 0 and _matches(run, fc["ref"]):
            outcome = "fallback + bit-exact" if err else "no effect, bit-exact"
        else:
            outcome = f"BAD: exit {rc}, {'fallback' if err else 'no warning'}, not bit-exact"
            bad.append(f"{position:.3f}: {outcome} {err.strip()[:80]}")
        _note("bit flip in ckpt_latest.json", f"at {position:.3f}", outcome)
        shutil.rmtree(run)
    assert not bad, f"{len(bad)} of 40 flipped bits went unnoticed: {bad}"


def _model_json_edit(edit: Callable[[dict[str, Any]], None]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        meta = json.loads((run / "model.json").read_text())
        edit(meta)
        (run / "model.json").write_text(json.dumps(meta))

    return damage


def _model_npz_edit(edit: Callable[[dict[str, np.ndarray]], None]) -> Callable[[Path], None]:
    def damage(run: Path) -> None:
        with np.load(run / "model.npz") as f:
            arrays = {k: f[k] for k in f.files}
        edit(arrays)
        np.savez(run / "model.npz", **arrays)

    return damage


def _model_raw(name: str, make: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    return lambda run: _rewrite(run / name, make)


def _rewrite(path: Path, make: Callable[[bytes], bytes]) -> None:
    path.write_bytes(make(path.read_bytes()))


def _npy_model(run: Path) -> None:
    buf = io.BytesIO()
    np.save(buf, np.zeros(3))
    (run / "model.npz").write_bytes(buf.getvalue())


MODEL_DAMAGE: dict[str, Callable[[Path], None]] = {
    "model.npz empty": _model_raw("model.npz", lambda d: b""),
    "model.npz truncated": _model_raw("model.npz", lambda d: d[: len(d) // 2]),
    "model.npz cut before its end record": _model_raw("model.npz", lambda d: d[:-30]),
    "model.npz random bytes": _model_raw("model.npz", _random_bytes),
    "model.npz an .npy file": _npy_model,
    "model.npz a pickle": _model_raw("model.npz", lambda d: b"\x80\x04K\x01."),
    "model.npz missing": lambda run: (run / "model.npz").unlink(),
    "model.json empty": _model_raw("model.json", lambda d: b""),
    "model.json truncated": _model_raw("model.json", lambda d: d[: len(d) // 2]),
    "model.json random bytes": _model_raw("model.json", _random_bytes),
    "model.json a list": _model_raw("model.json", lambda d: b"[]"),
    "model.json missing": lambda run: (run / "model.json").unlink(),
    **{
        f"model.json without {key!r}": _model_json_edit(lambda m, key=key: m.pop(key))
        for key in ("class", "config", "param_shapes", "format_version")
    },
    "model.json of an unknown class": _model_json_edit(lambda m: m.update({"class": "Net"})),
    "model.json of another version": _model_json_edit(lambda m: m.update(format_version=7)),
    "model.json config a string": _model_json_edit(lambda m: m.update(config="fc")),
    "model.json config of other sizes": _model_json_edit(
        lambda m: m["config"].update(hidden_dims=[7, 7])
    ),
    "model.json config with an unknown key": _model_json_edit(
        lambda m: m["config"].update(colour="red")
    ),
    "model.json shapes garbage": _model_json_edit(lambda m: m.update(param_shapes={"W": "x"})),
    "model.json buffer shapes garbage": _model_json_edit(lambda m: m.update(buffer_shapes=[1])),
    "model.npz a parameter missing": _model_npz_edit(_remove("theta")),
    "model.npz a buffer missing": _model_npz_edit(_remove("buffer.")),
    "model.npz a parameter of another shape": _model_npz_edit(_reshape("theta")),
    "model.npz a buffer of another shape": _model_npz_edit(_reshape("buffer.")),
    "model.npz an extra array": _model_npz_edit(lambda a: a.update(extra=np.zeros(2))),
}


@pytest.mark.parametrize("name", list(MODEL_DAMAGE))
def test_evaluate_of_a_damaged_model_is_one_error_line(
    tmp_path: Path, fc: dict[str, Path], name: str
) -> None:
    run = _copy(fc["ref"], tmp_path / "run")
    MODEL_DAMAGE[name](run)
    with _noting_tracebacks("damaged model", name):
        rc, out, err = _cli(["evaluate", run])
    clean = rc == 2 and "Traceback" not in err and err.count("\n") == 1
    _note("damaged model", name, "clean error" if clean else f"exit {rc}: {err.strip()[-120:]}")
    _assert_one_line_error(rc, out, err, "model")


def _model_flips(tmp_path: Path, fc: dict[str, Path], count: int) -> None:
    """One bit flipped at each of ``count`` places spread over model.npz (bit i % 8 of the
    i-th): one clean line, or (a byte no checksum covers, such as a timestamp) the very same
    model."""
    run = _copy(fc["ref"], tmp_path / "run")
    original = (run / "model.npz").read_bytes()
    expected = _cli(["evaluate", run])
    bad = []
    for i in range(count):
        position = (i + 0.5) / count
        (run / "model.npz").write_bytes(_flip(position, i % 8)(original))
        rc, out, err = _cli(["evaluate", run])
        if rc == 0 and (rc, out, err) == expected and _matches(run, fc["ref"]):
            outcome = "harmless (the same model)"
        elif rc == 2 and "Traceback" not in err and err.count("\n") == 1:
            outcome = "clean error"
        else:
            outcome = f"BAD: exit {rc}: {err.strip()[-80:]}"
            bad.append(f"{position:.3f}: {outcome}")
        _note("bit flip in model.npz", f"at {position:.3f}", outcome)
    assert not bad, bad


def test_evaluate_of_a_model_with_a_flipped_bit(tmp_path: Path, fc: dict[str, Path]) -> None:
    _model_flips(tmp_path, fc, 16)


@pytest.mark.slow
def test_evaluate_of_a_model_with_a_flipped_bit_wide(tmp_path: Path, fc: dict[str, Path]) -> None:
    _model_flips(tmp_path, fc, 97)


# --------------------------------------------------------------------------------------------
# 4. A full disk
# --------------------------------------------------------------------------------------------


class DiskFull:
    """The ``occurrence``-th atomic write of the file ``name`` fails with ENOSPC, as on a full
    disk: ``stage`` "write" puts half its bytes into the temporary file then raises, "fsync"
    fails the flush to disk (where a file system reports a full disk late); ``name``
    ".run.lock" fails the claim's write of the process id."""

    def __init__(self, name: str, occurrence: int = 1, stage: str = "write") -> None:
        self.name, self.occurrence, self.stage = name, occurrence, stage
        self.seen = 0
        self.fired = False
        self._fd: int | None = None

    def __repr__(self) -> str:
        return f"ENOSPC at {self.stage} #{self.occurrence} of {self.name}"

    def _error(self) -> OSError:
        self.fired = True
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    @contextlib.contextmanager
    def installed(self) -> Iterator[DiskFull]:
        real_mkstemp, real_fdopen, real_fsync = tempfile.mkstemp, os.fdopen, os.fsync
        real_open, real_write = os.open, os.write
        disk = self

        class FullFile:
            def __init__(self, f: Any) -> None:
                self._f = f

            def write(self, data: Any) -> int:
                self._f.write(data[: len(data) // 2])
                self._f.flush()
                raise disk._error()

            def __enter__(self) -> FullFile:
                return self

            def __exit__(self, *exc: object) -> None:
                self._f.close()

            def __getattr__(self, name: str) -> Any:
                return getattr(self._f, name)

        def mkstemp(suffix: Any = None, prefix: Any = None, dir: Any = None, text: bool = False):
            fd, path = real_mkstemp(suffix, prefix, dir, text)
            if prefix == f".{self.name}." and not self.fired:
                self.seen += 1
                if self.seen == self.occurrence:
                    self._fd = fd
            return fd, path

        def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
            f = real_fdopen(fd, *args, **kwargs)
            if fd == self._fd and self.stage == "write":
                self._fd = None
                return FullFile(f)
            return f

        def fsync(fd: int) -> None:
            if fd == self._fd and self.stage == "fsync":
                self._fd = None
                raise self._error()
            real_fsync(fd)

        def open_(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
            fd = real_open(path, flags, *args, **kwargs)
            if Path(path).name == self.name and not self.fired:
                self._fd = fd
            return fd

        def write(fd: int, data: Any) -> int:
            if fd == self._fd and self.name == RunFolder.LOCK:
                self._fd = None
                raise self._error()
            return real_write(fd, data)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(tempfile, "mkstemp", mkstemp)
            mp.setattr(os, "fdopen", fdopen)
            mp.setattr(os, "fsync", fsync)
            if self.name == RunFolder.LOCK:
                mp.setattr(os, "open", open_)
                mp.setattr(os, "write", write)
            yield self


@pytest.fixture(scope="module")
def disk_ref(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("faults-disk") / "ref"
    with _no_figures():
        rc, _, err = _cli(["train", "--out", run, "--quiet", *DISK_FLAGS])
    assert rc == 0, err
    return run


def _recover(run: Path, ref: Path, flags: list[str]) -> str:
    """With space back: a run with config.json must complete with ``--resume`` (a finished one
    has its figures drawn again with ``plot``); a run without one with ``train --out``."""
    if (run / "config.json").exists():
        with _no_figures():
            rc, _, err = _cli(["train", "--resume", run, "--quiet"])
        if rc == 2 and "already finished" in err:
            rc, _, err = _cli(["plot", run])
            assert rc == 0, err
            how = "already finished; plot redrew the figures"
        else:
            assert rc == 0, f"the run cannot be resumed: {err}"
            how = "resume " + ("falls back" if "resuming from" in err else "continues")
    else:
        with _no_figures():
            rc, _, err = _cli(["train", "--out", run, "--quiet", *flags])
        assert rc == 0, f"the run cannot be started again: {err}"
        how = "train --out again"
    _assert_same_run(run, ref)
    return how


#: (file, which write of it, stage): every file a run writes; the checkpoint is written after
#: the first iteration and after each of the 3 epochs (4 times).
DISK_FULL = [
    (RunFolder.LOCK, 1, "write"),
    ("config.json", 1, "write"),
    ("ckpt_latest.npz", 1, "write"),
    ("ckpt_latest.json", 1, "write"),
    ("ckpt_latest.npz", 2, "write"),
    ("ckpt_latest.json", 3, "write"),
    ("ckpt_latest.npz", 4, "fsync"),
    ("metrics.json", 1, "write"),
    ("metrics.csv", 1, "write"),
    ("model.npz", 1, "write"),
    ("model.json", 1, "write"),
    ("model.npz", 1, "fsync"),
    ("curves.png", 1, "write"),
]
DISK_FULL_WIDE = [
    (name, n, stage)
    for name, count in (
        ("config.json", 1),
        ("ckpt_latest.npz", 4),
        ("ckpt_latest.json", 4),
        ("metrics.json", 1),
        ("metrics.csv", 1),
        ("model.npz", 1),
        ("model.json", 1),
        ("confusion.png", 1),
    )
    for n in range(1, count + 1)
    for stage in ("write", "fsync")
    if (name, n, stage) not in DISK_FULL and (stage, name[-4:]) != ("fsync", ".png")
]


def _disk_full_case(tmp_path: Path, disk_ref: Path, name: str, n: int, stage: str) -> None:
    run = tmp_path / "run"
    fault = DiskFull(name, n, stage)
    figures = contextlib.nullcontext() if name.endswith(".png") else _no_figures()
    with figures, fault.installed():
        rc, out, err = _cli(["train", "--out", run, "--quiet", *DISK_FLAGS])
    assert fault.fired, f"{fault} never happened"
    state = _state(run)
    _assert_one_line_error(rc, out, err, "No space left on device")
    _assert_every_file_is_good_or_refused(run, disk_ref)
    try:
        how = _recover(run, disk_ref, DISK_FLAGS)
    except AssertionError:
        _note("ENOSPC", repr(fault), f"clean error; left {state}; NOT recoverable")
        raise
    _note("ENOSPC", repr(fault), f"clean error; left {state}; {how}")


@pytest.mark.parametrize(("name", "n", "stage"), DISK_FULL)
def test_a_full_disk_is_one_error_line_and_the_run_goes_on_later(
    tmp_path: Path, disk_ref: Path, name: str, n: int, stage: str
) -> None:
    _disk_full_case(tmp_path, disk_ref, name, n, stage)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "n", "stage"), DISK_FULL_WIDE)
def test_a_full_disk_at_every_write(
    tmp_path: Path, disk_ref: Path, name: str, n: int, stage: str
) -> None:
    _disk_full_case(tmp_path, disk_ref, name, n, stage)


@pytest.mark.parametrize("name", ["ckpt_latest.npz", "ckpt_latest.json", "model.npz"])
def test_a_full_disk_during_a_resume(tmp_path: Path, fc: dict[str, Path], name: str) -> None:
    run = _copy(fc["stopped"], tmp_path / "run")
    fault = DiskFull(name)
    with fault.installed():
        rc, out, err = _resume_in_process(run)
    assert fault.fired
    _assert_one_line_error(rc, out, err, "No space left on device")
    _assert_every_file_is_good_or_refused(run)
    state = _state(run)
    rc, _, err = _resume_in_process(run)
    assert rc == 0, err
    _assert_same_run(run, fc["ref"])
    how = "falls back" if err else "continues"
    _note("ENOSPC", f"during a resume: {fault}", f"clean error; left {state}; resume {how}")


_TMPFS_HELPER = r"""
import contextlib, io, json, os, shutil, subprocess, sys
from layerwise.cli import main

mnt, out, flags = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])

def cli(argv):
    o, e = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
        rc = main(argv)
    return [rc, o.getvalue(), e.getvalue()]

reports = {}
for size in json.loads(sys.argv[4]):
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}k", "tmpfs", mnt], check=True)
    run, dest = os.path.join(mnt, "run"), os.path.join(out, str(size))
    report = {"first": cli(["train", "--out", run, "--quiet", *flags])}
    if os.path.isdir(run):
        shutil.copytree(run, os.path.join(dest, "left"))
    subprocess.run(["mount", "-o", "remount,size=64m", mnt], check=True)
    steps = []
    for _ in range(3):
        if os.path.isfile(os.path.join(run, "config.json")):
            steps.append(cli(["train", "--resume", run, "--quiet"]))
        else:
            steps.append(cli(["train", "--out", run, "--quiet", *flags]))
        if steps[-1][0] == 0 or "already finished" in steps[-1][2]:
            break
    report["recovery"] = steps
    if os.path.isdir(run):
        shutil.copytree(run, os.path.join(dest, "final"))
    subprocess.run(["umount", mnt], check=True)
    reports[size] = report
print(json.dumps(reports))
"""


def _unshare(probe_dir: Path) -> list[str]:
    """The command that runs a program as root of a new user and mount namespace (so that it
    may mount a tmpfs), or skip the test where the system does not allow it."""
    unshare = shutil.which("unshare")
    if unshare is None or shutil.which("mount") is None or sys.platform != "linux":
        pytest.skip("no unshare(1) or mount(8): cannot mount a small tmpfs without root")
    probe_dir.mkdir()
    probe = subprocess.run(
        [unshare, "-rm", "mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(probe_dir)],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs in a user namespace: {probe.stdout + probe.stderr}")
    return [unshare, "-rm"]


def _tmpfs_case(tmp_path: Path, sizes: list[int]) -> None:
    """The runs on a real tmpfs of ``sizes`` KiB: ENOSPC from the kernel, wherever it lands."""
    prefix = _unshare(tmp_path / "probe")
    env = {**os.environ, **ONE_THREAD, "PYTHONPATH": str(SRC)}
    script = tmp_path / "helper.py"
    script.write_text(_TMPFS_HELPER)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    # 64 MiB first: the reference, made in the same process as the runs it is compared with.
    cmd = [sys.executable, str(script), mnt, tmp_path / "out", json.dumps(DISK_FLAGS)]
    cmd.append(json.dumps([65536, *sizes]))
    done = subprocess.run([*prefix, *map(str, cmd)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    reports = json.loads(done.stdout)
    ref = tmp_path / "out" / "65536" / "left"
    assert reports["65536"]["first"][0] == 0, reports["65536"]
    not_recovered = []
    for size in sizes:
        report, dest = reports[str(size)], tmp_path / "out" / str(size)
        rc, out, err = report["first"]
        left = dest / "left"
        state = _state(left)
        if rc == 0:
            _note("ENOSPC (tmpfs)", f"{size} KiB", "enough space: finished")
            _assert_same_run(left, ref)
            continue
        _assert_one_line_error(rc, out, err, "No space left on device")
        _assert_every_file_is_good_or_refused(left, ref)
        last = report["recovery"][-1]
        if last[0] == 0 or "already finished" in last[2]:
            _assert_same_run(dest / "final", ref)
            how = "recovered bit-exact"
        else:
            how = f"NOT recoverable: {last[2].strip()}"
            not_recovered.append(f"{size} KiB, left {state}: {last[2].strip()}")
        _note("ENOSPC (tmpfs)", f"{size} KiB", f"clean error; left {state}; {how}")
    assert not not_recovered, not_recovered


def test_a_full_tmpfs(tmp_path: Path) -> None:
    _tmpfs_case(tmp_path, [8, 40, 120])


@pytest.mark.slow
def test_a_full_tmpfs_of_many_sizes(tmp_path: Path) -> None:
    _tmpfs_case(tmp_path, [4, 16, 32, 64])


# --------------------------------------------------------------------------------------------
# 5. Two processes at once
# --------------------------------------------------------------------------------------------


def _two_trains_at_once(tmp_path: Path, sub_ref: dict[str, Any]) -> None:
    run = tmp_path / "run"
    a = Child("train", "--out", run, *SUB_ARGS)
    b = Child("train", "--out", run, *SUB_ARGS)
    # While the winner trains, a resume of its folder is refused: the folder is in use.
    first = next((c for c in (a, b) if c.line_time("(Epoch 1 /") is not None), None)
    assert first is not None, "neither trained"
    resume = Child("train", "--resume", run)
    results = [c.finish() for c in (a, b)]
    rcs = sorted(rc for rc, _, _ in results)
    assert rcs == [0, 2], results
    rc, out, err = next(r for r in results if r[0] == 2)
    _assert_one_line_error(rc, out, err, "not empty|just claimed|exists|in use by another")
    assert (results[0][0] == 0) == (first is a)
    _assert_same_run(run, sub_ref["run"])
    why = err.split("error: ", 1)[1].split(";")[0][:60]
    _note("concurrency", "two train --out at once", f"one trained, one refused: {why}")
    rc, out, err = resume.finish()
    if rc == 2 and "already finished" in err:  # the winner finished before the resume started
        _note("concurrency", "resume while training", "too late: already finished")
    else:
        _assert_one_line_error(rc, out, err, "in use by another process")
        _note("concurrency", "resume while training", "refused: in use")
    _assert_same_run(run, sub_ref["run"])


def test_two_trains_of_one_folder_at_once(tmp_path: Path, sub_ref: dict[str, Any]) -> None:
    _two_trains_at_once(tmp_path, sub_ref)


@pytest.mark.slow
def test_two_trains_of_one_folder_at_once_again(tmp_path: Path, sub_ref: dict[str, Any]) -> None:
    _two_trains_at_once(tmp_path, sub_ref)


def test_two_resumes_at_once_and_a_stale_lock(tmp_path: Path, sub_ref: dict[str, Any]) -> None:
    """A run killed mid-training; a resume of it killed in turn (its lock left behind); then two
    resumes at once: one trains to the uninterrupted result, the other is refused by the lock."""
    run = tmp_path / "run"
    child = Child("train", "--out", run, *SUB_ARGS)
    assert child.line_time("(Epoch 5 /") is not None
    child.kill()
    assert child.finish()[0] == -signal.SIGKILL
    killed = Child("train", "--resume", run)
    said = killed.line_time("Resuming")
    assert said is not None
    killed.kill()
    assert killed.finish()[0] == -signal.SIGKILL
    assert (run / RunFolder.LOCK).read_text().strip() == str(killed.proc.pid)  # stale
    a, b = Child("train", "--resume", run), Child("train", "--resume", run)
    results = [a.finish(), b.finish()]
    assert sorted(rc for rc, _, _ in results) == [0, 2], results
    rc, out, err = next(r for r in results if r[0] == 2)
    _assert_one_line_error(rc, out, err, "in use by another process")
    _assert_same_run(run, sub_ref["run"])
    _note("concurrency", "a resume after a killed resume's lock", "not blocked")
    _note("concurrency", "two --resume at once", "one trained, one refused: in use")
