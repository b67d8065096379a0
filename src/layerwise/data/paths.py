"""Where dataset files live, and whether we may download them.

The data folder of a dataset is, in order of precedence:

1. the ``data_dir`` argument (the CLI's ``--data-dir``),
2. the environment variable ``LAYERWISE_DATA_DIR``,
3. the per-user cache, ``$XDG_CACHE_HOME/layerwise`` or ``~/.cache/layerwise``,

plus a per-dataset subfolder (``mnist/``, ``cifar10/``). A folder given by the user (1 or 2)
that already holds the dataset's files directly is used as it is, so ``--data-dir`` may point
straight at a folder with the four MNIST files.

Downloads are refused when ``LAYERWISE_OFFLINE`` is set to a true value (``1``, ``true``,
``yes``, ``on``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from layerwise.errors import ConfigError

__all__ = [
    "ENV_DATA_DIR",
    "ENV_OFFLINE",
    "cache_root",
    "is_offline",
    "resolve_data_dir",
]

ENV_DATA_DIR = "LAYERWISE_DATA_DIR"
ENV_OFFLINE = "LAYERWISE_OFFLINE"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def cache_root() -> Path:
    """The per-user cache folder: ``$XDG_CACHE_HOME/layerwise`` or ``~/.cache/layerwise``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says a relative value is invalid and must be ignored.
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "layerwise"
    return Path.home() / ".cache" / "layerwise"


def is_offline() -> bool:
    """Whether ``LAYERWISE_OFFLINE`` forbids downloads.

    Raises:
        ValueError: the variable holds something that is neither true nor false.
    """
    value = os.environ.get(ENV_OFFLINE, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(
        f"{ENV_OFFLINE}={os.environ[ENV_OFFLINE]!r} is not understood; "
        "expected 1/true/yes/on or 0/false/no/off"
    )


def _user_folder(value: str | os.PathLike[str], source: str) -> Path:
    if isinstance(value, str) and not value.strip():
        raise ConfigError(f"{source} is empty; expected a folder path")
    folder = Path(value).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{source}={str(folder)!r} is a file; expected a folder")
    return folder


def resolve_data_dir(
    subfolder: str,
    markers: Iterable[str],
    data_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """The folder that holds (or will hold) one dataset's files.

    Args:
        subfolder: the dataset's subfolder name, e.g. ``"mnist"``.
        markers: file or folder names whose presence means "this folder holds the dataset".
        data_dir: an explicit folder, or None for ``LAYERWISE_DATA_DIR`` then the cache.

    Returns:
        A path that may not exist yet (it is created only when something is downloaded).

    Raises:
        ValueError: the explicit or environment folder is empty or names a file.
    """
    if data_dir is not None:
        base = _user_folder(data_dir, "data_dir")
    elif os.environ.get(ENV_DATA_DIR):
        base = _user_folder(os.environ[ENV_DATA_DIR], ENV_DATA_DIR)
    else:
        # The cache is ours: it always has one subfolder per dataset.
        return cache_root() / subfolder
    if any((base / name).exists() for name in markers):
        return base
    return base / subfolder
