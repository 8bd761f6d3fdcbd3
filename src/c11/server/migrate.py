"""Alembic, configured in code: upgrade a database, read its revision, name the head revision.

The scripts ship inside the package (`c11/server/migrations`), so no alembic.ini is needed.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from c11.server.db import make_engine

SCRIPTS = Path(__file__).resolve().parent / "migrations"


def _config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(SCRIPTS))
    return cfg


def head() -> str:
    """The newest revision this build knows."""
    head_rev = ScriptDirectory.from_config(_config()).get_current_head()
    assert head_rev is not None
    return head_rev


def upgrade(target: str | Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` on a database given by URL or engine."""
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        with engine.begin() as conn:
            cfg = _config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        if isinstance(target, str):
            engine.dispose()


def current(target: str | Engine) -> str | None:
    """The revision a database is at (None for an empty database)."""
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        if isinstance(target, str):
            engine.dispose()
