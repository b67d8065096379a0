"""CIFAR-10 from the official python batches (``cifar-10-python.tar.gz``).

The archive holds ``cifar-10-batches-py/data_batch_1`` .. ``data_batch_5`` (10,000 training
images each) and ``test_batch`` (10,000 test images): pickled dicts whose ``data`` is a uint8
array (N, 3072), each row the red, green then blue 32x32 planes, and whose ``labels`` is a list
of N ints in 0..9. They are read with the restricted unpickler, straight from the archive or from
an extracted folder; the row count is taken from the data, never assumed.
"""

from __future__ import annotations

import gzip
import os
import tarfile
import zlib
from pathlib import Path
from typing import IO, Any

import numpy as np

from layerwise.errors import ConfigError
from layerwise.validation import check_float_dtype as _check_dtype
from layerwise.validation import check_splits

from .download import fetch_all
from .errors import CorruptFileError, DatasetError, MissingDataError
from .paths import resolve_data_dir
from .registry import CIFAR10, CIFAR10_ARCHIVE
from .safe_pickle import safe_load

__all__ = [
    "BATCHES_DIR",
    "CLASSES",
    "get_CIFAR10_data",
    "load_CIFAR10",
    "load_CIFAR_batch",
]

#: Name of the folder inside the archive.
BATCHES_DIR = "cifar-10-batches-py"
_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
_TEST_BATCH = "test_batch"
_ALL_BATCHES = (*_TRAIN_BATCHES, _TEST_BATCH)
_N_TRAIN, _N_TEST = 50_000, 10_000
_SIDE = 32

#: Class names in label order (also in the archive's ``batches.meta``).
CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

Batch = tuple[np.ndarray, np.ndarray]


def _parse_batch(obj: Any, source: str) -> Batch:
    """uint8 images (N, 32, 32, 3) (a channels-last view) and int64 labels (N,) of one batch."""
    if not isinstance(obj, dict):
        raise CorruptFileError(
            f"{source}: expected a pickled dict with 'data' and 'labels', got {type(obj).__name__}"
        )
    if "data" not in obj or "labels" not in obj:
        raise CorruptFileError(
            f"{source}: expected keys 'data' and 'labels', found {sorted(map(str, obj))}"
        )
    data, labels = obj["data"], obj["labels"]
    row = 3 * _SIDE * _SIDE
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2):
        kind = f"{data.dtype} array {data.shape}" if isinstance(data, np.ndarray) else type(data)
        raise CorruptFileError(f"{source}: 'data' must be a uint8 array (N, {row}), got {kind}")
    if data.shape[1] != row:
        raise CorruptFileError(f"{source}: 'data' must have shape (N, {row}), got {data.shape}")
    n = data.shape[0]
    try:
        y = np.asarray(labels)
    except (TypeError, ValueError) as err:  # ragged or nonsense lists
        raise CorruptFileError(f"{source}: 'labels' is not a list of ints ({err})") from err
    if y.shape != (n,) or y.dtype.kind not in "iu":
        raise CorruptFileError(
            f"{source}: 'labels' must be {n} ints (one per row of 'data'), "
            f"got {y.dtype} array {y.shape}"
        )
    if n and (y.min() < 0 or y.max() >= len(CLASSES)):
        raise CorruptFileError(
            f"{source}: labels must lie in 0..{len(CLASSES) - 1}, found {y.min()}..{y.max()}"
        )
    # Rows are the R, G, B planes in turn: (N, 3, 32, 32), then channels-last as in the seed.
    images = data.reshape(n, 3, _SIDE, _SIDE).transpose(0, 2, 3, 1)
    return images, y.astype(np.int64)


def _read_batch(stream: IO[bytes], source: str) -> Batch:
    try:
        obj = safe_load(stream)
    except DatasetError:
        raise  # UnsafePickleError, or a gzip error already naming the file
    except Exception as err:
        # A damaged pickle can fail in many ways (UnpicklingError, EOFError, KeyError, ...);
        # they all mean the same thing to the caller.
        raise CorruptFileError(f"{source}: not a readable CIFAR-10 batch pickle ({err!r})") from err
    return _parse_batch(obj, source)


def _read_batch_file(path: Path) -> Batch:
    if not path.is_file():
        raise MissingDataError(f"{path}: no such CIFAR-10 batch file")
    with open(path, "rb") as f:
        return _read_batch(f, str(path))


def load_CIFAR_batch(
    filename: str | os.PathLike[str], dtype: Any = np.float64
) -> tuple[np.ndarray, np.ndarray]:
    """Load one CIFAR-10 batch file (``data_batch_1`` .. ``5`` or ``test_batch``).

    Args:
        filename: path of the pickled batch.
        dtype: floating type of the images (float64, as in the seed).

    Returns:
        X: (N, 32, 32, 3) images, channels-last, values 0..255, C-contiguous.
        Y: (N,) int64 labels in 0..9.

    Raises:
        MissingDataError: no such file.
        CorruptFileError: not a CIFAR-10 batch (bad pickle, keys, shapes or labels).
        UnsafePickleError: the pickle references anything beyond NumPy arrays.
    """
    dtype = _check_dtype(dtype, any_float=True)
    images, labels = _read_batch_file(Path(filename))
    return np.ascontiguousarray(images, dtype=dtype), labels


def _read_folder(folder: Path) -> dict[str, Batch]:
    missing = [name for name in _ALL_BATCHES if not (folder / name).is_file()]
    if missing:
        raise MissingDataError(
            f"{folder}: CIFAR-10 batch files missing: {', '.join(missing)} "
            f"(expected {', '.join(_ALL_BATCHES)})"
        )
    return {name: _read_batch_file(folder / name) for name in _ALL_BATCHES}


def _read_archive(path: Path) -> dict[str, Batch]:
    batches: dict[str, Batch] = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            # One pass in archive order: going back to a member would re-decompress the gzip
            # stream from the start. Nothing is extracted to disk.
            for member in tar:
                # Repacked copies sometimes store "./cifar-10-batches-py/...".
                parent, _, base = member.name.removeprefix("./").rpartition("/")
                if base in _ALL_BATCHES and parent in (BATCHES_DIR, "") and member.isfile():
                    stream = tar.extractfile(member)
                    if stream is not None:
                        batches[base] = _read_batch(stream, f"{path}:{member.name}")
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise CorruptFileError(
            f"{path}: not a readable CIFAR-10 archive, truncated or damaged ({err})"
        ) from err
    missing = [name for name in _ALL_BATCHES if name not in batches]
    if missing:
        raise CorruptFileError(
            f"{path}: archive lacks {', '.join(f'{BATCHES_DIR}/{name}' for name in missing)}"
        )
    return batches


def _locate(root: Path) -> Path:
    """The batches folder or the archive that ``root`` designates."""
    if root.is_file():
        return root
    if root.is_dir():
        if any((root / name).exists() for name in _ALL_BATCHES):
            return root
        if (root / BATCHES_DIR).is_dir():
            return root / BATCHES_DIR
        if (root / CIFAR10_ARCHIVE.name).is_file():
            return root / CIFAR10_ARCHIVE.name
    raise MissingDataError(
        f"{root}: no CIFAR-10 data found; expected the folder {BATCHES_DIR} (with "
        f"{', '.join(_ALL_BATCHES)}), a folder containing it, or {CIFAR10_ARCHIVE.name}"
    )


def _load_uint8(root: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Xtr (N, 32, 32, 3) uint8, ytr (N,) int64, Xte (M, 32, 32, 3) uint8, yte (M,) int64.

    The images may be non-contiguous views; callers copy them once into their final layout.
    """
    source = _locate(root)
    batches = _read_archive(source) if source.is_file() else _read_folder(source)
    Xtr = np.concatenate([batches[name][0] for name in _TRAIN_BATCHES])
    ytr = np.concatenate([batches[name][1] for name in _TRAIN_BATCHES])
    Xte, yte = batches[_TEST_BATCH]
    return Xtr, ytr, Xte, yte


def load_CIFAR10(
    root: str | os.PathLike[str], dtype: Any = np.float64
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load all of CIFAR-10.

    Args:
        root: the ``cifar-10-batches-py`` folder, a folder containing it (or the archive), or
            the path of ``cifar-10-python.tar.gz`` (read in place, not extracted). No checksum
            is checked here; :func:`get_CIFAR10_data` checks the archive it fetches.
        dtype: floating type of the images (float64, as in the seed).

    Returns:
        Xtr: (N, 32, 32, 3) training images, channels-last, values 0..255 (N = 50,000).
        Ytr: (N,) int64 labels.
        Xte: (M, 32, 32, 3) test images (M = 10,000).
        Yte: (M,) int64 labels.

    Raises:
        MissingDataError: nothing at ``root``, or batch files missing from the folder.
        CorruptFileError: a damaged archive or batch.
        UnsafePickleError: a batch pickle references anything beyond NumPy arrays.
    """
    dtype = _check_dtype(dtype, any_float=True)
    Xtr, ytr, Xte, yte = _load_uint8(Path(root).expanduser())
    return (
        np.ascontiguousarray(Xtr, dtype=dtype),
        ytr,
        np.ascontiguousarray(Xte, dtype=dtype),
        yte,
    )


def _channels_first(images: np.ndarray, dtype: np.dtype[Any]) -> np.ndarray:
    """(m, 32, 32, 3) uint8 -> (m, 3, 32, 32) in ``dtype``, C-contiguous, in one copy."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=dtype)


def _find_source(data_dir: str | os.PathLike[str] | None, accept_sha256: Any = None) -> Path:
    folder = resolve_data_dir(
        CIFAR10.subfolder, (BATCHES_DIR, CIFAR10_ARCHIVE.name, *_ALL_BATCHES), data_dir
    )
    # An extracted copy is used as it is (there is no checksum for the extracted files);
    # otherwise the archive is checked, or downloaded and checked.
    if any((folder / name).exists() for name in _ALL_BATCHES):
        return folder
    if (folder / BATCHES_DIR).is_dir():
        return folder / BATCHES_DIR
    return fetch_all(CIFAR10.files, folder, title=CIFAR10.title, accept_sha256=accept_sha256)[0]


def get_CIFAR10_data(
    num_training: int = 49_000,
    num_validation: int = 1_000,
    num_test: int = 1_000,
    subtract_mean: bool = True,
    data_dir: str | os.PathLike[str] | None = None,
    dtype: Any = np.float64,
    *,
    accept_sha256: Any = None,
    return_mean: bool = False,
) -> dict[str, np.ndarray]:
    """CIFAR-10 split into train/val/test, mean-centred and channels-first, ready for a model.

    The validation rows are training rows ``num_training .. num_training + num_validation``, the
    training rows the first ``num_training``, the test rows the first ``num_test`` test rows.
    With ``subtract_mean`` the training mean image is subtracted from all three.

    Args:
        num_training, num_validation: training-set rows to use (sum at most 50,000).
        num_test: test-set rows to use (at most 10,000).
        subtract_mean: subtract the mean training image (needs ``num_training >= 1``).
        data_dir: folder of the data (see :mod:`layerwise.data.paths`); the archive is
            downloaded there and checked when no copy is found.
        dtype: floating type of the images.
        accept_sha256: SHA-256 digests ("HEX[,HEX]") of non-official archives to use anyway,
            with an :class:`~layerwise.data.checksum.UnofficialDataWarning` naming the file
            and its digest (a re-packed or lossy copy); ``$LAYERWISE_ACCEPT_SHA256`` adds to
            them. Any other archive that is not the official one is refused.
        return_mean: also return the mean image subtracted, ``mean_image`` (3, 32, 32)
            float64 (what new images need: :class:`~layerwise.data.pixels.PixelScaling`).

    Returns:
        ``X_train`` (num_training, 3, 32, 32), ``y_train`` (num_training,), ``X_val``
        (num_validation, 3, 32, 32), ``y_val``, ``X_test`` (num_test, 3, 32, 32), ``y_test``;
        X in ``dtype``, C-contiguous; y int64 in 0..9.
    """
    dtype = _check_dtype(dtype, any_float=True)
    # Checked before any download, against the full dataset ...
    n_tr, n_val, n_te = check_splits(
        num_training, num_validation, num_test, n_train=_N_TRAIN, n_test=_N_TEST
    )
    if subtract_mean and n_tr == 0:
        raise ConfigError("subtract_mean=True needs num_training >= 1 to compute a mean image")
    Xtr, ytr, Xte, yte = _load_uint8(_find_source(data_dir, accept_sha256))
    # ... and again against what the files hold (a partial copy may have fewer rows).
    check_splits(n_tr, n_val, n_te, n_train=len(ytr), n_test=len(yte))

    data = {
        "X_train": _channels_first(Xtr[:n_tr], dtype),
        "y_train": ytr[:n_tr].copy(),
        "X_val": _channels_first(Xtr[n_tr : n_tr + n_val], dtype),
        "y_val": ytr[n_tr : n_tr + n_val].copy(),
        "X_test": _channels_first(Xte[:n_te], dtype),
        "y_test": yte[:n_te].copy(),
    }
    if subtract_mean:
        # The mean of integers is computed exactly in float64, then rounded once to dtype.
        mean64 = Xtr[:n_tr].mean(axis=0, dtype=np.float64).transpose(2, 0, 1)
        mean = mean64.astype(dtype)
        for key in ("X_train", "X_val", "X_test"):
            data[key] -= mean
        if return_mean:
            data["mean_image"] = np.ascontiguousarray(mean64)
    elif return_mean:
        raise ConfigError("return_mean=True needs subtract_mean=True (no mean is subtracted)")
    return data
