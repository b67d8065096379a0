"""Errors raised by the dataset loaders.

Every error a loader raises about a file or a download is a :class:`DatasetError`, so callers (the
CLI) can report them all the same way; the subclasses tell what went wrong. The messages are meant
to be shown to a user as they are: each names the file, what was expected and what to do.
"""

from __future__ import annotations

from layerwise.errors import LayerwiseError

__all__ = [
    "ChecksumError",
    "CorruptFileError",
    "DatasetError",
    "MissingDataError",
    "UnsafePickleError",
]


class DatasetError(LayerwiseError):
    """Base class of every dataset file or download problem."""


class MissingDataError(DatasetError):
    """Files are missing and could not be downloaded (offline, or every mirror failed)."""


class ChecksumError(DatasetError):
    """A file is present and readable but its digest is not the registered one."""


class CorruptFileError(DatasetError):
    """A file cannot be parsed: truncated gzip or payload, bad header, unexpected content."""


class UnsafePickleError(DatasetError):
    """A pickle referenced a global outside the small set a CIFAR-10 batch needs."""
