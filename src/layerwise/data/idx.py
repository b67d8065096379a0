"""The IDX file format of the MNIST distribution.

An IDX file is a big-endian header then the data in C order:

- magic: 4 bytes ``00 00 TT NN``: two zero bytes, the element type ``TT`` (``08`` uint8,
  ``09`` int8, ``0B`` int16, ``0C`` int32, ``0D`` float32, ``0E`` float64) and the number of
  dimensions ``NN``;
- ``NN`` sizes, each a big-endian uint32;
- the elements, big-endian, exactly the product of the sizes of them.

So MNIST images start ``0x00000803`` (uint8, 3-d: N x 28 x 28) and labels ``0x00000801``.
"""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path
from typing import IO, Any

import numpy as np

from .compression import open_payload
from .errors import CorruptFileError, MissingDataError

__all__ = ["IDX_TYPES", "read_idx"]

#: IDX type code -> element dtype as stored (big-endian).
IDX_TYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CHUNK = 1 << 20


def _read_exact(stream: IO[bytes], n: int) -> bytes:
    """``n`` bytes, or fewer only where the stream ends."""
    chunks: list[bytes] = []
    remaining = n
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _read_header(stream: IO[bytes], path: Path) -> tuple[int, np.dtype[Any], tuple[int, ...]]:
    head = _read_exact(stream, 4)
    if len(head) < 4:
        raise CorruptFileError(f"{path}: {len(head)} bytes, too short for an IDX header")
    (magic,) = struct.unpack(">I", head)
    type_code, ndim = head[2], head[3]
    if head[:2] != b"\0\0" or type_code not in IDX_TYPES or ndim == 0:
        raise CorruptFileError(
            f"{path}: bad IDX magic number 0x{magic:08x}; expected 0x0000TTNN with type TT in "
            f"{{{', '.join(f'{code:02x}' for code in IDX_TYPES)}}} and NN >= 1 dimensions "
            "(MNIST images are 0x00000803, labels 0x00000801)"
        )
    raw_dims = _read_exact(stream, 4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise CorruptFileError(
            f"{path}: truncated IDX header: {ndim} dimensions need {4 * ndim} bytes of sizes, "
            f"found {len(raw_dims)}"
        )
    return magic, IDX_TYPES[type_code], struct.unpack(f">{ndim}I", raw_dims)


def _read_payload(stream: IO[bytes], path: Path, nbytes: int) -> np.ndarray:
    try:
        buffer = np.empty(nbytes, dtype=np.uint8)
    except (MemoryError, ValueError) as err:
        raise CorruptFileError(f"{path}: IDX header claims {nbytes} bytes of data") from err
    view = buffer.data  # a writable memoryview of the array's bytes
    filled = 0
    # Read in bounded pieces straight into the array: no second copy of the payload, and a
    # header that lies about the size cannot make a gzip stream allocate it all at once.
    while filled < nbytes:
        got = stream.readinto(view[filled : filled + _CHUNK])  # type: ignore[attr-defined]
        if not got:
            raise CorruptFileError(
                f"{path}: truncated IDX payload: the header promises {nbytes} bytes of data, "
                f"the file holds {filled}"
            )
        filled += got
    if _read_exact(stream, 1):
        raise CorruptFileError(f"{path}: unexpected bytes after the {nbytes}-byte IDX payload")
    return buffer


def read_idx(path: str | os.PathLike[str], *, expected_magic: int | None = None) -> np.ndarray:
    """Read an IDX file, gzip-compressed or raw (detected from its first bytes).

    Args:
        path: the file.
        expected_magic: if given, the magic number the file must have (e.g. ``0x00000803``).

    Returns:
        An array of shape ``dims`` (e.g. (60000, 28, 28) for MNIST training images) in the
        file's element type, native byte order, C-contiguous and writable.

    Raises:
        MissingDataError: no such file.
        CorruptFileError: bad or unexpected magic number, truncated header or payload, trailing
            bytes, or a truncated/damaged gzip stream; the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingDataError(f"{path}: no such IDX file")
    with open_payload(path) as stream:
        magic, dtype, dims = _read_header(stream, path)
        if expected_magic is not None and magic != expected_magic:
            raise CorruptFileError(
                f"{path}: IDX magic number is 0x{magic:08x}, expected 0x{expected_magic:08x}"
            )
        buffer = _read_payload(stream, path, math.prod(dims) * dtype.itemsize)
    array = buffer.view(dtype).reshape(dims)
    if dtype.byteorder == ">":
        array = array.astype(dtype.newbyteorder("="))
    return array
