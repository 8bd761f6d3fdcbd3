"""Databases for the worker tests: SQLite files and PostgreSQL schemas (the server tests' `PgSchemas`,
in the `test` database at 127.0.0.1:5432), both brought to the newest schema by the server's migrations."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

# srvkit (tests/server) is on the path through tests/conftest.py.
from srvkit import PG_ADMIN_URL, db_from_template, pg_unreachable_reason  # noqa: F401
from srvkit import PgSchemas as Schemas  # noqa: F401


def migrated_engine(url: str) -> sa.Engine:
    """An engine on `url` at the newest revision (a new SQLite file or PostgreSQL test schema starts as a copy of
    a migrated one)."""
    from c11.server import migrate
    from c11.server.db import make_engine

    db_from_template(url)
    engine = make_engine(url)
    migrate.upgrade(engine)
    return engine


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'c11.db'}"
