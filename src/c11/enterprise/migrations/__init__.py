"""Alembic migration scripts of the enterprise key server database; revisions e0001, e0002, ..."""
