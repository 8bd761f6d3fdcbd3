"""Alembic environment of the enterprise key server: runs on the connection `c11.enterprise.migrate` passes in."""

from __future__ import annotations

from alembic import context

from c11.enterprise.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through c11.enterprise.migrate (c11 enterprise-keyserver upgrade)")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table="ent_alembic_version",
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
