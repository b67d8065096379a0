"""Importing TensorFlow and Keras on demand, with a one-line hint when they are missing.

Nothing in layerwise imports TensorFlow unless a framework twin is asked for. When the optional
extra is not installed, :func:`require_tensorflow` / :func:`require_keras` raise
:class:`FrameworkMissing` (an ImportError) whose message is one line ending in the install
command, never a traceback from deep inside an import.
"""

from __future__ import annotations

import os
from typing import Any

from layerwise.errors import LayerwiseError

INSTALL_HINT = "pip install 'layerwise[tf]'"


class FrameworkMissing(LayerwiseError, ImportError):
    """TensorFlow or Keras is not installed (or not usable); the message says how to fix it."""


def _configure_environment() -> None:
    # Quiet TensorFlow's C++ start-up logging and pin Keras to the TensorFlow backend; a user's
    # own settings win. LAYERWISE_TF_THREADS caps TensorFlow's thread pools (set before import).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    threads = os.environ.get("LAYERWISE_TF_THREADS")
    if threads:
        os.environ.setdefault("TF_NUM_INTRAOP_THREADS", threads)
        os.environ.setdefault("TF_NUM_INTEROP_THREADS", threads)


def require_tensorflow() -> Any:
    """The ``tensorflow`` module, or FrameworkMissing with the install hint."""
    _configure_environment()
    try:
        import tensorflow as tf
    except ImportError as e:
        raise FrameworkMissing(
            f"TensorFlow is not installed ({e.msg if hasattr(e, 'msg') else e}); "
            f"install the optional extra: {INSTALL_HINT}"
        ) from None
    return tf


def require_keras() -> Any:
    """The ``keras`` (3) module on the TensorFlow backend, or FrameworkMissing with the hint."""
    require_tensorflow()
    try:
        import keras
    except ImportError as e:
        raise FrameworkMissing(
            f"Keras is not installed ({e.msg if hasattr(e, 'msg') else e}); "
            f"install the optional extra: {INSTALL_HINT}"
        ) from None
    version = getattr(keras, "__version__", "0")
    if int(version.split(".")[0]) < 3:
        raise FrameworkMissing(f"layerwise needs Keras 3, found {version}; {INSTALL_HINT}")
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise FrameworkMissing(
            f"layerwise's Keras twin needs the TensorFlow backend; KERAS_BACKEND is {backend!r} "
            "(unset it or set KERAS_BACKEND=tensorflow)"
        )
    return keras
