"""The declarative base every server table shares; the engine, sessions and column types are `c11._web.db`'s.

One `Database` per application (no module-level engine); SQLite gets WAL, foreign keys and a busy timeout.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from c11._web.db import Database, UTCDateTime, make_engine, new_id, utcnow

__all__ = ["Base", "Database", "UTCDateTime", "make_engine", "new_id", "utcnow"]

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of all server tables (one metadata, so one migration history)."""

    metadata = MetaData(naming_convention=_NAMING)
