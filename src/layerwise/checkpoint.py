"""Checkpoint files: everything needed to continue a training run exactly, never a pickle.

A checkpoint is two files with one base name, both written atomically:

- ``<base>.npz``: every array (parameters, best parameters, optimiser state such as velocity,
  cache, m and v, model buffers such as batchnorm's running statistics, and the state of NumPy's
  global generator), loadable with ``np.load(..., allow_pickle=False)``;
- ``<base>.json``: every scalar (iteration and epoch counters, histories, learning rates, Adam's
  ``t``, generator states, the Solver's settings).

The two are written arrays first, JSON last: the JSON names the arrays it expects, so a crash
between the two writes is detected on load instead of mixing two checkpoints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from layerwise.errors import LayerwiseError
from layerwise.io import read_json, write_json, write_npz

FORMAT_VERSION = 1


class CheckpointError(LayerwiseError, ValueError):
    """A checkpoint is missing, corrupt, or does not fit the Solver that loads it."""


def checkpoint_paths(base: str | Path) -> tuple[Path, Path]:
    """The ``.npz`` and ``.json`` paths of a checkpoint given its base name or either file."""
    base = Path(base)
    if base.suffix in (".npz", ".json"):
        base = base.with_suffix("")
    return base.with_name(base.name + ".npz"), base.with_name(base.name + ".json")


def save_checkpoint(base: str | Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write a checkpoint: ``arrays`` (name -> array) and ``meta`` (JSON-serialisable)."""
    npz_path, json_path = checkpoint_paths(base)
    npz_path.parent.mkdir(parents=True, exist_ok=True)
    write_npz(npz_path, arrays)
    write_json(json_path, {"format_version": FORMAT_VERSION, "arrays": sorted(arrays), **meta})


def load_checkpoint(base: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint`; returns (arrays, meta)."""
    npz_path, json_path = checkpoint_paths(base)
    for path in (npz_path, json_path):
        if not path.is_file():
            raise CheckpointError(f"checkpoint file {path} does not exist")
    meta = read_json(json_path)
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{json_path} is not a layerwise checkpoint of format version {FORMAT_VERSION}"
        )
    try:
        with np.load(npz_path, allow_pickle=False) as f:
            arrays = {name: f[name] for name in f.files}
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read checkpoint arrays from {npz_path}: {exc}") from None
    if sorted(arrays) != meta.get("arrays"):
        raise CheckpointError(
            f"{npz_path} and {json_path} do not belong together (different array lists): the "
            "run was probably stopped while writing; use an earlier checkpoint"
        )
    return arrays, meta
