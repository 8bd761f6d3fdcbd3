"""Alembic environment of the protector's state database: runs on the connection `c11.protector.state` passes in."""

from __future__ import annotations

from alembic import context

from c11.protector.state import VERSION_TABLE, Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the protector's migrations through c11.protector.state.open_state")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
