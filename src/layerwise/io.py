"""Files a run leaves behind: JSON, CSV, saved models and run folders.

Every write is atomic: the bytes go to a temporary file in the destination's folder, are
flushed to disk, and only then renamed over the destination with :func:`os.replace`. A crash
or Ctrl-C therefore leaves either the old file or the new one, never half of one.

A saved model is two files side by side:

- ``model.npz``: the parameters (``np.savez``; plain arrays, no pickled objects), so it can be
  read back with ``np.load(..., allow_pickle=False)``; a model with buffers (batchnorm's
  running statistics) also stores them, as ``buffer.<name>``;
- ``model.json``: ``{"class": ..., "config": ..., "param_shapes": ..., "format_version": 1}``
  (plus ``"buffer_shapes"`` when there are buffers), enough to rebuild the model with
  ``MODEL_CLASSES[class](**config)`` before loading the arrays.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import os
import re
import tempfile
import time
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

from layerwise.errors import ConfigError, LayerwiseError

PathLike = str | os.PathLike[str]

#: Version of the model.json layout; bumped whenever it changes incompatibly.
FORMAT_VERSION = 1


class ModelFileError(LayerwiseError, ValueError):
    """A saved model (model.npz / model.json) is missing, corrupt or inconsistent."""


class RunDirError(LayerwiseError, FileExistsError):
    """A run folder cannot be used because it would overwrite an earlier run."""


# --------------------------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------------------------


@functools.cache
def _umask() -> int:
    # The only portable way to read the umask is to set it and put it back; do it once.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def _atomic_open(path: PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success, move it over ``path``.

    The temporary file lives in the same folder because :func:`os.replace` is only atomic
    within one file system. On any error it is removed and ``path`` is left untouched.
    """
    if mode not in ("wb", "w"):
        raise ConfigError(f"_atomic_open: mode must be 'wb' or 'w'; got {mode!r}")
    dest = Path(path)
    if dest.is_dir():
        raise IsADirectoryError(f"cannot write {str(dest)!r}: it is a folder, expected a file")
    if not dest.parent.is_dir():
        raise FileNotFoundError(
            f"cannot write {str(dest)!r}: folder {str(dest.parent)!r} does not exist"
        )
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        # mkstemp creates the file 0600; give it the mode a plain open() would have.
        os.chmod(tmp_name, 0o666 & ~_umask())
        # newline="" so the csv module controls line endings itself.
        kwargs: dict[str, Any] = {"encoding": "utf-8", "newline": ""} if mode == "w" else {}
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_name, dest)
        fsync_folder(dest.parent)  # the rename itself survives a power loss
    except BaseException as e:
        # BaseException so that a KeyboardInterrupt mid-write also cleans up.
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        if isinstance(e, OSError) and e.errno is not None and str(dest) not in str(e):
            # e.g. ENOSPC: say which file could not be written
            raise OSError(e.errno, f"cannot write {str(dest)!r}: {e.strerror}") from e
        raise


def fsync_folder(folder: PathLike) -> None:
    """Flush a folder's entries (a rename into it) to disk; a no-op where folders cannot be
    opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


#: How old a temporary file of an atomic write must be before it is taken for a leftover of a
#: killed writer (a live writer finishes a file in well under this).
STALE_SECONDS = 60.0


def remove_stale_temporaries(folder: PathLike, max_age: float = STALE_SECONDS) -> list[Path]:
    """Remove the ``.<name>.*.tmp`` files that killed atomic writes left in ``folder``."""
    removed = []
    now = time.time()
    for path in Path(folder).glob(".*.tmp"):
        try:
            if now - path.stat().st_mtime >= max_age:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:
            continue
    return removed


def write_bytes(path: PathLike, data: bytes) -> None:
    """Atomically write ``data`` to ``path`` (replacing any existing file)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"write_bytes: data must be bytes; got {type(data).__name__}")
    with _atomic_open(path, "wb") as f:
        f.write(data)


def write_npz(path: PathLike, arrays: Mapping[str, Any]) -> None:
    """Atomically write named arrays to ``path`` with ``np.savez`` (no pickled objects).

    arrays: name -> array-like; every value must convert to a non-object NumPy array, so the
    file loads with ``np.load(path, allow_pickle=False)``.
    """
    if not isinstance(arrays, Mapping) or not arrays:
        raise ConfigError(f"write_npz: arrays must be a non-empty dict of arrays; got {arrays!r}")
    plain: dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name:
            raise ConfigError(f"write_npz: array names must be non-empty strings; got {name!r}")
        arr = np.asarray(value)
        if arr.dtype == object:
            raise TypeError(f"write_npz: {name!r} is an object array, which would need pickle")
        plain[name] = arr
    buf = io.BytesIO()
    np.savez(buf, **plain)  # type: ignore[arg-type]
    write_bytes(path, buf.getvalue())


def to_jsonable(obj: Any) -> Any:
    """Convert NumPy values, paths and tuples to plain JSON types.

    Non-finite floats (NaN, inf: the loss of a diverged run) become ``None`` so the file stays
    strict JSON that every parser accepts.
    """
    if isinstance(obj, Mapping):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"JSON object keys must be strings; got key {k!r}")
            out[k] = to_jsonable(v)
        return out
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, np.dtype):
        return obj.name
    raise TypeError(f"cannot write a {type(obj).__name__} to JSON: {obj!r}")


def write_json(path: PathLike, obj: Any) -> None:
    """Atomically write ``obj`` as indented, strict JSON (NaN/inf written as null)."""
    text = json.dumps(to_jsonable(obj), indent=2, allow_nan=False) + "\n"
    with _atomic_open(path, "w") as f:
        f.write(text)


def read_json(path: PathLike) -> Any:
    """Read a JSON file, with an error naming the file when it is not valid JSON."""
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise ConfigError(f"{str(p)!r} is not valid JSON: {e}") from None


def write_csv(path: PathLike, rows: Sequence[Mapping[str, Any]]) -> None:
    """Atomically write ``rows`` (one dict per row) as CSV with a header line.

    Columns are the keys in first-seen order over all rows; a missing key or ``None`` is an
    empty cell.
    """
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence):
        raise TypeError(f"write_csv: rows must be a list of dicts; got {type(rows).__name__}")
    columns: dict[str, None] = {}  # an ordered set
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise TypeError(f"write_csv: row {i} must be a dict; got {type(row).__name__}")
        columns.update(dict.fromkeys(row))
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else to_jsonable(v)) for k, v in row.items()})
    with _atomic_open(path, "w") as f:
        f.write(buf.getvalue())


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


def _model_paths(path: PathLike) -> tuple[Path, Path]:
    """(npz, json) paths for ``path``: a ``.npz`` file, or a folder holding ``model.npz``."""
    p = Path(path)
    if p.is_dir():
        p = p / "model.npz"
    if p.suffix != ".npz":
        raise ConfigError(f"model path must end in .npz (or be a folder); got {str(path)!r}")
    return p, p.with_suffix(".json")


#: Archive-name prefix of a model's buffers (state that is not a parameter, such as
#: batchnorm's running statistics); parameter names never contain a dot.
BUFFER_PREFIX = "buffer."


def _model_buffers(model: Any) -> dict[str, np.ndarray]:
    get = getattr(model, "get_buffers", None)
    return {k: np.asarray(v) for k, v in get().items()} if callable(get) else {}


def _shapes_of(kind: str, arrays: Mapping[str, Any]) -> dict[str, list[int]]:
    shapes = {}
    for name, value in arrays.items():
        if not isinstance(value, np.ndarray):
            raise TypeError(
                f"save_model: {kind} {name!r} must be a numpy array; got {type(value).__name__}"
            )
        shapes[name] = list(value.shape)
    return shapes


def save_model(model: Any, path: PathLike) -> Path:
    """Save ``model`` to ``path`` (a .npz file, or a folder -> folder/model.npz).

    The .npz holds ``model.params`` (plus, for a model with ``get_buffers()`` such as a
    batchnorm net, its buffers under ``buffer.<name>``); the .json beside it holds the class,
    ``model.get_config()``, the shapes and the format version. Returns the .npz path.
    """
    from layerwise.models import MODEL_CLASSES

    cls_name = type(model).__name__
    if MODEL_CLASSES.get(cls_name) is not type(model):
        raise TypeError(
            f"save_model: {cls_name} is not a registered model class; expected one of "
            f"{sorted(MODEL_CLASSES)}"
        )
    params = getattr(model, "params", None)
    if not isinstance(params, Mapping) or not params:
        raise ConfigError(f"save_model: {cls_name}.params must be a non-empty dict of arrays")
    buffers = _model_buffers(model)
    meta: dict[str, Any] = {
        "class": cls_name,
        "config": model.get_config(),
        "param_shapes": _shapes_of("parameter", params),
        "format_version": FORMAT_VERSION,
    }
    if buffers:
        meta["buffer_shapes"] = _shapes_of("buffer", buffers)
    # Serialise the metadata first: an unserialisable config must fail before any file changes.
    meta_text = json.dumps(to_jsonable(meta), indent=2, allow_nan=False) + "\n"
    npz_path, json_path = _model_paths(path)
    write_npz(npz_path, {**params, **{BUFFER_PREFIX + k: v for k, v in buffers.items()}})
    with _atomic_open(json_path, "w") as f:
        f.write(meta_text)
    return npz_path


def _check_shapes(where: str, key: str, raw: Any) -> dict[str, tuple[int, ...]]:
    if not isinstance(raw, dict) or not all(
        isinstance(s, list) and all(isinstance(n, int) and n >= 0 for n in s) for s in raw.values()
    ):
        raise ModelFileError(f"{where}: {key!r} must map names to lists of sizes; got {raw!r}")
    return {k: tuple(s) for k, s in raw.items()}


def _check_meta(meta: Any, json_path: Path) -> tuple[type, dict[str, Any], dict[str, tuple]]:
    """Validate model.json's content; return (class, config, shape of every archive entry)."""
    from layerwise.models import MODEL_CLASSES

    where = str(json_path)
    if not isinstance(meta, dict):
        raise ModelFileError(f"{where}: expected a JSON object; got {type(meta).__name__}")
    missing = [k for k in ("class", "config", "param_shapes", "format_version") if k not in meta]
    if missing:
        raise ModelFileError(f"{where}: missing key(s) {missing}")
    if meta["format_version"] != FORMAT_VERSION:
        raise ModelFileError(
            f"{where}: format_version {meta['format_version']!r} is not supported; "
            f"expected {FORMAT_VERSION}"
        )
    cls = MODEL_CLASSES.get(meta["class"]) if isinstance(meta["class"], str) else None
    if cls is None:
        raise ModelFileError(
            f"{where}: unknown model class {meta['class']!r}; expected one of "
            f"{sorted(MODEL_CLASSES)}"
        )
    if not isinstance(meta["config"], dict):
        raise ModelFileError(f"{where}: 'config' must be an object; got {meta['config']!r}")
    shapes = _check_shapes(where, "param_shapes", meta["param_shapes"])
    buffer_shapes = _check_shapes(where, "buffer_shapes", meta.get("buffer_shapes", {}))
    shapes.update({BUFFER_PREFIX + k: s for k, s in buffer_shapes.items()})
    return cls, meta["config"], shapes


def load_model(path: PathLike) -> Any:
    """Rebuild a model saved by :func:`save_model` (``path``: the .npz file or its folder).

    Raises FileNotFoundError when a file is missing and :class:`ModelFileError` when the files
    are corrupt or disagree (unknown class, missing/extra parameter, shape mismatch).
    """
    npz_path, json_path = _model_paths(path)
    for p in (npz_path, json_path):
        if not p.is_file():
            raise FileNotFoundError(f"saved model file {str(p)!r} does not exist")
    try:
        meta = read_json(json_path)
    except ValueError as e:
        raise ModelFileError(str(e)) from None
    cls, config, shapes = _check_meta(meta, json_path)

    try:
        # allow_pickle=False: a model file must never be able to run code when loaded.
        loaded = np.load(npz_path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # a .npy file under the .npz name
            raise ValueError("it is not an .npz archive")
        with loaded as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise ModelFileError(f"{npz_path}: not a readable parameter archive ({e})") from None

    for k, arr in arrays.items():
        if arr.dtype.kind != "f":
            raise ModelFileError(
                f"{npz_path}: array {k!r} holds {arr.dtype} values; a model's arrays are floats"
            )
        if not np.isfinite(arr).all():
            raise ModelFileError(f"{npz_path}: array {k!r} holds NaN or infinite values")
    if set(arrays) != set(shapes):
        raise ModelFileError(
            f"{npz_path}: arrays {sorted(arrays)} do not match {json_path.name}'s {sorted(shapes)}"
        )
    for k, arr in arrays.items():
        if arr.shape != shapes[k]:
            raise ModelFileError(
                f"{npz_path}: array {k!r} has shape {arr.shape}; "
                f"{json_path.name} expects {shapes[k]}"
            )
    params = {k: v for k, v in arrays.items() if not k.startswith(BUFFER_PREFIX)}
    buffers = {k[len(BUFFER_PREFIX) :]: v for k, v in arrays.items() if k.startswith(BUFFER_PREFIX)}

    try:
        model = cls(**config)
    except (TypeError, ValueError) as e:
        raise ModelFileError(f"{json_path}: cannot rebuild {cls.__name__}: {e}") from None
    if set(model.params) != set(params):
        raise ModelFileError(
            f"{npz_path}: parameters {sorted(params)} do not match those of "
            f"{cls.__name__}(**config): {sorted(model.params)}"
        )
    for k, arr in params.items():
        expected = model.params[k]
        if arr.shape != expected.shape:
            raise ModelFileError(
                f"{npz_path}: parameter {k!r} has shape {arr.shape}, but "
                f"{cls.__name__}(**config) expects {expected.shape}"
            )
        # Keep the dtype the config asks for (an npz written by hand may differ).
        model.params[k] = arr.astype(expected.dtype, copy=False)

    expected_buffers = _model_buffers(model)
    if set(buffers) != set(expected_buffers):
        raise ModelFileError(
            f"{npz_path}: buffers {sorted(buffers)} do not match those of "
            f"{cls.__name__}(**config): {sorted(expected_buffers)}"
        )
    if buffers:
        try:
            model.set_buffers(buffers)
        except ValueError as e:
            raise ModelFileError(f"{npz_path}: {e}") from None
    return model


# --------------------------------------------------------------------------------------------
# Run folders
# --------------------------------------------------------------------------------------------

_HINT_RE = re.compile(r"^[A-Za-z0-9._-]+$")


def create_run_dir(
    path: PathLike | None = None, base: PathLike = "runs", name_hint: str = "run"
) -> Path:
    """Create and return a fresh folder for one run; never reuse a folder that holds files.

    - ``path`` None: make ``<base>/<YYYYmmdd-HHMMSS>-<name_hint>``, adding ``-2``, ``-3``, ...
      when that name is taken (two runs started within the same second).
    - ``path`` given: create it (parents too); an existing *empty* folder is accepted, an
      existing non-empty one raises :class:`RunDirError`, an existing file raises too.
    """
    if path is not None:
        p = Path(path)
        if p.exists():
            if not p.is_dir():
                raise RunDirError(f"run folder {str(p)!r} exists and is a file, not a folder")
            if any(p.iterdir()):
                raise RunDirError(
                    f"run folder {str(p)!r} already exists and is not empty; "
                    "choose a new folder (runs are never overwritten)"
                )
            return p
        p.mkdir(parents=True, exist_ok=False)
        return p

    if not isinstance(name_hint, str) or not _HINT_RE.match(name_hint):
        raise ConfigError(
            f"name_hint must be a non-empty name of letters, digits, '.', '_' or '-'; "
            f"got {name_hint!r}"
        )
    base_dir = Path(base)
    base_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{name_hint}"
    for n in range(1, 10_000):
        candidate = base_dir / (stem if n == 1 else f"{stem}-{n}")
        try:
            # exist_ok=False makes the existence check and the creation one step, so two
            # processes starting together cannot both claim the same folder.
            candidate.mkdir(exist_ok=False)
        except FileExistsError:
            continue
        return candidate
    raise RunDirError(f"could not find a free run folder name for {str(base_dir / stem)!r}")
