"""`c11 notify ...`: operate email notifications on the server's data directory and configuration.

    c11 notify status [--json]             queued, sending, sent and dead messages; the transport in use
    c11 notify retry ID | --all-dead       requeue a dead message (or all of them)
    c11 notify worker [--once]             run the delivery worker apart from the server
    c11 notify test --to ADDRESS [--also-check-denied ADDRESS]
    c11 notify graph certificate create [--out FILE.cer]
    c11 notify graph certificate list
    c11 notify graph configure --sender ADDRESS --tenant-id ID --client-id ID
    c11 notify graph guide

They act on --data-dir / C11_DATA_DIR and --config / C11_CONFIG_FILE, like `c11 db`.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC
from pathlib import Path
from typing import Any

import click

from c11.cli._server_options import server_options


def _config(data_dir: str | None, config_file: str | None) -> Any:
    from c11.notify.config import load_notify_config

    return load_notify_config(data_dir=data_dir, config_file=config_file)


def _engine(cfg: Any) -> Any:
    from sqlalchemy import inspect

    from c11.errors import NotifyError
    from c11.server.db import make_engine

    engine = make_engine(cfg.database_url)
    cols = (
        {c["name"] for c in inspect(engine).get_columns("outbox_messages")}
        if inspect(engine).has_table("outbox_messages")
        else set()
    )
    if "locked_until" not in cols:
        engine.dispose()
        raise NotifyError(f"the database at {cfg.database_url} is not at the newest schema; run `c11 db upgrade`")
    return engine


def _brand(cfg: Any) -> Any:
    from c11.notify.branding import branding_from_env

    return branding_from_env(cfg.base_url)


@click.group("notify")
def notify() -> None:
    """Email notifications: delivery status, the worker, tests, and the Microsoft Graph set-up."""


@notify.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--limit", default=20, show_default=True, help="How many waiting or dead messages to list.")
@server_options
def status(as_json: bool, limit: int, data_dir: str | None, config_file: str | None) -> None:
    """Show queued, sending, sent and dead messages, and the transport in use."""
    from c11.notify import admin

    cfg = _config(data_dir, config_file)
    engine = _engine(cfg)
    try:
        report = admin.status(cfg, engine, limit)
    finally:
        engine.dispose()
    counts, transport, waiting = report["counts"], report["transport"], report["messages"]
    if as_json:
        click.echo(json.dumps({"counts": counts, "transport": transport, "messages": waiting}, indent=2))
        return
    click.echo(
        f"transport: {cfg.mail_transport}"
        + "".join(
            f"  {k}={v}" for k, v in transport.items() if k not in ("name", "certificates") and v not in (None, "")
        )
    )
    for c in transport.get("certificates", []):
        click.echo(f"certificate: {c['thumbprint_sha1']}  expires {c['not_after']}")
    click.echo("  ".join(f"{k}: {v}" for k, v in counts.items()))
    for m in waiting:
        when = f" next {m['next_attempt_at']}" if m["status"] == "queued" and m["next_attempt_at"] else ""
        click.echo(f"{m['id']}  {m['status']:<7} {m['attempts']:>2} tries  {m['kind']:<18} {m['recipient']}{when}")
        if m["last_error"]:
            click.echo(f"    last error: {m['last_error'][:300]}")


@notify.command("retry")
@click.argument("message_id", required=False)
@click.option("--all-dead", is_flag=True, help="Requeue every dead message.")
@server_options
def retry(message_id: str | None, all_dead: bool, data_dir: str | None, config_file: str | None) -> None:
    """Requeue a dead message (by ID or unique ID prefix) for delivery now."""
    from c11.errors import UsageError
    from c11.notify import outbox as ob

    if bool(message_id) == all_dead:
        raise UsageError("give a message ID or --all-dead")
    engine = _engine(_config(data_dir, config_file))
    try:
        if all_dead:
            click.echo(f"requeued {ob.retry_dead(engine)} dead message(s)")
        else:
            row = ob.retry(engine, message_id or "")
            click.echo(f"requeued {row.id} to {row.recipient}")
    finally:
        engine.dispose()


@notify.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due, then exit.")
@server_options
def worker(once: bool, data_dir: str | None, config_file: str | None) -> None:
    """Run the delivery worker (set C11_MAIL_WORKER=false on the server so it does not run one too)."""
    import signal
    import threading

    from c11.notify.transports import make_transport
    from c11.notify.worker import Worker, due_certificate_alerts

    cfg = _config(data_dir, config_file)
    engine = _engine(cfg)
    transport = make_transport(cfg)
    sender = cfg.graph_sender if cfg.mail_transport == "graph" else cfg.mail_from
    w = Worker(engine, transport, sender=sender or cfg.mail_from, max_attempts=cfg.mail_max_attempts)
    try:
        if cfg.mail_transport == "graph":
            due_certificate_alerts(engine, cfg.data_dir, cfg.admins, _brand(cfg))
        if once:
            n = w.drain(timeout=600)
            click.echo(f"sent {n}, retrying later {w.stats.retried}, dead {w.stats.dead}")
            return
        done = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: done.set())
        click.echo(f"c11 notify worker: delivering via {transport.name}; Ctrl-C to stop", err=True)
        w.start()
        while not done.wait(3600):
            if cfg.mail_transport == "graph":
                due_certificate_alerts(engine, cfg.data_dir, cfg.admins, _brand(cfg))
        w.stop()
        click.echo(f"stopped; sent {w.stats.sent}, retrying later {w.stats.retried}, dead {w.stats.dead}", err=True)
    finally:
        transport.close()
        engine.dispose()


@notify.command("test")
@click.option("--to", "to", required=True, help="Address that receives the test message.")
@click.option(
    "--also-check-denied",
    "denied",
    default=None,
    metavar="ADDRESS",
    help="Graph: also check that sending as this other mailbox is refused by the access policy.",
)
@server_options
def test(to: str, denied: str | None, data_dir: str | None, config_file: str | None) -> None:
    """Send a test message through the configured transport and explain any failure."""
    from c11.errors import NotifyError
    from c11.notify import admin

    try:
        result = admin.send_test(_config(data_dir, config_file), to, denied)
    except NotifyError as e:
        if getattr(e, "explanation", None):
            click.echo(e.explanation, err=True)  # type: ignore[attr-defined]
        raise
    click.echo(
        f"sent a test message to {to} via {result.transport}"
        + (f" as {result.sender}" if result.transport == "graph" else "")
    )
    for note in result.notes:
        click.echo(note)


@notify.group("graph")
def graph() -> None:
    """Microsoft Graph: certificate, the customer's three values, and their set-up guide."""


@graph.group("certificate")
def certificate() -> None:
    """The certificate the customer uploads to their app registration."""


@certificate.command("create")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the public certificate: .cer = DER, .pem/.crt = PEM. Default: <data-dir>/c11-graph.cer.",
)
@click.option("--days", default=730, show_default=True, help="Validity in days.")
@click.option("--name", "common_name", default="c11 notifications", show_default=True, help="Subject common name.")
@server_options
def certificate_create(
    out: str | None, days: int, common_name: str, data_dir: str | None, config_file: str | None
) -> None:
    """Generate an RSA 2048 key pair and self-signed certificate; keep the key in the secret store."""
    from c11.notify.graph_certificate import CertificateStore

    cfg = _config(data_dir, config_file)
    store = CertificateStore(cfg.data_dir)
    cert = store.create(common_name, days=days)
    path = cert.export(Path(out) if out else cfg.data_dir / "c11-graph.cer")
    fmt = "PEM" if path.suffix.lower() in (".pem", ".crt") else "DER"
    click.echo(f"certificate: {path} ({fmt}; upload it to the app registration under Certificates & secrets)")
    click.echo(f"thumbprint (SHA-1, as Entra shows it): {cert.sha1_thumbprint}")
    click.echo(f"thumbprint (SHA-256): {cert.sha256_thumbprint}")
    click.echo(f"expires: {cert.not_after:%Y-%m-%d %H:%M} UTC")
    click.echo(f"private key: {cert.key_path} (never leaves this server)")
    others = [c for c in store.live() if c.sha1_thumbprint != cert.sha1_thumbprint]
    if others:
        click.echo(f"{len(others)} older certificate(s) stay live until they expire: rotation without downtime")


@certificate.command("list")
@server_options
def certificate_list(data_dir: str | None, config_file: str | None) -> None:
    """List stored certificates, newest first (the first valid one is used)."""
    from datetime import datetime

    from c11.notify.graph_certificate import CertificateStore

    now = datetime.now(UTC)
    for c in CertificateStore(_config(data_dir, config_file).data_dir).all():
        state = "valid" if c.valid_at(now) else "expired" if c.not_after <= now else "not yet valid"
        click.echo(f"{c.sha1_thumbprint}  {state:<13} expires {c.not_after:%Y-%m-%d}  {c.subject}")


@graph.command("configure")
@click.option("--sender", required=True, help="Sender mailbox address the customer's admin gave.")
@click.option("--tenant-id", required=True, help="Entra directory (tenant) ID.")
@click.option("--client-id", required=True, help="Application (client) ID of their app registration.")
@click.option("--login-host", default=None, help="National clouds: e.g. login.microsoftonline.us.")
@click.option("--api-host", default=None, help="National clouds: e.g. graph.microsoft.us.")
@server_options
def configure(
    sender: str,
    tenant_id: str,
    client_id: str,
    login_host: str | None,
    api_host: str | None,
    data_dir: str | None,
    config_file: str | None,
) -> None:
    """Store the customer's three values and switch notifications to the graph transport."""
    from c11.notify import admin

    done = admin.configure_graph(
        _config(data_dir, config_file),
        sender,
        tenant_id,
        client_id,
        login_host,
        api_host,
        {"sender": "--sender", "tenant_id": "--tenant-id", "client_id": "--client-id"},
    )
    click.echo(f"stored in {done['stored']}: sender {sender}, tenant {tenant_id}, client {client_id}; transport graph")
    if not done["certificate"]:
        click.echo("no certificate yet: run `c11 notify graph certificate create --out c11-graph.cer`", err=True)
    click.echo("check it with: c11 notify test --to <your address>")


@graph.command("guide")
@click.option("--group", "group", default=None, help="Address of the mail-enabled security group.")
@click.option("--other-mailbox", default=None, help="A mailbox that must be refused, for the tests in the guide.")
@server_options
def guide(group: str | None, other_mailbox: str | None, data_dir: str | None, config_file: str | None) -> None:
    """Print the customer's set-up steps with their values filled in."""
    from c11.notify.admin import guide_for

    sys.stdout.write(guide_for(_config(data_dir, config_file), group, other_mailbox))
