"""Alembic environment: runs migrations on the connection `c11.server.migrate` passes in.

Offline (SQL script) mode is not supported; use `c11 db upgrade`.
"""

from __future__ import annotations

from alembic import context

from c11.server.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through c11.server.migrate (c11 db upgrade)")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
