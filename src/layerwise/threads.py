"""One setting for the threads layerwise computes with.

The matrix products run in NumPy's BLAS (OpenBLAS, MKL, ...), whose thread count is set
through threadpoolctl (which scikit-learn already depends on); the fused update rules
(:mod:`layerwise.fused`) always run on one thread beside them (measured: more fight BLAS for
the cores). :func:`set_threads` takes the number from an argument or the
``LAYERWISE_NUM_THREADS`` environment variable; given neither, nothing is changed and BLAS
keeps its own default (every core, unless ``OMP_NUM_THREADS`` says otherwise). ``layerwise
train --threads N`` calls it and records the number in use in config.json.
"""

from __future__ import annotations

import os
from typing import Any

from layerwise.errors import ConfigError

#: The environment variable read when no number is given.
ENV = "LAYERWISE_NUM_THREADS"

_limits: Any = None  # the threadpoolctl controller in force (kept so it is not collected)


def available() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (macOS, Windows)
        return os.cpu_count() or 1


def resolve(threads: Any = None) -> int:
    """``threads``, else ``$LAYERWISE_NUM_THREADS``, else every core; a positive integer."""
    where = "threads"
    if threads is None:
        threads = os.environ.get(ENV)
        where = ENV
        if threads is None or not str(threads).strip():
            return available()
    try:
        value = int(str(threads).strip()) if isinstance(threads, str) else threads
    except ValueError:
        value = None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"{where} must be a positive number of threads; got {threads!r}", "threads"
        )
    return value


def in_use() -> int:
    """The threads BLAS uses now (the most of any BLAS library loaded)."""
    from threadpoolctl import threadpool_info

    counts = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    return max(counts, default=1)


def set_threads(threads: Any = None) -> int:
    """Use ``threads`` threads for BLAS from now on (None: the environment variable, else
    leave BLAS at its default); returns the number in use."""
    global _limits
    if threads is None and not os.environ.get(ENV, "").strip():
        return in_use()
    n = resolve(threads)
    from threadpoolctl import threadpool_limits

    _limits = threadpool_limits(n)
    return n
