"""A restricted unpickler for the CIFAR-10 python batches.

Unpickling runs whatever callables a pickle names, so a plain ``pickle.load`` of a downloaded
file is code execution. The official CIFAR-10 batches (written by Python 2's cPickle with
NumPy 1) only need NumPy's array reconstructor, ``ndarray`` and ``dtype``; :class:`SafeUnpickler`
resolves exactly those (under both the NumPy 1 name ``numpy.core`` and the NumPy 2 name
``numpy._core``) and refuses every other global with :class:`UnsafePickleError`, before anything
is called.
"""

from __future__ import annotations

import io
import pickle
from typing import IO, Any

import numpy as np

from .errors import UnsafePickleError

__all__ = ["ALLOWED_GLOBALS", "SafeUnpickler", "safe_load", "safe_loads"]

# Taken from an array's own __reduce__ rather than imported by name: importing numpy.core
# under NumPy 2 warns, and this is the same function whichever name the pickle uses.
_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(0))[0]

#: (module, name) -> object: every global a CIFAR-10 batch may reference.
ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class SafeUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose ``find_class`` admits only :data:`ALLOWED_GLOBALS`.

    Python 2 byte strings are decoded as latin-1 (which NumPy's ``ndarray.__setstate__``
    turns back into the raw bytes), so dict keys such as ``'data'`` come back as ``str``.
    """

    def __init__(self, file: IO[bytes]) -> None:
        super().__init__(file, encoding="latin1")

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"refused to unpickle global {module}.{name}: a CIFAR-10 batch only needs "
                "numpy's _reconstruct, ndarray and dtype"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"refused persistent id {pid!r}: not used by CIFAR-10 batches")


def safe_load(file: IO[bytes]) -> Any:
    """Unpickle one object from a binary stream with :class:`SafeUnpickler`.

    Raises:
        UnsafePickleError: the pickle names a global outside :data:`ALLOWED_GLOBALS`.
        pickle.UnpicklingError, EOFError, ValueError, TypeError: the stream is not a valid
            pickle (callers turn these into :class:`CorruptFileError` with the file name).
    """
    return SafeUnpickler(file).load()


def safe_loads(data: bytes) -> Any:
    """:func:`safe_load` from bytes."""
    return safe_load(io.BytesIO(data))
