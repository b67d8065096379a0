"""Open a file's payload, gunzipping it when it is gzip-compressed.

Whether a file is compressed is decided by its first two bytes, not its name, so a raw IDX file
named ``.gz`` (or a gzip one without the suffix) is still read correctly. A truncated or damaged
gzip stream becomes a :class:`CorruptFileError` naming the file; it is never half-read silently.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from .errors import CorruptFileError

__all__ = ["is_gzip", "open_payload"]

_GZIP_MAGIC = b"\x1f\x8b"
# What the gzip module raises on damaged input: EOFError when the stream stops early,
# BadGzipFile on a bad header or CRC/length trailer, zlib.error on bad deflate data.
_GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


def is_gzip(path: str | os.PathLike[str]) -> bool:
    """Whether the file starts with the gzip magic bytes ``1f 8b``."""
    with open(path, "rb") as f:
        return f.read(2) == _GZIP_MAGIC


@contextmanager
def open_payload(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary stream of the file's content, decompressed when the file is gzip.

    Raises:
        CorruptFileError: (while reading) the gzip stream is truncated or damaged.
    """
    path = Path(path)
    if not is_gzip(path):
        with open(path, "rb") as raw:
            yield raw
        return
    try:
        with gzip.open(path, "rb") as stream:
            yield stream  # type: ignore[misc]
    except _GZIP_ERRORS as err:
        raise CorruptFileError(
            f"{path}: truncated or corrupt gzip file ({err}); delete it and fetch it again"
        ) from err
