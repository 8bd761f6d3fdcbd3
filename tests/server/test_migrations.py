"""Migrations on SQLite and PostgreSQL: an empty database, and one at the previous revision, reach head;
the result matches the models; `c11 db upgrade` / `c11 db current` work on the configured database."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from srvkit import BACKENDS, run_cli

from c11.server import migrate
from c11.server.db import make_engine
from c11.server.models import Base


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_empty_database(backend, empty_db):
    url = empty_db(backend)
    assert migrate.current(url) is None
    migrate.upgrade(url)
    assert migrate.current(url) == migrate.head()
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            diff = compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), Base.metadata)
        assert diff == [], "models and migrations disagree"
    finally:
        engine.dispose()
    migrate.upgrade(url)  # idempotent


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_from_previous_revision_keeps_data(backend, empty_db):
    url = empty_db(backend)
    migrate.upgrade(url, "0001")
    engine = make_engine(url)
    try:
        with engine.begin() as c:
            c.execute(
                sa.text("INSERT INTO users (id, email, created_at) VALUES ('u1', 'old@example.com', :now)"),
                {"now": "2026-01-01 00:00:00+00:00"},
            )
            assert "login_attempts" not in sa.inspect(c).get_table_names()
        migrate.upgrade(engine)
        with engine.connect() as c:
            assert c.execute(sa.text("SELECT email FROM users WHERE id='u1'")).scalar() == "old@example.com"
            assert {"login_attempts", "oidc_identities"} <= set(sa.inspect(c).get_table_names())
    finally:
        engine.dispose()
    assert migrate.current(url) == migrate.head()


@pytest.mark.parametrize("backend", BACKENDS)
def test_db_cli_on_configured_database(backend, empty_db, tmp_path):
    env = {"C11_DATABASE_URL": empty_db(backend)}
    r = run_cli(["db", "current"], tmp_path, env)
    assert r.returncode == 0 and r.stdout.startswith("empty"), r.stderr
    r = run_cli(["db", "upgrade", "--revision", "0001"], tmp_path, env)
    assert r.returncode == 0 and "0001" in r.stdout, r.stderr
    assert "behind" in run_cli(["db", "current"], tmp_path, env).stdout
    r = run_cli(["db", "upgrade"], tmp_path, env)
    assert r.returncode == 0 and migrate.head() in r.stdout
    assert "up to date" in run_cli(["db", "current"], tmp_path, env).stdout


def test_db_cli_uses_data_dir(tmp_path):
    r = run_cli(["db", "upgrade", "--data-dir", str(tmp_path / "d")], tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "d" / "c11.db").exists()
