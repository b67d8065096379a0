"""Database servers as a study's storage: recognising their URLs and printing them safely.

``layerwise tune --storage postgresql://USER:PASSWORD@HOST/DB`` (or ``mysql://...``, with an
optional SQLAlchemy driver, ``postgresql+psycopg2://...``) keeps the study in that server
through Optuna's RDBStorage (:mod:`layerwise.tune.study`); :func:`persist` carries the search
over a server that goes away for a moment (a restart). Optuna is imported only inside
:func:`persist`, so the command line can check the flag before the ``[tune]`` extra is.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from layerwise.errors import LayerwiseError

__all__ = ["StorageLostError", "is_database_url", "persist", "redact_url"]

#: A database server's SQLAlchemy URL, e.g. postgresql+psycopg2://user:pw@host:5432/db.
_DATABASE_URL = re.compile(r"^(postgresql|mysql)(\+[a-z0-9_]+)?://", re.IGNORECASE)


def is_database_url(text: str | None) -> bool:
    """Whether ``text`` is a PostgreSQL or MySQL URL (``--storage``'s database servers)."""
    return text is not None and bool(_DATABASE_URL.match(text))


def redact_url(url: str) -> str:
    """``url`` with its password shown as ``***`` (safe to print and to keep in files)."""
    try:
        from sqlalchemy.engine import make_url

        return str(make_url(url).render_as_string(hide_password=True))
    except Exception:  # no SQLAlchemy, or an unparsable URL: say no more than its scheme
        return url.split("://", 1)[0] + "://..."


#: Seconds the search keeps retrying a database that stopped answering (a server restart).
RECONNECT_SECONDS = 60.0


class StorageLostError(LayerwiseError, RuntimeError):
    """The study's database stayed unreachable: the search stops; finished trials are kept."""


def _transient(error: BaseException) -> bool:
    """A database error that a reconnection may cure (the server restarted, the network)."""
    import optuna
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError  # Optuna's own

    if isinstance(error, optuna.exceptions.StorageInternalError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    return bool(error.connection_invalidated) or isinstance(
        error, (OperationalError, InterfaceError)
    )


def persist(
    what: str, fn: Callable[..., Any], *args: Any, seconds: float = RECONNECT_SECONDS
) -> Any:
    """``fn(*args)``, tried again while the database is away, for up to ``seconds``.

    With ``pool_pre_ping`` each try takes a fresh connection, so a server that comes back
    (a restart) is reconnected to; one that stays away ends the search with
    :class:`StorageLostError` and a message that says how to resume.
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            return fn(*args)
        except Exception as e:
            if not _transient(e):
                raise
            if time.monotonic() >= deadline:
                detail = " ".join(str(e.__cause__ or e).split())[:200]
                raise StorageLostError(
                    f"the study's database did not answer for {seconds:.0f} s while {what} "
                    f"({detail}); finished trials are kept in it: rerun the same command to "
                    "resume once the server is back"
                ) from None
            time.sleep(1.0)
