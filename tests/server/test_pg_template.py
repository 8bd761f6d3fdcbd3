"""PostgreSQL test schemas of migrating servers start as copies of a schema migrated once per test process
(srvkit.pg_from_template): a copy must be what the migrations make, to the byte of its `pg_dump` (schema name
aside), rows included. tests/server/test_migrations.py runs the migrations themselves."""

from __future__ import annotations

import re

from srvkit import PG_ADMIN_URL, pg_dump, pg_from_template

from c11.server import migrate

_TIMESTAMP = re.compile(r"'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?([+-]\d\d(:\d\d)?)?'")


def _dump(url: str, *args: str) -> str:
    """The schema's dump with its name replaced and without psql's per-dump \\restrict key lines."""
    name = url.rsplit("%3D", 1)[1]
    lines = [line for line in pg_dump(name, *args).splitlines() if not line.startswith("\\")]
    return "\n".join(lines).replace(name, "<schema>")


def test_template_copy_dumps_as_a_freshly_migrated_schema(pg_schemas: object) -> None:
    fresh, copy = pg_schemas.new(), pg_schemas.new()  # type: ignore[attr-defined]
    migrate.upgrade(fresh)
    pg_from_template(copy)
    assert migrate.current(copy) == migrate.head()

    # one dump of each: DDL (tables, columns, defaults, sequences, indexes, constraints) and the rows the migrations
    # insert; a timestamp they write (now()) is the template's time in a copy
    fresh_dump = _TIMESTAMP.sub("'<timestamp>'", _dump(fresh, "--column-inserts"))
    assert "CREATE TABLE <schema>.alembic_version" in fresh_dump and "CREATE INDEX" in fresh_dump
    assert f"VALUES ('{migrate.head()}')" in fresh_dump and fresh_dump.count("INSERT INTO") >= 2
    assert _TIMESTAMP.sub("'<timestamp>'", _dump(copy, "--column-inserts")) == fresh_dump

    pg_from_template(copy)  # a schema with tables is left as it is (a second copy would fail on its CREATE TABLEs)
    pg_from_template(f"{PG_ADMIN_URL}?options=-csearch_path%3Dpublic")  # as is any other database
    assert migrate.current(copy) == migrate.head()
