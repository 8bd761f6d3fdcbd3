"""Alembic migration scripts of the server database (env.py, versions/).

Run through `c11.server.migrate` or `c11 db upgrade`; revisions are numbered 0001, 0002, ...
"""
