"""Run folders, and :func:`train_run`: the one function that trains and records a run.

A :class:`RunFolder` owns the layout of one run's folder; nothing else spells its file names:

- ``config.json``: the recipe (``"recipe"``: :meth:`Recipe.to_dict`), the sizes the data gave,
  the versions, and (for the record only) the command line; written before training starts;
- ``metrics.json`` / ``metrics.csv``: per-epoch loss and accuracies, final accuracies, why it
  stopped;
- ``model.npz`` + ``model.json``: the parameters with the best validation accuracy;
- ``checkpoints/ckpt_latest.{npz,json}``: the full training state, for resuming;
- the figures (``curves.png``, ``cost.png``, ``predictions_*.png``, ``weights.png``,
  ``confusion.png``).

A folder is created fresh and never reused (:meth:`RunFolder.create` claims it with a
``.run.lock`` file made with O_EXCL before anything else, so two runs can never both claim one
folder, empty or not), a process that trains in it holds a lock on that file (so two resumes of
one run cannot both train it; the OS releases the lock of a process that dies), every file is
written atomically, and :meth:`RunFolder.recipe` reads the recipe back, also from a run written
before recipes existed (its flat settings are converted).
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from layerwise.errors import ConfigError
from layerwise.io import (
    RunDirError,
    create_run_dir,
    fsync_folder,
    load_model,
    read_json,
    remove_stale_temporaries,
    save_model,
    write_csv,
    write_json,
)
from layerwise.prediction import model_outputs
from layerwise.recipe import Recipe, data_dims, data_task
from layerwise.tasks import get_task

__all__ = ["RunFolder", "RunResult", "accuracy", "epoch_rows", "train_run"]


class RunFolder:
    """One run's folder: its file names, creating it, writing and reading its files."""

    CONFIG = "config.json"
    METRICS = "metrics.json"
    METRICS_CSV = "metrics.csv"
    MODEL = "model.npz"
    DIAGNOSTICS = "diagnostics.json"
    DIAGNOSTICS_CSV = "diagnostics.csv"
    DIAGNOSTICS_FIGURES = ("diagnostics_histograms.png", "update_ratio.png")
    DOCTOR = "doctor.json"
    REPORT = "report.html"
    CHECKPOINTS = "checkpoints"
    #: The checkpoint base name inside the folder; ``<base>_latest.{npz,json}`` is the latest,
    #: ``<base>_previous`` the one before it.
    CHECKPOINT = "checkpoints/ckpt"
    #: Claimed with O_EXCL when the folder is made; locked while a process trains in it.
    LOCK = ".run.lock"
    #: Where a finished run's model and metrics go when a resume extends it.
    FINISHED = "finished"
    #: A finished run's results, in the order they are moved away (the model last).
    RESULTS = ("metrics.json", "metrics.csv", "model.json", "model.npz")

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock_fd: int | None = None

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def __str__(self) -> str:
        return str(self.path)

    # ----------------------------------------------------------------------------------------
    # making and finding one

    @classmethod
    def create(
        cls, path: str | Path | None = None, base: str | Path = "runs", name_hint: str = "run"
    ) -> RunFolder:
        """Claim a new folder: ``path`` (which must not exist or be empty), or a fresh
        ``<base>/<time>-<name_hint>``; raises :class:`~layerwise.io.RunDirError` otherwise."""
        if path is not None and not str(path):
            raise RunDirError("run folder '' is not a path; give a folder name")
        if path is not None:
            inside = next(
                (p for p in Path(path).resolve().parents if (p / cls.CONFIG).is_file()), None
            )
            if inside is not None:
                raise RunDirError(
                    f"run folder {str(path)!r} would be inside the run folder {str(inside)!r}; "
                    "choose a folder outside it"
                )
        if path is not None and Path(path).is_dir():
            orphan = cls(path)
            if {p.name for p in orphan.path.iterdir()} == {cls.LOCK}:
                # Only the claim of a run that died before writing anything (while its data
                # loaded): take the folder over if no live process holds it.
                orphan.lock()
                return orphan
        folder = cls(create_run_dir(path, base=base, name_hint=name_hint))
        folder._claim()
        return folder

    def _claim(self) -> None:
        lock = self.path / self.LOCK
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            raise RunDirError(
                f"run folder {str(self.path)!r} was just claimed by another run; choose a new "
                "folder (runs are never overwritten)"
            ) from None
        try:
            self._hold(fd)
        except BaseException:  # e.g. no space for the pid: leave no lock-only folder behind
            if self._lock_fd is None:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self.remove_if_empty()
            raise

    def lock(self) -> None:
        """Hold the folder for this process (a resume); RunDirError when another holds it."""
        if self._lock_fd is not None:
            return
        fd = os.open(self.path / self.LOCK, os.O_CREAT | os.O_RDWR, 0o644)
        self._hold(fd)

    def _hold(self, fd: int) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: the O_EXCL claim only
            self._lock_fd = fd
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise RunDirError(
                f"run folder {str(self.path)!r} is in use by another process (pid {holder}); "
                "wait for it to finish, or stop it first"
            ) from None
        self._lock_fd = fd
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())

    @contextlib.contextmanager
    def held(self) -> Iterator[RunFolder]:
        """:meth:`lock` for the duration of a block, then :meth:`release`."""
        self.lock()
        try:
            yield self
        finally:
            self.release()

    def release(self) -> None:
        """Let go of the folder (the lock; the claim file stays)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    @classmethod
    def open(cls, path: str | Path) -> RunFolder:
        """An existing run folder (one that holds a ``config.json``)."""
        folder = cls(path)
        if not folder.path.is_dir():
            raise RunDirError(f"run folder {str(path)!r} does not exist")
        if not folder.config_path.is_file():
            raise RunDirError(
                f"{str(folder.config_path)!r} does not exist; expected a run folder written by "
                "'layerwise train'"
            )
        return folder

    def remove_if_empty(self) -> None:
        """Remove the folder if nothing was written into it (a run that never started)."""
        self.release()
        if self.path.is_dir() and {p.name for p in self.path.iterdir()} <= {self.LOCK}:
            (self.path / self.LOCK).unlink(missing_ok=True)
            self.path.rmdir()

    # ----------------------------------------------------------------------------------------
    # paths

    @property
    def config_path(self) -> Path:
        return self.path / self.CONFIG

    @property
    def metrics_path(self) -> Path:
        return self.path / self.METRICS

    @property
    def model_path(self) -> Path:
        return self.path / self.MODEL

    @property
    def checkpoint_base(self) -> str:
        """What the Solver's ``checkpoint_name`` is for this run."""
        return str(self.path / self.CHECKPOINT)

    @property
    def latest_checkpoint(self) -> Path:
        """The latest checkpoint's base path (``Solver.resume`` takes it)."""
        return Path(f"{self.checkpoint_base}_latest")

    @property
    def previous_checkpoint(self) -> Path:
        """The checkpoint before the latest: what a resume falls back on."""
        return Path(f"{self.checkpoint_base}_previous")

    def has_checkpoint(self) -> bool:
        from layerwise.checkpoint import exists

        return exists(self.latest_checkpoint) or exists(self.previous_checkpoint)

    def never_checkpointed(self) -> bool:
        """Whether the run died before its first checkpoint was whole: no checkpoint pair, and
        no previous one ever (at most a partial first latest)."""
        if self.has_checkpoint():
            return False
        previous = self.previous_checkpoint
        return not any(previous.parent.glob(f"{previous.name}.*"))

    def complete_archives(self) -> None:
        """Finish an archive of a finished run that a kill interrupted (an older layout could
        leave ``finished/epoch-<N>/`` holding part of the results and the run the rest): the
        results still in the run move into it, before a resume could overwrite them."""
        for dest in sorted((self.path / self.FINISHED).glob("epoch-*")):
            held = {p.name for p in dest.iterdir()}
            if held >= set(self.RESULTS):
                continue
            for name in self.RESULTS:
                if name not in held and (self.path / name).is_file():
                    os.replace(self.path / name, dest / name)
            fsync_folder(dest)

    def is_finished(self) -> bool:
        """Whether training ended and its results were recorded: metrics.json and both model
        files (a run killed before all three were written is finished by a resume, from its
        checkpoint)."""
        return all(
            p.is_file() for p in (self.metrics_path, self.model_path, self.path / "model.json")
        )

    def archive_finished(self, epochs: int) -> Path:
        """Move a finished run's model and metrics to ``finished/epoch-<epochs>/`` (before a
        resume extends it, so the finished results are never overwritten).

        The files are copied into a staging folder that is renamed into place in one step, and
        only then removed from the run (the model last): a kill at any point leaves either the
        run finished as it was, or a complete copy in ``finished/``.
        """
        dest = self.path / self.FINISHED / f"epoch-{epochs}"
        if not dest.is_dir():
            stage = dest.with_name(f".{dest.name}.staging")
            if stage.exists():
                shutil.rmtree(stage)
            stage.mkdir(parents=True)
            for name in self.RESULTS:
                if (self.path / name).is_file():
                    shutil.copy2(self.path / name, stage / name)
            os.replace(stage, dest)
            fsync_folder(dest.parent)
        for name in self.RESULTS:
            (self.path / name).unlink(missing_ok=True)
        fsync_folder(self.path)
        return dest

    # ----------------------------------------------------------------------------------------
    # files

    def write_config(self, config: dict[str, Any]) -> None:
        write_json(self.config_path, config)

    def read_config(self) -> dict[str, Any]:
        config = read_json(self.config_path)
        if not isinstance(config, dict):
            raise ConfigError(f"{str(self.config_path)!r} does not hold a JSON object")
        return config

    def recipe(self) -> Recipe:
        """The recipe this run was trained with (converted, for a run from before recipes)."""
        config = self.read_config()
        where = str(self.config_path)
        try:
            if "recipe" in config:
                return Recipe.from_dict(config["recipe"])
            return recipe_from_legacy_config(config)
        except ConfigError as e:
            raise ConfigError(f"{where!r}: cannot rebuild the run's recipe: {e}") from None

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        write_json(self.metrics_path, metrics)
        write_csv(self.path / self.METRICS_CSV, metrics["epochs"])

    def write_diagnostics(self, diagnostics: Any, figures: bool = True) -> list[Path]:
        """``diagnostics.json`` and ``.csv`` of a :class:`~layerwise.diagnostics.Diagnostics`
        callback, and its two figures (histograms, update/weight ratios)."""
        from layerwise.diagnostics_plots import plot_histograms, plot_update_ratios
        from layerwise.plots import save_figure

        record = diagnostics.to_dict()
        write_json(self.path / self.DIAGNOSTICS, record)
        write_csv(self.path / self.DIAGNOSTICS_CSV, diagnostics.rows())
        if not figures:
            return []
        paths = [self.path / name for name in self.DIAGNOSTICS_FIGURES]
        for path, draw in zip(paths, (plot_histograms, plot_update_ratios), strict=True):
            save_figure(draw(record), path)
        return paths

    def read_diagnostics(self) -> dict[str, Any] | None:
        """What :meth:`write_diagnostics` wrote, or None for a run trained without them."""
        path = self.path / self.DIAGNOSTICS
        if not path.is_file():
            return None
        record = read_json(path)
        if not isinstance(record, dict) or not isinstance(record.get("checks"), list):
            raise ConfigError(f"{str(path)!r} does not hold a diagnostics record")
        return record

    def read_metrics(self) -> dict[str, Any]:
        if not self.metrics_path.is_file():
            raise RunDirError(
                f"{str(self.metrics_path)!r} does not exist; the run never finished training "
                f"(continue it with 'layerwise train --resume {self.path}')"
            )
        metrics = read_json(self.metrics_path)
        if not isinstance(metrics, dict):
            raise ConfigError(f"{str(self.metrics_path)!r} does not hold a JSON object")
        return metrics

    def save_model(self, model: Any) -> Path:
        return save_model(model, self.model_path)

    def load_model(self) -> Any:
        return load_model(self.model_path)

    def write_figures(
        self, model: Any, data: dict[str, Any], metrics: dict[str, Any], dataset: str
    ) -> list[Path]:
        """Every figure of the run, drawn with the dataset's image shape and class names (a
        file of one's own has no images: its class or target names come with its data)."""
        from layerwise.data import dataset_info
        from layerwise.data.own import is_own, unstandardize
        from layerwise.plots import write_run_figures

        if is_own(dataset):
            target = data["target"]
            names = target.get("classes") or target.get("target_names")
            return write_run_figures(
                self.path,
                model,
                data,
                metrics,
                class_names=None if names is None else [str(n) for n in names],
                task=data_task(data),
                images=False,
                units=lambda values: unstandardize(values, target),
            )
        info = dataset_info(dataset)
        return write_run_figures(
            self.path,
            model,
            data,
            metrics,
            class_names=info.class_names,
            image_shape=info.image_shape,
        )

    @property
    def preprocessing_path(self) -> Path:
        """preprocessing.json: how a file of one's own was encoded (the fitted encoder) and
        what its targets are; ``layerwise evaluate`` and ``predict`` apply it to new files."""
        return self.path / "preprocessing.json"

    def write_preprocessing(self, data: dict[str, Any]) -> None:
        write_json(
            self.preprocessing_path,
            {"encoder": data["encoder"].to_dict(), "target": data["target"]},
        )

    @property
    def preprocessor_path(self) -> Path:
        """preprocess.npz: the run's fitted :class:`~layerwise.preprocess.Preprocessor`
        (recipe setting ``preprocess``), which ``layerwise evaluate`` applies."""
        return self.path / "preprocess.npz"

    def load_preprocessor(self) -> Any:
        """The run's fitted preprocessor, or None when it has none."""
        from layerwise.preprocess import Preprocessor

        path = self.preprocessor_path
        return Preprocessor.load(path) if path.is_file() else None

    @property
    def pixels_path(self) -> Path:
        """pixels.npz: how a built-in image dataset's pixels became model inputs
        (:class:`~layerwise.data.pixels.PixelScaling`), which ``layerwise predict`` applies
        to new images."""
        return self.path / "pixels.npz"

    def load_pixels(self) -> Any:
        """The run's :class:`~layerwise.data.pixels.PixelScaling`: its pixels.npz, else, for a
        run from before that file, the dataset's own when it needs nothing fitted (digits,
        mnist); ConfigError for a run that was not trained on built-in images."""
        from layerwise.data.own import is_own
        from layerwise.data.pixels import PixelScaling

        if self.pixels_path.is_file():
            return PixelScaling.load(self.pixels_path)
        dataset = self.recipe().dataset
        if dataset in ("digits", "mnist"):
            return PixelScaling(dataset)
        if is_own(dataset):
            raise ConfigError(f"{str(self)!r} was trained on {dataset}, not on images", "run")
        raise ConfigError(
            f"{str(self)!r} has no pixels.npz (the {dataset} mean image it subtracted): it was "
            "trained before runs kept it; train it again to predict new images",
            "run",
        )

    def read_preprocessing(self) -> dict[str, Any]:
        """What :meth:`write_preprocessing` wrote; ConfigError when the run has none."""
        if not self.preprocessing_path.is_file():
            raise ConfigError(
                f"{str(self)!r} has no preprocessing.json: it was not trained on a file of "
                "your own (csv:PATH or npz:PATH)",
                "run",
            )
        try:
            content = read_json(self.preprocessing_path)
        except ValueError as e:
            raise ConfigError(f"{self.preprocessing_path} is damaged: {e}", "run") from None
        if not isinstance(content, dict) or not {"encoder", "target"} <= set(content):
            raise ConfigError(
                f"{self.preprocessing_path} is damaged: expected the keys encoder and target",
                "run",
            )
        return content


#: How a config.json from before recipes named each option (the rest kept their names).
_LEGACY_NAMES = {"learning_rate": "lr"}


def run_name_hint(recipe: Recipe, prefix: str = "") -> str:
    """The name a new run folder of ``recipe`` gets after its time stamp: ``<dataset>-<model>``
    (a file of one's own by its file name: ``csv:data/houses.csv`` -> ``houses``), in the
    letters, digits, '.', '_' and '-' a folder name may hold."""
    dataset = recipe.dataset
    if ":" in dataset:
        dataset = Path(dataset.split(":", 1)[1]).stem or dataset.split(":", 1)[0]
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{prefix}{dataset}-{recipe.model}").strip("-.")
    return name or "run"


def recipe_from_legacy_config(config: dict[str, Any]) -> Recipe:
    """The recipe of a run folder written before recipes: its config.json held every resolved
    option flat (``dataset``, ``hidden``, ``learning_rate``, ...), which is what is read, so a
    later change of a default cannot change the resumed run."""
    from layerwise import options as opts

    values: dict[str, Any] = {}
    for key, value in config.items():
        name = _LEGACY_NAMES.get(key, key)
        if name in opts.BY_NAME:
            values[name] = tuple(value) if name == "hidden" and value is not None else value
    missing = [n for n in ("dataset", "model", "hidden") if n not in values]
    if missing:
        raise ConfigError(f"it names no {', '.join(missing)}")
    return Recipe.from_options(**values)


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


def check_model_fits_data(model: Any, data: dict[str, Any], where: str = "the model") -> None:
    """Refuse a model whose input size or class count does not match the dataset's."""
    dims = getattr(model, "dims", None)
    if dims is None:
        return
    input_dim, num_classes = data_dims(data)
    if dims[0] != input_dim:
        raise ConfigError(
            f"{where} takes {dims[0]} features per example, but the dataset has {input_dim}"
        )
    task = getattr(model, "task", "classification")
    if task != data_task(data):
        raise ConfigError(f"{where} is for {task}, but the dataset is for {data_task(data)}")
    if task != "classification" and dims[-1] != num_classes:
        raise ConfigError(
            f"{where} has {dims[-1]} outputs, but the dataset has {num_classes} target columns"
        )
    if dims[-1] < num_classes:
        raise ConfigError(
            f"{where} has {dims[-1]} classes, but the dataset's labels go up to {num_classes - 1}"
        )


def accuracy(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    """The model's task score on the N examples of X (N, ...) and their targets y: for a
    classifier the fraction whose predicted class equals y (N,); R² for regression, subset
    accuracy for multi-label (:mod:`layerwise.tasks`)."""
    if len(X) != len(y) or len(X) == 0:
        raise ConfigError(
            f"accuracy needs as many labels as examples, at least one; got {len(X)} and {len(y)}"
        )
    task = get_task(getattr(model, "task", "classification"))
    if task.name == "classification":
        return float(np.mean(model.predict(X) == y))
    outputs = model_outputs(model, X)
    return task.score(outputs, _like_outputs(task.name, y, outputs))


def task_metrics(model: Any, X: np.ndarray, y: np.ndarray, target: Any = None) -> dict[str, float]:
    """Every metric of the model's task on X and y, by name (accuracy; R², MAE, MSE; subset
    accuracy, micro-F1). ``target``: a file of one's own's target info; regression metrics are
    then in the file's units (its targets were standardised for training)."""
    task = get_task(getattr(model, "task", "classification"))
    outputs = model_outputs(model, X)
    y = _like_outputs(task.name, y, outputs)
    if task.name == "regression" and target is not None:
        from layerwise.data.own import unstandardize

        outputs, y = unstandardize(outputs, target), unstandardize(y, target)
    return task.metrics(outputs, y)


def _like_outputs(task: str, y: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """A single regression target (N,) as the column (N, 1) the outputs are."""
    return y.reshape(outputs.shape) if task == "regression" and y.ndim == 1 else y


def epoch_rows(
    loss_history: Sequence[float],
    train_acc_history: Sequence[float],
    val_acc_history: Sequence[float],
    iterations_per_epoch: int,
    last_epoch: int,
) -> list[dict[str, Any]]:
    """One row per recorded accuracy: epoch, mean training loss of its iterations, accuracies.

    The accuracies were recorded at the end of epochs ``last_epoch - n + 1 .. last_epoch``
    (n = len(val_acc_history)); normally that is 0 (before/at the start of training) to the
    last epoch. Row e's loss is the mean over iterations
    ``(e-1)*iterations_per_epoch .. e*iterations_per_epoch - 1``; epoch 0 has none (None).
    """
    if len(train_acc_history) != len(val_acc_history):
        raise ConfigError(
            f"train_acc_history and val_acc_history must have the same length; got "
            f"{len(train_acc_history)} and {len(val_acc_history)}"
        )
    if iterations_per_epoch < 1:
        raise ConfigError(f"iterations_per_epoch must be >= 1; got {iterations_per_epoch}")
    first = last_epoch - len(val_acc_history) + 1
    if first < 0:
        raise ConfigError(
            f"{len(val_acc_history)} recorded epochs cannot end at epoch {last_epoch}"
        )
    rows = []
    for e, train_acc, val_acc in zip(
        range(first, last_epoch + 1), train_acc_history, val_acc_history, strict=True
    ):
        chunk = loss_history[(e - 1) * iterations_per_epoch : e * iterations_per_epoch]
        mean_loss = float(np.mean(chunk)) if e > 0 and len(chunk) else None
        rows.append(
            {"epoch": e, "train_loss": mean_loss, "train_acc": train_acc, "val_acc": val_acc}
        )
    return rows


def run_metrics(solver: Any, data: dict[str, Any], model: Any, seconds: float) -> dict[str, Any]:
    """metrics.json of a finished training: per-epoch rows, histories, final accuracies."""
    rows = epoch_rows(
        solver.loss_history,
        solver.train_acc_history,
        solver.val_acc_history,
        solver.iterations_per_epoch,
        # The last accuracies are recorded at the end of the last completed epoch. Counting
        # back from there (rather than assuming index 0 = epoch 0) also labels correctly a
        # run whose first record is epoch 1 (one iteration per epoch) or that stopped early.
        last_epoch=solver.epoch,
    )
    for row, val_loss in zip(rows, solver.val_loss_history, strict=True):
        row["val_loss"] = val_loss
    stopped_by = solver.stopped_by
    return {
        "epochs": rows,
        "loss_history": solver.loss_history,
        "train_acc_history": solver.train_acc_history,
        "val_acc_history": solver.val_acc_history,
        "val_loss_history": solver.val_loss_history,
        "best_val_acc": solver.best_val_acc,
        "score_name": solver.task.score_name,
        "val_acc": accuracy(model, data["X_val"], data["y_val"]),
        "test_acc": accuracy(model, data["X_test"], data["y_test"]),
        "test_metrics": task_metrics(model, data["X_test"], data["y_test"], data.get("target")),
        "iterations_per_epoch": solver.iterations_per_epoch,
        "num_iterations": len(solver.loss_history),
        "train_seconds": seconds,
        "stopped_reason": solver.stopped_reason,
        "stopped_by": None if stopped_by is None else stopped_by.to_dict(),
    }


# --------------------------------------------------------------------------------------------
# Training a run
# --------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    """What :func:`train_run` leaves: the trained (best) model, its Solver, the data, the
    metrics (as in metrics.json) and the folder (None when nothing was written)."""

    model: Any
    solver: Any
    data: dict[str, Any]
    metrics: dict[str, Any]
    folder: RunFolder | None


def run_config(recipe: Recipe, model: Any, data: dict[str, Any]) -> dict[str, Any]:
    """config.json: the recipe, the sizes the data gave, and what it ran with.

    The flat settings beside ``"recipe"`` are the ones config.json has always held (tools and
    people read them); the recipe is what rebuilds the run.
    """
    import layerwise
    from layerwise.frameworks import require_engine

    net = recipe.network
    input_dim, num_classes = data_dims(data)
    own: dict[str, Any] = {}
    if "target" in data:  # a file of one's own: what the model predicts
        own = {"task": data_task(data), "target": data["target"]}
    return {
        "command": "train",
        "recipe": recipe.to_dict(),
        **own,
        "dataset": recipe.dataset,
        "data_dir": recipe.data_dir,
        "val_size": recipe.val_size,
        "model": recipe.model,
        "model_class": type(model).__name__,
        "model_config": model.get_config(),
        "hidden": list(net.hidden_dims),
        "input_dim": input_dim,
        "num_classes": num_classes,
        "num_train": len(data["X_train"]),
        "num_val": len(data["X_val"]),
        "num_test": len(data["X_test"]) if "X_test" in data else 0,
        "epochs": recipe.epochs,
        "batch_size": recipe.batch_size,
        "update_rule": net.optimizer,
        "learning_rate": net.learning_rate,
        "lr_decay": recipe.lr_decay,
        "lr_schedule": recipe.lr_schedule,
        "reg": net.reg,
        "weight_scale": net.weight_scale,
        "weight_init": net.weight_init,
        "activation": net.activation,
        "dropout": net.dropout,
        "norm": net.normalization or "none",
        "early_stopping": recipe.early_stopping,
        "min_delta": recipe.min_delta,
        "monitor": recipe.monitor,
        "dtype": net.dtype,
        "seed": recipe.seed,
        "layerwise_version": str(getattr(layerwise, "__version__", "unknown")),
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **require_engine(recipe.engine),
    }


#: What the outputs of each task are called in the first line of a run.
_OUTPUTS = {"classification": "classes", "regression": "targets", "multilabel": "labels"}


def train_run(
    recipe: Recipe,
    folder: RunFolder | None = None,
    *,
    resume: bool = False,
    data: dict[str, Any] | None = None,
    train_data: dict[str, Any] | None = None,
    verbose: bool = True,
    print_every: int = 100,
    progress: bool = False,
    callbacks: Iterable[Any] = (),
    restore_best: bool = True,
    figures: bool = True,
    extra_config: dict[str, Any] | None = None,
    say: Callable[[str], None] = print,
    diagnostics: Any = None,
) -> RunResult:
    """Train ``recipe`` and record the run in ``folder``; the one way every command trains.

    - folder: where the run lives (None: record nothing, as a tune trial); its config.json is
      written before training, the checkpoint after every epoch, the metrics, the model and
      the figures at the end;
    - resume: continue from the folder's latest checkpoint (the recipe may have more epochs);
    - data: the dataset dict (default: ``recipe.build_data()``), e.g. one loaded once for many
      runs; train_data: train on this instead (the retraining on train+val), measured on
      ``data``'s splits;
    - verbose, print_every, progress: the Solver's lines and progress bar;
    - callbacks, restore_best: passed to the Solver;
    - extra_config: more entries for config.json (the command line, for the record);
    - diagnostics: a :class:`~layerwise.diagnostics.Diagnostics` callback (or None); its
      record and figures are written to the folder when training ends (diverged included).

    Returns a :class:`RunResult`. Errors in the recipe, the data or the folder raise
    :class:`~layerwise.errors.LayerwiseError` subclasses; Ctrl-C writes a checkpoint (with a
    folder) and propagates KeyboardInterrupt.
    """
    if resume and folder is None:
        raise ConfigError("train_run: resume needs the run folder")
    with folder.held() if folder is not None else contextlib.nullcontext():
        return _train(
            recipe,
            folder,
            resume,
            data,
            train_data,
            verbose,
            print_every,
            progress,
            callbacks,
            restore_best,
            figures,
            extra_config,
            say,
            diagnostics,
        )


def _train(
    recipe: Recipe,
    folder: RunFolder | None,
    resume: bool,
    data: dict[str, Any] | None,
    train_data: dict[str, Any] | None,
    verbose: bool,
    print_every: int,
    progress: bool,
    callbacks: Iterable[Any],
    restore_best: bool,
    figures: bool,
    extra_config: dict[str, Any] | None,
    say: Callable[[str], None],
    diagnostics: Any,
) -> RunResult:
    from layerwise.frameworks import require_engine

    finished_epochs = None
    if resume:
        assert folder is not None
        folder.complete_archives()
        if folder.is_finished():
            metrics = folder.read_metrics()
            rows = metrics.get("epochs") or [{"epoch": 0}]
            finished_epochs = int(rows[-1]["epoch"])
            planned = int(folder.recipe().epochs)
            if recipe.epochs <= planned:
                stopped = metrics.get("stopped_reason")
                trained = f"trained {finished_epochs}" + (f": {stopped}" if stopped else "")
                raise ConfigError(
                    f"{str(folder)!r} already finished (planned {planned} epochs, {trained}); "
                    "pass a larger --epochs to train further",
                    "epochs",
                )
    if folder is not None:
        remove_stale_temporaries(folder.path)  # left by a killed writer of model or metrics
    require_engine(recipe.engine)  # a missing framework fails before data loading
    data = recipe.build_data() if data is None else data
    recipe.check_data(data if train_data is None else train_data)
    model = recipe.build_model(data)
    if folder is not None and not resume:
        # Written before training, so even an interrupted run says what it was.
        folder.write_config({**run_config(recipe, model, data), **(extra_config or {})})
        if "encoder" in data:
            folder.write_preprocessing(data)
        if "preprocessor" in data:
            data["preprocessor"].save(folder.preprocessor_path)
        if "pixels" in data:
            data["pixels"].save(folder.pixels_path)
    fit_on = data if train_data is None else train_data
    if verbose:
        hidden = ",".join(map(str, recipe.network.hidden_dims))
        input_dim, num_classes = data_dims(data)
        say(
            f"Training {type(model).__name__} (hidden {hidden}) on {recipe.dataset}: "
            f"{len(fit_on['X_train'])} training examples of {input_dim} features, "
            f"{num_classes} {_OUTPUTS[data_task(data)]}"
        )
    solver = recipe.build_solver(
        model,
        fit_on,
        print_every=print_every,
        verbose=verbose,
        progress=progress,
        checkpoint_name=None if folder is None else folder.checkpoint_base,
        keep_checkpoints=False,
        callbacks=list(callbacks) + ([] if diagnostics is None else [diagnostics]),
        restore_best=restore_best,
    )
    if resume:
        assert folder is not None
        solver.resume(folder.latest_checkpoint, fallback=[folder.previous_checkpoint])
        if finished_epochs is not None:  # its results move aside: an extension never overwrites
            folder.archive_finished(finished_epochs)
        if recipe != folder.recipe():  # only now: a refused resume leaves the run as it was
            folder.write_config({**run_config(recipe, model, data), **(extra_config or {})})
        if finished_epochs is None and (
            solver.checkpoint_stopped_by is not None or solver.iteration >= solver.num_iterations
        ):
            # Training had ended but the process died before the results were written: they
            # are written now from the checkpoint (the best parameters), without training.
            solver.stopped_by = solver.checkpoint_stopped_by
            if verbose:
                say(f"Finishing {folder}: training had ended; writing its results")
        if verbose and solver.stopped_by is None and solver.iteration < solver.num_iterations:
            say(f"Resuming {folder} at epoch {solver.epoch} (iteration {solver.iteration})")
    start = time.perf_counter()
    solver.train()
    seconds = time.perf_counter() - start

    # The Solver has swapped the best parameters into the model: these are what we evaluate
    # and save, so the saved model reproduces the reported accuracies exactly.
    metrics = run_metrics(solver, data, model, seconds)
    if folder is not None:
        folder.write_metrics(metrics)
        folder.save_model(model)
        if figures:
            folder.write_figures(model, data, metrics, recipe.dataset)
        if diagnostics is not None:
            folder.write_diagnostics(diagnostics, figures)
    return RunResult(model, solver, data, metrics, folder)
