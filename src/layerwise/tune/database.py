"""Database servers as a study's storage: recognising their URLs and printing them safely.

``layerwise tune --storage postgresql://USER:PASSWORD@HOST/DB`` (or ``mysql://...``, with an
optional SQLAlchemy driver, ``postgresql+psycopg2://...``) keeps the study in that server
through Optuna's RDBStorage (:mod:`layerwise.tune.study`). No Optuna here, so the command line
can check the flag before the ``[tune]`` extra is imported.
"""

from __future__ import annotations

import re

__all__ = ["is_database_url", "redact_url"]

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
