"""Small files in the official dataset formats, written by the tests themselves.

Importable from any test module (``from dataset_files import make_small_cifar``): MNIST's IDX
files and CIFAR-10's Python 2 pickles, batches folder and ``.tar.gz`` archive.
"""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# --------------------------------------------------------------------------- IDX (MNIST)

_IDX_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(np.int16): 0x0B,
    np.dtype(np.int32): 0x0C,
    np.dtype(np.float32): 0x0D,
    np.dtype(np.float64): 0x0E,
}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array``: big-endian magic, big-endian uint32 dims, big-endian data."""
    code = _IDX_CODES[array.dtype]
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray, *, gz: bool) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


@dataclass
class SmallMnist:
    folder: Path
    X_train: np.ndarray  # (n, 28, 28) uint8
    y_train: np.ndarray  # (n,) uint8
    X_test: np.ndarray
    y_test: np.ndarray
    names: tuple[str, ...] = field(default=())


MNIST_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def make_small_mnist(folder: Path, *, n_train: int, n_test: int, gz: bool, seed: int) -> SmallMnist:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = (
        rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, size=n_train, dtype=np.uint8),
        rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, size=n_test, dtype=np.uint8),
    )
    names = tuple(f"{name}.gz" if gz else name for name in MNIST_NAMES)
    for name, array in zip(names, arrays, strict=True):
        write_idx(folder / name, array, gz=gz)
    return SmallMnist(folder, *arrays, names=names)


# --------------------------------------------------------------------------- CIFAR-10 pickles


class Py2Pickle:
    """Encode like Python 2's cPickle (protocol 2) pickled the CIFAR-10 batches with NumPy 1.

    Byte strings and str become py2 ``str`` (SHORT_BINSTRING / BINSTRING), so a Python 3 reader
    must decode them with latin-1; arrays reference ``numpy.core.multiarray._reconstruct``,
    ``numpy.ndarray`` and ``numpy.dtype`` by GLOBAL, with the py2 state tuples.
    """

    def __init__(self) -> None:
        self.out = io.BytesIO()
        self.memo = 0

    def dumps(self, obj: Any) -> bytes:
        self.out.write(b"\x80\x02")  # PROTO 2
        self.save(obj)
        self.out.write(b".")  # STOP
        return self.out.getvalue()

    def put(self) -> None:
        self.memo += 1
        self.out.write(b"q" + bytes([self.memo % 256]))  # BINPUT, as cPickle wrote after objects

    def save(self, obj: Any) -> None:
        w = self.out.write
        if obj is None:
            w(b"N")
        elif isinstance(obj, bool):
            w(b"\x88" if obj else b"\x89")  # NEWTRUE / NEWFALSE
        elif isinstance(obj, int):
            if 0 <= obj < 256:
                w(b"K" + bytes([obj]))
            elif 0 <= obj < 65536:
                w(b"M" + struct.pack("<H", obj))
            else:
                w(b"J" + struct.pack("<i", obj))
        elif isinstance(obj, (bytes, str)):
            raw = obj.encode("latin1") if isinstance(obj, str) else obj
            if len(raw) < 256:
                w(b"U" + bytes([len(raw)]) + raw)  # SHORT_BINSTRING
            else:
                w(b"T" + struct.pack("<i", len(raw)) + raw)  # BINSTRING
            self.put()
        elif isinstance(obj, tuple):
            w(b"(")
            for item in obj:
                self.save(item)
            w(b"t")
        elif isinstance(obj, list):
            w(b"]")
            self.put()
            if obj:
                w(b"(")
                for item in obj:
                    self.save(item)
                w(b"e")  # APPENDS
        elif isinstance(obj, dict):
            w(b"}")
            self.put()
            if obj:
                w(b"(")
                for key, value in obj.items():
                    self.save(key)
                    self.save(value)
                w(b"u")  # SETITEMS
        elif isinstance(obj, np.ndarray):
            self.save_array(obj)
        else:
            raise TypeError(f"cannot encode {type(obj)}")

    def save_array(self, array: np.ndarray) -> None:
        assert array.dtype == np.uint8 and array.flags.c_contiguous
        w = self.out.write
        w(b"cnumpy.core.multiarray\n_reconstruct\n")
        self.put()
        w(b"cnumpy\nndarray\n")
        self.put()
        w(b"K\x00\x85")  # (0,)  TUPLE1
        self.save(b"b")
        w(b"\x87R")  # TUPLE3, REDUCE: _reconstruct(ndarray, (0,), 'b')
        self.put()
        # ndarray.__setstate__((1, shape, dtype, is_fortran, rawdata))
        w(b"(")
        self.save(1)
        self.save(tuple(array.shape))
        w(b"cnumpy\ndtype\n")
        self.put()
        self.save(b"u1")
        self.save(0)
        self.save(1)
        w(b"\x87R")  # dtype('u1', 0, 1)
        self.put()
        self.save((3, b"|", None, None, None, -1, -1, 0))
        w(b"b")  # BUILD: dtype.__setstate__
        self.save(False)
        self.save(array.tobytes())
        w(b"tb")  # TUPLE, BUILD: ndarray.__setstate__


def py2_pickle(obj: Any) -> bytes:
    return Py2Pickle().dumps(obj)


CIFAR_LABEL_NAMES = [
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
]


@dataclass
class SmallCifar:
    root: Path  # holds cifar-10-batches-py/ and cifar-10-python.tar.gz
    batches_dir: Path
    archive: Path
    train_rows: np.ndarray  # (n, 3072) uint8, as in the files
    train_labels: np.ndarray  # (n,) int64
    test_rows: np.ndarray
    test_labels: np.ndarray


#: The SHA-256 of the lossy CIFAR-10 development copy (``../shared/datasets/cifar10-lossy``,
#: rebuilt from JPEGs: not the official archive, so its digest must be named to be accepted).
LOSSY_CIFAR10_SHA256 = "85207ac7bc185728fddf4e7c44d13a5e2073c53c0a4c1f8cf0e8a890fb8ea8f9"

# Unequal batch sizes: a loader must take N from the data, never assume 10,000.
CIFAR_BATCH_SIZES = (8, 9, 10, 11, 12)
CIFAR_TEST_SIZE = 7


def batch_dict(rows: np.ndarray, labels: np.ndarray, label: str) -> dict[bytes, Any]:
    return {
        b"batch_label": label.encode(),
        b"labels": [int(v) for v in labels],
        b"data": rows,
        # A byte above 0x7f: only a latin-1 reader gets through it.
        b"filenames": [b"caf\xe9_%d.png" % i for i in range(len(labels))],
    }


def make_small_cifar(root: Path, seed: int = 0) -> SmallCifar:
    rng = np.random.default_rng(seed)
    n_train = sum(CIFAR_BATCH_SIZES)
    train_rows = rng.integers(0, 256, size=(n_train, 3072), dtype=np.uint8)
    train_labels = rng.integers(0, 10, size=n_train).astype(np.int64)
    test_rows = rng.integers(0, 256, size=(CIFAR_TEST_SIZE, 3072), dtype=np.uint8)
    test_labels = rng.integers(0, 10, size=CIFAR_TEST_SIZE).astype(np.int64)

    files: dict[str, bytes] = {}
    start = 0
    for i, size in enumerate(CIFAR_BATCH_SIZES, start=1):
        rows = train_rows[start : start + size]
        files[f"data_batch_{i}"] = py2_pickle(
            batch_dict(rows, train_labels[start : start + size], f"training batch {i} of 5")
        )
        start += size
    files["test_batch"] = py2_pickle(batch_dict(test_rows, test_labels, "testing batch 1 of 1"))
    files["batches.meta"] = py2_pickle(
        {b"num_cases_per_batch": 10, b"label_names": CIFAR_LABEL_NAMES, b"num_vis": 3072}
    )
    files["readme.html"] = b"<html>small test copy</html>"

    batches_dir = root / "cifar-10-batches-py"
    batches_dir.mkdir(parents=True)
    for name, data in files.items():
        (batches_dir / name).write_bytes(data)
    archive = root / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        # Not in name order, like the official archive.
        for name in reversed(list(files)):
            tar.add(batches_dir / name, arcname=f"cifar-10-batches-py/{name}")
    return SmallCifar(root, batches_dir, archive, train_rows, train_labels, test_rows, test_labels)
