"""`c11 db upgrade` and `c11 db current`: manage the server database schema by hand.

They act on the configured database (--data-dir, --config, C11_DATA_DIR, C11_DATABASE_URL).
"""

from __future__ import annotations

import click

from c11.cli._server_options import server_options


def _url(data_dir: str | None, config_file: str | None) -> str:
    from c11.server.config import load_config

    config = load_config({"data_dir": data_dir, "config_file": config_file})
    if config.database_url.startswith("sqlite:"):
        config.data_dir.mkdir(parents=True, exist_ok=True)
    return config.database_url


@click.group("db")
def db() -> None:
    """Manage the server database: schema (Alembic migrations), backup and restore, key rotation."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@server_options
def upgrade(revision: str, data_dir: str | None, config_file: str | None) -> None:
    """Apply migrations up to the newest revision (or --revision)."""
    from c11.server import migrate

    url = _url(data_dir, config_file)
    before = migrate.current(url)
    migrate.upgrade(url, revision)
    after = migrate.current(url)
    click.echo(f"database at revision {after}" + (f" (was {before or 'empty'})" if before != after else ""))


@db.command("current")
@server_options
def current(data_dir: str | None, config_file: str | None) -> None:
    """Print the database's revision and whether it is the newest."""
    from c11.server import migrate

    rev, head = migrate.current(_url(data_dir, config_file)), migrate.head()
    state = "up to date" if rev == head else f"behind (newest: {head}); run `c11 db upgrade`"
    click.echo(f"{rev or 'empty'} ({state})")


def _add_operations() -> None:
    from c11.cli.db_ops import activate_cmd, backup_cmd, restore_cmd, rotate_log_key, rotate_token_key

    for command in (backup_cmd, restore_cmd, activate_cmd, rotate_log_key, rotate_token_key):
        db.add_command(command)


_add_operations()
