"""Databases for the worker tests: SQLite files and PostgreSQL schemas (`c11_notify_<hex>` in the `test`
database at 127.0.0.1:5432), both brought to the newest schema by the server's migrations."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get("C11_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pg_unreachable_reason() -> str | None:
    try:
        engine = sa.create_engine(PG_ADMIN_URL)
        with engine.connect() as c:
            c.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as e:  # noqa: BLE001 - any connection problem
        return f"{type(e).__name__}: {e}"


class Schemas:
    def __init__(self) -> None:
        self._admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        self.names: list[str] = []

    def new(self) -> str:
        name = f"c11_notify_{uuid.uuid4().hex[:12]}"
        with self._admin.connect() as c:
            c.execute(sa.text(f'CREATE SCHEMA "{name}"'))
        self.names.append(name)
        return f"{PG_ADMIN_URL}?options=-csearch_path%3D{name}"

    def drop_all(self) -> None:
        with self._admin.connect() as c:
            for name in self.names:
                c.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        self._admin.dispose()


def migrated_engine(url: str) -> sa.Engine:
    from c11.server import migrate
    from c11.server.db import make_engine

    engine = make_engine(url)
    migrate.upgrade(engine)
    return engine


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'c11.db'}"

