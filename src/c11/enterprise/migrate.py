"""Alembic for the enterprise key server's own schema (its own chain e0001..., version table ent_alembic_version)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine

SCRIPTS = Path(__file__).resolve().parent / "migrations"


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the enterprise key server's migrations up to `revision`."""
    with engine.begin() as conn:
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(SCRIPTS))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
