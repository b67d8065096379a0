"""The training state a checkpoint holds: what :meth:`Solver.save_checkpoint` writes and
:meth:`Solver.resume` reads back, so that a resumed run continues bit for bit.

- :func:`capture`: the Solver and its model as arrays (parameters, best parameters, optimiser
  state, buffers, NumPy's global generator keys) and JSON scalars (counters, histories,
  learning rates, generator states, callbacks' state, why it stopped);
- :func:`parse`: a checkpoint checked against the Solver that loads it: settings that must
  match, every array's shape, every field's type; raises
  :class:`~layerwise.checkpoint.CheckpointError` naming what is wrong, and changes nothing;
- :func:`apply`: what :func:`parse` returned, set on the Solver and its model (cannot fail).

The file format itself (two files, a digest binding them) is :mod:`layerwise.checkpoint`'s.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import numpy as np

from layerwise import optim
from layerwise.callbacks import StopReason
from layerwise.checkpoint import CheckpointError
from layerwise.errors import ConfigError
from layerwise.validation import check_int

Array = np.ndarray

#: Settings that must match between a checkpoint and the Solver resuming it.
RESUME_MUST_MATCH = ("update_rule", "batch_size", "num_train", "iterations_per_epoch")


def capture(solver: Any) -> tuple[dict[str, Array], dict[str, Any]]:
    arrays: dict[str, Array] = {}
    optim_scalars: dict[str, dict[str, Any]] = {}
    for name, w in solver.model.params.items():
        arrays[f"param.{name}"] = w
        arrays[f"best.{name}"] = solver.best_params[name]
        scalars = optim_scalars.setdefault(name, {})
        for key, value in solver.optim_configs[name].items():
            if isinstance(value, np.ndarray):
                arrays[f"optim.{name}.{key}"] = value
            else:
                scalars[key] = value
    for name, value in solver._model_buffers().items():
        arrays[f"buffer.{name}"] = value
    for name, value in solver._best_buffers.items():
        arrays[f"best_buffer.{name}"] = value
    global_state: tuple[Any, ...] = tuple(np.random.get_state())
    _, keys, pos, has_gauss, cached = global_state
    arrays["global_rng.keys"] = np.asarray(keys)
    get_rng_state = getattr(solver.model, "get_rng_state", None)
    meta = {
        "settings": settings(solver),
        "t": solver._t,
        "epoch": solver.epoch,
        "loss_history": solver.loss_history,
        "train_acc_history": solver.train_acc_history,
        "val_acc_history": solver.val_acc_history,
        "val_loss_history": solver.val_loss_history,
        # -inf (no check yet, for a score that can be negative) is not JSON: None
        "best_val_acc": solver.best_val_acc if math.isfinite(solver.best_val_acc) else None,
        "best_val_loss": solver.best_val_loss if math.isfinite(solver.best_val_loss) else None,
        "stopped_reason": solver.stopped_reason,
        "stopped_by": None if solver.stopped_by is None else solver.stopped_by.to_dict(),
        "callback_state": {
            cb.state_key: cb.get_state() for cb in solver.callbacks if hasattr(cb, "state_key")
        },
        "optim_scalars": optim_scalars,
        "base_lr": solver._base_lr,
        "solver_rng": None if solver.rng is None else solver.rng.bit_generator.state,
        "model_rng": get_rng_state() if callable(get_rng_state) else None,
        "global_rng": {"pos": int(pos), "has_gauss": int(has_gauss), "cached": float(cached)},
    }
    return arrays, meta


def settings(solver: Any) -> dict[str, Any]:
    rule = solver.update_rule_name
    return {
        "update_rule": rule if isinstance(rule, str) else getattr(rule, "__name__", "custom"),
        "batch_size": solver.batch_size,
        "num_epochs": solver.num_epochs,
        "num_train": int(solver.X_train.shape[0]),
        "iterations_per_epoch": solver.iterations_per_epoch,
        "lr_decay": solver.lr_decay,
        "num_train_samples": solver.num_train_samples,
        "num_val_samples": solver.num_val_samples,
        "seed": solver.seed,
    }


def parse(
    solver: Any, path: str | Path, arrays: dict[str, Array], meta: dict[str, Any]
) -> dict[str, Any]:
    """Everything :meth:`resume` sets, checked against this Solver and its model."""
    saved = meta.get("settings", {})
    mine = settings(solver)
    if not isinstance(saved, dict):
        raise CheckpointError(f"checkpoint {path} is damaged: 'settings' is {saved!r}")
    for key in RESUME_MUST_MATCH:
        if saved.get(key) != mine[key]:
            raise CheckpointError(
                f"checkpoint {path} was written with {key}={saved.get(key)!r}, but this "
                f"Solver has {key}={mine[key]!r}"
            )
    try:
        return _read(solver, path, arrays, meta)
    except CheckpointError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
        what = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        raise CheckpointError(f"checkpoint {path} is damaged ({what})") from None


def _read(
    solver: Any, path: str | Path, arrays: dict[str, Array], meta: dict[str, Any]
) -> dict[str, Any]:
    def fail(what: str) -> CheckpointError:
        return CheckpointError(f"checkpoint {path} does not fit: {what}")

    def array(key: str, shape: tuple[int, ...]) -> Array:
        if key not in arrays:
            raise fail(f"array {key!r} is missing")
        value = arrays[key]
        if value.shape != shape or value.dtype.kind != "f":
            raise fail(f"array {key!r} is {value.dtype} {value.shape}; expected floats {shape}")
        return value.copy()

    params = solver.model.params
    shapes = {n: tuple(np.shape(w)) for n, w in params.items()}
    state: dict[str, Any] = {
        "params": {n: array(f"param.{n}", s) for n, s in shapes.items()},
        "best": {n: array(f"best.{n}", s) for n, s in shapes.items()},
    }
    scalars = meta["optim_scalars"]
    configs: dict[str, dict[str, Any]] = {}
    for n in params:
        entry = scalars.get(n, {})
        if not isinstance(entry, dict):
            raise fail(f"optimizer settings of {n!r} are {entry!r}")
        configs[n] = dict(entry)
    for key in arrays:
        if key.startswith("optim."):
            _, n, slot = key.split(".", 2)
            if n not in shapes:
                raise fail(f"optimizer state {key!r} names no parameter of the model")
            configs[n][slot] = array(key, shapes[n])
    t = check_int("t", meta["t"])
    rule = optim.rule_name(solver.update_rule)
    for n, c in configs.items():
        scalars_only = {k: v for k, v in c.items() if not isinstance(v, np.ndarray)}
        try:
            optim.check_config(solver.update_rule, scalars_only)  # keys, types and ranges
        except ConfigError as e:
            raise fail(f"the optimizer settings of {n!r}: {e}") from None
        if "t" in c:
            c["t"] = check_int(f"optimizer step count of {n}", c["t"])
        if rule is not None and t > 0:  # after a step, every parameter has the rule's state
            missing = [k for k in optim.STATE[rule] if k not in c]
            if missing:
                raise fail(f"the optimizer state {missing} of {n!r} is missing")
    state["optim_configs"] = configs
    expected = {k: tuple(np.shape(v)) for k, v in solver._model_buffers().items()}
    for prefix in ("buffer.", "best_buffer."):
        found = {k[len(prefix) :] for k in arrays if k.startswith(prefix)}
        if found != set(expected):
            raise fail(f"{prefix}* arrays {sorted(found)}; the model has {sorted(expected)}")
        state[prefix] = {k: array(prefix + k, expected[k]) for k in found}
    epoch = check_int("epoch", meta["epoch"])
    histories = {}
    for key in ("loss_history", "train_acc_history", "val_acc_history", "val_loss_history"):
        values = meta[key]
        if not isinstance(values, list):
            raise fail(f"{key} is {type(values).__name__}, not a list")
        histories[key] = [math.nan if v is None else float(v) for v in values]
    if len(histories["loss_history"]) != t:
        raise fail(f"{len(histories['loss_history'])} losses for {t} iterations")
    if t > solver.num_iterations and t > epoch * solver.iterations_per_epoch + 1:
        raise fail(f"iteration {t} is beyond epoch {epoch}")
    stopped = meta.get("stopped_by")
    state.update(
        stopped_by=None
        if not stopped
        else StopReason(str(stopped["kind"]), str(stopped["message"])),
        t=t,
        epoch=epoch,
        histories=histories,
        best_val_acc=-math.inf if meta["best_val_acc"] is None else float(meta["best_val_acc"]),
        # (checkpoints from before monitor='val_loss' have none: nothing kept by it yet)
        best_val_loss=math.inf
        if meta.get("best_val_loss") is None
        else float(meta["best_val_loss"]),
        base_lr={str(k): float(v) for k, v in meta["base_lr"].items()},
    )
    # Checkpoints written before callbacks existed kept early stopping's state at the top.
    states = meta.get("callback_state") or {"early_stopping": meta}
    state["callbacks"] = {}
    for cb in solver.callbacks:
        name = getattr(cb, "state_key", None)
        if name is not None and states.get(name) is not None:
            copy.deepcopy(cb).set_state(states[name])  # raises on garbage
            state["callbacks"][name] = states[name]
    solver_rng = meta["solver_rng"]
    if solver_rng is not None:
        if solver.rng is None:
            raise CheckpointError(f"checkpoint {path} used a Solver seed; pass seed= too")
        copy.deepcopy(solver.rng).bit_generator.state = solver_rng
    state["solver_rng"] = solver_rng
    model_rng = meta["model_rng"]
    model_gen = getattr(solver.model, "rng", None)
    if model_rng is not None and isinstance(model_gen, np.random.Generator):
        copy.deepcopy(model_gen).bit_generator.state = model_rng
    state["model_rng"] = model_rng
    g = meta["global_rng"]
    keys = arrays["global_rng.keys"]
    pos, has_gauss, cached = g["pos"], g["has_gauss"], g["cached"]
    # NumPy's set_state accepts an out-of-range position (and later reads out of bounds).
    if keys.shape != (624,) or keys.dtype != np.uint32:
        raise fail(f"the global generator's keys are {keys.dtype} {keys.shape}")
    if not (isinstance(pos, int) and 0 <= pos <= 624 and has_gauss in (0, 1)):
        raise fail(f"the global generator's position {pos!r} / has_gauss {has_gauss!r}")
    if not (isinstance(cached, (int, float)) and math.isfinite(cached)):
        raise fail(f"the global generator's cached value {cached!r}")
    global_state = ("MT19937", keys, int(pos), int(has_gauss), float(cached))
    np.random.RandomState().set_state(global_state)  # raises on garbage
    state["global_rng"] = global_state
    return state


def apply(solver: Any, state: dict[str, Any]) -> None:
    """Set what :meth:`_parse_checkpoint` read (it cannot fail any more)."""
    for name, value in state["params"].items():
        solver.model.params[name] = value
    solver.best_params = state["best"]
    solver.optim_configs = state["optim_configs"]
    if state["buffer."]:
        solver.model.set_buffers(state["buffer."])
    solver._best_buffers = state["best_buffer."]
    solver._t = state["t"]
    solver.epoch = state["epoch"]
    for key, values in state["histories"].items():
        setattr(solver, key, values)
    solver.best_val_acc = state["best_val_acc"]
    solver.best_val_loss = state["best_val_loss"]
    solver.stopped_by = None  # resuming means going on; why the run had stopped is kept here:
    solver.checkpoint_stopped_by = state["stopped_by"]
    for cb in solver.callbacks:
        name = getattr(cb, "state_key", None)
        if name in state["callbacks"]:
            cb.set_state(state["callbacks"][name])
    solver._base_lr = state["base_lr"]
    if state["solver_rng"] is not None and solver.rng is not None:
        solver.rng.bit_generator.state = state["solver_rng"]
    set_rng_state = getattr(solver.model, "set_rng_state", None)
    if state["model_rng"] is not None and callable(set_rng_state):
        set_rng_state(state["model_rng"])
    np.random.set_state(state["global_rng"])
    solver.engine.reset()
