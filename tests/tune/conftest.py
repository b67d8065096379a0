"""Helpers for the ``layerwise tune`` tests: tiny nets on the embedded digits, 1-3 epochs.

The ``[tune]`` extra (optuna, dask[distributed]) is part of ``[dev]``; without it these tests
skip locally and fail under CI (``CI=true``), where they must run.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from typing import Any

import pytest

_MISSING = [m for m in ("optuna", "distributed") if importlib.util.find_spec(m) is None]


@pytest.fixture(autouse=True)
def _tune_extra_installed() -> None:
    if _MISSING:
        message = f"the [tune] extra is not installed (missing {', '.join(_MISSING)})"
        if under_ci():
            pytest.fail(message)
        pytest.skip(message)


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1"}


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real PostgreSQL server from the ``pgserver`` wheel (which bundles its binaries),
    started in a temporary folder, listening on a unix socket only, stopped at the end.
    Without pgserver the tests that use it skip locally and fail under CI, where ``[dev]``
    installs it."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(tmp_path_factory.mktemp("run")))
    try:
        import pgserver
        import psycopg2  # noqa: F401  (the driver the URLs name)
    except ImportError as e:
        if under_ci():
            pytest.fail(f"pgserver and psycopg2 are part of [dev]: {e}")
        pytest.skip(f"no PostgreSQL for the tests: {e}")
    server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    try:
        yield server
    finally:
        server.cleanup()
