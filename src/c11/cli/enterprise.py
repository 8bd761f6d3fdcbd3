"""`c11 enterprise-keyserver`: run the organization's enterprise key server and manage its members and master key.

The server keeps members' private keys wrapped under a master key in the organization's HSM (docs/enterprise.md).
"""

from __future__ import annotations

import json
from typing import Any

import click

from c11.enterprise.config import settings_help

_EPILOG = (
    "\b\nConfiguration (environment variables; the same keys, lower case, in a TOML --config file):\n"
    + "\n".join(settings_help().splitlines())
)
_CTX = {"max_content_width": 200}


def _options(f: Any) -> Any:
    f = click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML file [C11E_CONFIG_FILE].")(
        f
    )
    return click.option("--data-dir", type=click.Path(file_okay=False), help="Data folder [C11E_DATA_DIR].")(f)


def _config(data_dir: str | None, config_file: str | None, **kw: Any) -> Any:
    from c11.enterprise.config import load_config

    return load_config({"data_dir": data_dir, "config_file": config_file, **kw})


@click.group("enterprise-keyserver", epilog=_EPILOG, context_settings=_CTX)
def enterprise_keyserver() -> None:
    """The enterprise key server: members' keys in your HSM, released to your IdP's members only.

    \b
    Start:   c11 enterprise-keyserver kek create && c11 enterprise-keyserver serve
    Members: c11 enterprise-keyserver member add ann@corp.example
    """


@enterprise_keyserver.command("serve", epilog=_EPILOG, context_settings=_CTX)
@click.option("--host", default=None, help="Address to listen on [C11E_HOST, default 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port to listen on [C11E_PORT, default 8470].")
@_options
def serve(host: str | None, port: int | None, data_dir: str | None, config_file: str | None) -> None:
    """Run the enterprise key server (migrates its database at start)."""
    import gc
    import logging
    import sys

    import uvicorn

    from c11.enterprise import open_services
    from c11.enterprise.app import create_app

    gc.set_threshold(50_000, 50, 1000)  # fewer full collections under load: a shorter latency tail (as c11 serve)
    config = _config(data_dir, config_file, host=host, port=port)
    svc = open_services(config)  # a wrong PIN or a missing master key fails here, in one line
    with svc.db.engine.connect():
        pass
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter('{"time":"%(asctime)s","level":"%(levelname)s","log":%(message)s}'))
    log = logging.getLogger("c11.enterprise")
    log.addHandler(handler)
    log.setLevel(config.log_level.upper())
    log.propagate = False
    click.echo(
        f"c11: enterprise key server on http://{config.host}:{config.port} (master key {svc.ring.current.kek_id})",
        err=True,
    )
    uvicorn.run(
        create_app(svc),
        host=config.host,
        port=config.port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )


@enterprise_keyserver.command("upgrade", context_settings=_CTX)
@_options
def upgrade(data_dir: str | None, config_file: str | None) -> None:
    """Apply the database migrations (serve does this too)."""
    from c11._web.db import Database
    from c11.enterprise import migrate

    db = Database(_config(data_dir, config_file).database_url)
    try:
        migrate.upgrade(db.engine)
    finally:
        db.dispose()
    click.echo("c11: the enterprise key server's database is up to date", err=True)


@enterprise_keyserver.group("kek", context_settings=_CTX)
def kek() -> None:
    """The master key: create it, rotate to a new one."""


@kek.command("create", context_settings=_CTX)
@_options
def kek_create(data_dir: str | None, config_file: str | None) -> None:
    """Create the configured master key (a non-extractable AES key in the HSM, or a key file)."""
    from c11.enterprise import open_ring

    ring = open_ring(_config(data_dir, config_file), create=True)
    click.echo(f"c11: master key {ring.current.kek_id} is ready", err=True)
    ring.close()


@kek.command("rotate", context_settings=_CTX)
@click.argument("new_kek")
@_options
def kek_rotate(new_kek: str, data_dir: str | None, config_file: str | None) -> None:
    """Re-wrap every member's keys under NEW_KEK (pkcs11:<label> or file:<name>), created if absent.

    Running servers keep answering throughout; set C11E_KEK=NEW_KEK for their next start.
    """
    from c11.enterprise import members, migrate, open_ring
    from c11.enterprise.app import Services  # noqa: F401  (the same package the server runs)

    config = _config(data_dir, config_file)
    ring = open_ring(config)
    new = config.kek_source.open(new_kek, create=True)
    from c11._web.db import Database

    db = Database(config.database_url)
    try:
        migrate.upgrade(db.engine)
        moved = members.rotate(db, ring, new, progress=lambda n: click.echo(f"\r{n} re-wrapped", nl=False, err=True))
    finally:
        db.dispose()
        ring.close()
    click.echo(f"\nc11: {moved} member(s) re-wrapped under {new.kek_id}", err=True)


@enterprise_keyserver.group("member", context_settings=_CTX)
def member() -> None:
    """Members: add (keys generated inside), deactivate, activate."""


def _members_db(data_dir: str | None, config_file: str | None, ring: bool) -> Any:
    from c11._web.db import Database
    from c11.enterprise import migrate, open_ring

    config = _config(data_dir, config_file)
    db = Database(config.database_url)
    migrate.upgrade(db.engine)
    return db, (open_ring(config) if ring else None)


@member.command("add", context_settings=_CTX)
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print the member's public key as JSON.")
@_options
def member_add(email: str, as_json: bool, data_dir: str | None, config_file: str | None) -> None:
    """Generate EMAIL's enterprise keys inside this server and print the public key line."""
    from c11.enterprise import members

    db, ring = _members_db(data_dir, config_file, True)
    try:
        row = members.add(db, ring, email)
    finally:
        db.dispose()
        ring.close()
    if as_json:
        click.echo(json.dumps({"email": row.email, "key_id": row.key_id, "public_key": row.public_line}))
    else:
        click.echo(row.public_line)


@member.command("deactivate", context_settings=_CTX)
@click.argument("email")
@_options
def member_deactivate(email: str, data_dir: str | None, config_file: str | None) -> None:
    """Stop releasing keys to EMAIL (takes effect at the next request)."""
    _set_active(email, False, data_dir, config_file)


@member.command("activate", context_settings=_CTX)
@click.argument("email")
@_options
def member_activate(email: str, data_dir: str | None, config_file: str | None) -> None:
    """Release keys to EMAIL again."""
    _set_active(email, True, data_dir, config_file)


def _set_active(email: str, active: bool, data_dir: str | None, config_file: str | None) -> None:
    from c11.enterprise import members

    db, _ = _members_db(data_dir, config_file, False)
    try:
        members.set_active(db, email, active)
    finally:
        db.dispose()
    click.echo(f"c11: {email} {'activated' if active else 'deactivated'}", err=True)


@member.command("list", context_settings=_CTX)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_options
def member_list(as_json: bool, data_dir: str | None, config_file: str | None) -> None:
    """List members: email, state, key ID, master key."""
    from sqlalchemy import select

    from c11.enterprise.models import Member

    db, _ = _members_db(data_dir, config_file, False)
    try:
        with db.session() as s:
            rows = [
                {"email": m.email, "active": m.active, "key_id": m.key_id, "kek": m.kek_id}
                for m in s.scalars(select(Member).order_by(Member.email))
            ]
    finally:
        db.dispose()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['email']}  {'active' if r['active'] else 'deactivated'}  {r['key_id']}  {r['kek']}")


@enterprise_keyserver.command("audit", context_settings=_CTX)
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True, help="Newest records.")
@click.option("--member", "email", default=None, help="Only this member's records.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines, newest first.")
@_options
def audit(limit: int, email: str | None, as_json: bool, data_dir: str | None, config_file: str | None) -> None:
    """The audit records of unwraps and proofs (released or refused, with the reason), newest first."""
    from sqlalchemy import select

    from c11.enterprise.models import AuditRecord

    db, _ = _members_db(data_dir, config_file, False)
    q = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
    if email:
        q = q.where(AuditRecord.email == email.strip().lower())
    try:
        with db.session() as s:
            rows = [
                {
                    "at": a.at.isoformat(),
                    "outcome": a.outcome,
                    "reason": a.reason,
                    "member": a.email,
                    "doc_id": a.doc_id,
                    "key_id": a.key_id,
                    "client": a.client,
                }
                for a in s.scalars(q)
            ]
    finally:
        db.dispose()
    for r in rows:
        if as_json:
            click.echo(json.dumps(r))
        else:
            click.echo(f"{r['at']}  {r['outcome']:<8}  {r['member'] or '-'}  {r['doc_id'] or '-'}  {r['reason']}")
