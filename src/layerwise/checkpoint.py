"""Checkpoint files: everything needed to continue a training run exactly, never a pickle.

A checkpoint is two files with one base name, each written atomically (temporary file,
fsync, rename, fsync of the folder):

- ``<base>.npz``: every array (parameters, best parameters, optimiser state such as velocity,
  cache, m and v, model buffers such as batchnorm's running statistics, and the state of NumPy's
  global generator), loadable with ``np.load(..., allow_pickle=False)``;
- ``<base>.json``: every scalar (iteration and epoch counters, histories, learning rates, Adam's
  ``t``, generator states, the Solver's settings), and the manifest of the pair: the array
  names, the SHA-256 of the ``.npz`` bytes and the iteration ``t``.

The arrays are written first and the JSON last, and the JSON names the digest of the arrays it
belongs with: a crash between the two writes, or two files copied from different checkpoints,
is detected on load (:class:`CheckpointError`) instead of silently continuing a mixed run.
:func:`rotate` keeps the previous checkpoint as ``<name>_previous`` before a new latest is
written, so there is a good one to fall back on (:func:`load_first_good`). Format version 1
(before the digest) still loads.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from layerwise.errors import LayerwiseError
from layerwise.io import (
    read_json,
    remove_stale_temporaries,
    to_jsonable,
    write_bytes,
    write_json,
)

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)


class CheckpointError(LayerwiseError, ValueError):
    """A checkpoint is missing, corrupt, or does not fit the Solver that loads it."""


def checkpoint_paths(base: str | Path) -> tuple[Path, Path]:
    """The ``.npz`` and ``.json`` paths of a checkpoint given its base name or either file."""
    base = Path(base)
    if base.suffix in (".npz", ".json"):
        base = base.with_suffix("")
    return base.with_name(base.name + ".npz"), base.with_name(base.name + ".json")


def exists(base: str | Path) -> bool:
    """Whether both files of the checkpoint are there (not whether they are good)."""
    return all(p.is_file() for p in checkpoint_paths(base))


def save_checkpoint(base: str | Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write a checkpoint: ``arrays`` (name -> array) and ``meta`` (JSON-serialisable)."""
    npz_path, json_path = checkpoint_paths(base)
    npz_path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(npz_path.parent)
    buf = io.BytesIO()
    plain = {name: np.asarray(value) for name, value in arrays.items()}
    np.savez(buf, **plain)  # type: ignore[arg-type]
    data = buf.getvalue()
    write_bytes(npz_path, data)
    manifest = {
        "format_version": FORMAT_VERSION,
        "arrays": sorted(arrays),
        "npz_sha256": hashlib.sha256(data).hexdigest(),
        "npz_bytes": len(data),
    }
    content = to_jsonable({**manifest, **meta})
    write_json(json_path, {**content, "meta_sha256": _meta_digest(content)})


def _meta_digest(content: dict[str, Any]) -> str:
    """SHA-256 of the JSON content (without its own digest), in a canonical form: a changed
    digit anywhere in the file (bit rot, a hand edit) is detected on load."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def rotate(base: str | Path, previous: str | Path) -> None:
    """Move the checkpoint ``base`` (if there) to ``previous``, replacing what was there."""
    if not exists(base):
        return
    for src, dst in zip(checkpoint_paths(base), checkpoint_paths(previous), strict=True):
        os.replace(src, dst)


#: With ``strict=False``, the meta key under which :func:`load_checkpoint` leaves the reason
#: the JSON's own digest did not match (so a caller can first name a bad field, if any).
UNVERIFIED = "__unverified__"
#: The meta key under which :func:`load_checkpoint` names the ``.npz`` it took the arrays from
#: when that was one of ``arrays_at``, not the checkpoint's own.
ARRAYS_FROM = "__arrays_from__"


def load_checkpoint(
    base: str | Path, strict: bool = True, arrays_at: Sequence[str | Path] = ()
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint`; returns (arrays, meta).

    Raises :class:`CheckpointError` naming the file and what is wrong with it: missing, not
    JSON, another format, arrays unreadable, arrays and JSON from different checkpoints, or
    (``strict``) a JSON whose content does not match its digest; with ``strict=False`` that
    last one is left in ``meta[UNVERIFIED]`` for the caller to raise.

    ``arrays_at``: other ``.npz`` files (or checkpoint bases) that may hold this JSON's arrays
    when its own ``.npz`` is missing or belongs to another step. :func:`rotate` renames two
    files, so a crash between the renames leaves the newest JSON beside the ``.npz`` it just
    moved; the digest the JSON records finds it, and ``meta[ARRAYS_FROM]`` then says where.
    """
    npz_path, json_path = checkpoint_paths(base)
    if not json_path.is_file():
        raise CheckpointError(f"checkpoint file {json_path} does not exist")
    try:
        meta = read_json(json_path)
    except (ValueError, OSError, UnicodeDecodeError) as e:
        raise CheckpointError(f"checkpoint file {json_path} is damaged: {e}") from None
    version = meta.get("format_version") if isinstance(meta, dict) else None
    if version not in READABLE_VERSIONS:
        raise CheckpointError(
            f"{json_path} is not a layerwise checkpoint of format version "
            f"{' or '.join(map(str, READABLE_VERSIONS))}"
        )
    found = _find_arrays(npz_path, meta, arrays_at)
    npz_path, data = found or _read_arrays(npz_path)
    if version >= 2:
        content = {k: v for k, v in meta.items() if k != "meta_sha256"}
        if meta.get("meta_sha256") != _meta_digest(content):
            problem = f"{json_path} is damaged: its content does not match the digest it records"
            if strict:
                raise CheckpointError(problem)
            meta[UNVERIFIED] = problem
    if version >= 2 and hashlib.sha256(data).hexdigest() != meta.get("npz_sha256"):
        raise CheckpointError(
            f"{npz_path} and {json_path} do not belong together (the arrays' SHA-256 is not the "
            "one the JSON records): the run was probably stopped while writing, or the files "
            "come from two checkpoints"
        )
    try:
        loaded = np.load(io.BytesIO(data), allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # a .npy file under the .npz name
            raise ValueError("it is not an .npz archive")
        with loaded as f:
            arrays = {name: f[name] for name in f.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise CheckpointError(f"cannot read checkpoint arrays from {npz_path}: {exc}") from None
    if sorted(arrays) != meta.get("arrays"):
        raise CheckpointError(
            f"{npz_path} and {json_path} do not belong together (different array lists): the "
            "run was probably stopped while writing; use an earlier checkpoint"
        )
    if npz_path != checkpoint_paths(base)[0]:
        meta[ARRAYS_FROM] = str(npz_path)
    return arrays, meta


def _read_arrays(npz_path: Path) -> tuple[Path, bytes]:
    if not npz_path.is_file():
        raise CheckpointError(f"checkpoint file {npz_path} does not exist")
    try:
        return npz_path, npz_path.read_bytes()
    except OSError as e:
        raise CheckpointError(f"cannot read checkpoint arrays from {npz_path}: {e}") from None


def _find_arrays(
    npz_path: Path, meta: dict[str, Any], arrays_at: Sequence[str | Path]
) -> tuple[Path, bytes] | None:
    """The first of ``npz_path`` and ``arrays_at`` whose bytes have the SHA-256 that ``meta``
    records (None when there is no digest to go by, or none matches)."""
    digest = meta.get("npz_sha256")
    if not arrays_at or not isinstance(digest, str):
        return None
    for candidate in (npz_path, *(checkpoint_paths(p)[0] for p in arrays_at)):
        try:
            data = candidate.read_bytes()
        except OSError:
            continue
        if hashlib.sha256(data).hexdigest() == digest:
            return candidate, data
    return None


def load_first_good(
    bases: Sequence[str | Path],
) -> tuple[dict[str, np.ndarray], dict[str, Any], Path, list[str]]:
    """The first of ``bases`` that loads; returns (arrays, meta, its base, the problems of the
    ones before it). Raises the first one's CheckpointError when none loads."""
    problems: list[str] = []
    first: CheckpointError | None = None
    for base in bases:
        try:
            arrays, meta = load_checkpoint(base)
        except CheckpointError as e:
            first = first or e
            problems.append(str(e))
            continue
        return arrays, meta, Path(base), problems
    assert first is not None
    raise first
