"""`c11 db backup|restore|activate|rotate-log-key|rotate-token-key`: operator commands on a server's data folder.

See docs/server.md, "Backup and restore" and "Key rotation". They act on the configured database and data folder
(--data-dir, --config, C11_DATA_DIR, C11_DATABASE_URL), like `c11 serve`; the server may keep running.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from c11.cli._server_options import server_options

_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@contextmanager
def _log_service(data_dir: str | None, config_file: str | None) -> Iterator[Any]:
    """The log service of the configured server (database at the newest revision)."""
    from c11.errors import ConfigError
    from c11.server import migrate
    from c11.server.config import load_config
    from c11.server.context import ServerContext
    from c11.server.db import Database
    from c11.server.logsrv.service import log_service

    config = load_config({"data_dir": data_dir, "config_file": config_file})
    if not (config.data_dir / "secrets" / "log.key").is_file():
        raise ConfigError(f"{config.data_dir} has no secrets/log.key: pass the server's --data-dir (or --config)")
    rev, head = migrate.current(config.database_url), migrate.head()
    if rev != head:
        raise ConfigError(
            f"the database is at revision {rev or 'empty'}, not {head}: pass the server's --data-dir/--config, "
            "or run `c11 db upgrade` first"
        )
    db = Database(config.database_url)
    ctx = ServerContext(config=config, db=db, passwords=None)  # type: ignore[arg-type]
    try:
        svc = log_service(ctx)
        yield svc
        svc.close()
    finally:
        db.dispose()


def _emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    from c11.cli._output import emit_json

    if as_json:
        emit_json(data)
    else:
        click.echo(text)


@click.command("backup")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@server_options
@_JSON
def backup_cmd(out: Path, data_dir: str | None, config_file: str | None, as_json: bool) -> None:
    """Write a backup of the server (database + secrets folder) to OUT, a new tar file (mode 0600).

    \b
    The server may keep running (SQLite online backup API, or pg_dump). Keep the file as safe as the
    server's secret keys: it holds them. Example:
      c11 db backup /backups/c11-$(date +%F).tar --data-dir /var/lib/c11
    Restore: c11 db restore FILE --data-dir NEW-FOLDER (docs/server.md, "Backup and restore").
    """
    from c11.server.backup import backup
    from c11.server.config import load_config

    config = load_config({"data_dir": data_dir, "config_file": config_file})
    note = None
    with _log_service(data_dir, config_file) as svc, svc.db.session() as s:
        try:
            _, note = svc.current_checkpoint(s)
        except Exception:  # a frozen log still gets backed up; the manifest then has no checkpoint
            note = None
    manifest = backup(config, out, checkpoint=note, progress=lambda m: click.echo(m, err=True))
    _emit(
        as_json,
        {"file": str(out), **manifest.to_dict()},
        f"backup written to {out}: {manifest.database} database at revision {manifest.revision}, "
        f"{manifest.log_size} log entries, secrets {', '.join(manifest.secrets)}",
    )


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@server_options
@_JSON
def restore_cmd(archive: Path, data_dir: str | None, config_file: str | None, as_json: bool) -> None:
    """Restore a backup made by `c11 db backup` into a fresh data folder and an empty database.

    \b
    Then start the server: it serves the restored log read-only (no appends, nothing signed past the
    backup) until `c11 db activate`, so a restore drill never signs over what clients of the live server saw.
    Log entries written after the backup are gone from this server: it refuses to append or to sign
    checkpoints beyond the backup if the high-water mark file (C11_LOG_HIGHWATER_FILE) or a client shows it
    signed more (docs/server.md, "Backup and restore").
    """
    from c11.server import migrate
    from c11.server.backup import restore
    from c11.server.config import load_config

    config = load_config({"data_dir": data_dir, "config_file": config_file})
    manifest = restore(config, archive, progress=lambda m: click.echo(m, err=True))
    migrate.upgrade(config.database_url, "head")
    _emit(
        as_json,
        {"restored": str(archive), **manifest.to_dict()},
        f"restored {archive} into {config.data_dir}: {manifest.log_size} log entries (backup of {manifest.created}); "
        "read-only until `c11 db activate`",
    )


@click.command("activate")
@server_options
@_JSON
def activate_cmd(data_dir: str | None, config_file: str | None, as_json: bool) -> None:
    """Let a restored server append and sign again (after `c11 db restore`).

    A restored server starts inactive: a restore drill or a staging copy never signs checkpoints that clients
    of the real server could be shown. Activate it when it replaces the live server, after checking that its
    high-water mark (C11_LOG_HIGHWATER_FILE, the mark the old machine kept) holds no more than the restored
    tree (docs/server.md, "Backup and restore"). Refused while the mark or a reported fork shows entries lost.
    """
    from c11.errors import ConfigError
    from c11.server.logsrv.highwater import INACTIVE_FILE

    with _log_service(data_dir, config_file) as svc:
        marker = svc.highwater.inactive_path or (Path(svc.secrets).parent / INACTIVE_FILE)
        with svc.db.session() as s:
            size, _root = svc.state(s)
        mark = svc.highwater.read()
        if svc.highwater.read_fork() is not None or (mark is not None and mark.checkpoint.size > size):
            raise ConfigError(
                f"not activated: {svc.frozen or 'the high-water mark shows more entries than this tree'}; "
                "restore a newer backup"
            )
        existed = marker.exists()
        marker.unlink(missing_ok=True)
    _emit(
        as_json,
        {"activated": existed, "log_size": size, "mark": mark.checkpoint.size if mark else None},
        f"{'activated' if existed else 'already active'}: {size} log entries"
        + (f", high-water mark {mark.checkpoint.size}" if mark else ", no high-water mark"),
    )


@click.command("rotate-log-key")
@server_options
@_JSON
def rotate_log_key(data_dir: str | None, config_file: str | None, as_json: bool) -> None:
    """Replace the transparency log's signing key, without downtime.

    The old and new keys sign a hand-over (docs/log.md section 9), appended to the log; running servers
    switch to the new key within a second; clients that pinned the old key follow the hand-over.
    """
    from c11.errors import ConfigError
    from c11.server.problems import Problem

    with _log_service(data_dir, config_file) as svc:
        try:
            handover, index = svc.rotate_key()
        except Problem as p:  # a frozen log (docs/server.md, "Backup and restore") appends nothing
            raise ConfigError(p.detail or p.title) from None
    _emit(
        as_json,
        {"old": str(handover.old), "new": str(handover.new), "log_index": index},
        f"the log key is now {handover.new} (hand-over from {handover.old.name}+{handover.old.key_id:08x} "
        f"recorded at log index {index})",
    )


@click.command("rotate-token-key")
@server_options
@click.option(
    "--revoke-now",
    is_flag=True,
    help="The old key verifies nothing from now on (it leaked): tokens it signed stop working at once.",
)
@_JSON
def rotate_token_key(data_dir: str | None, config_file: str | None, revoke_now: bool, as_json: bool) -> None:
    """Replace the key that signs shard store tokens, without downtime.

    New tokens use the new key; tokens signed with the old one stay valid until they expire (at most an
    hour), unless --revoke-now; shard stores that pinned the old key follow the hand-over it signs
    (docs/shards.md).
    """
    from c11._web import shard_tokens
    from c11.server.config import load_config

    config = load_config({"data_dir": data_dir, "config_file": config_file})
    handover = shard_tokens.rotate_key(config.data_dir / "secrets", revoke_now=revoke_now)
    _emit(
        as_json,
        {"old": handover.old_kid, "new": handover.new_kid, "at": handover.at, "revoked": revoke_now},
        f"store tokens are now signed with key {handover.new_kid}; tokens of {handover.old_kid} "
        + ("no longer verify" if revoke_now else "stay valid until they expire"),
    )
