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
import re
import sys
from pathlib import Path
from typing import Any

import click

_options = [
    click.option("--data-dir", type=click.Path(file_okay=False), default=None, help="Data folder [C11_DATA_DIR]."),
    click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
                 help="TOML configuration file [C11_CONFIG_FILE]."),
]

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _with_options(f):  # type: ignore[no-untyped-def]
    for opt in reversed(_options):
        f = opt(f)
    return f


def _config(data_dir: str | None, config_file: str | None) -> Any:
    from c11.notify.config import load_notify_config

    return load_notify_config(data_dir=data_dir, config_file=config_file)


def _engine(cfg: Any) -> Any:
    from sqlalchemy import inspect

    from c11.errors import NotifyError
    from c11.server.db import make_engine

    engine = make_engine(cfg.database_url)
    cols = {c["name"] for c in inspect(engine).get_columns("outbox_messages")} if \
        inspect(engine).has_table("outbox_messages") else set()
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
@_with_options
def status(as_json: bool, limit: int, data_dir: str | None, config_file: str | None) -> None:
    """Show queued, sending, sent and dead messages, and the transport in use."""
    from c11.notify import outbox as ob

    cfg = _config(data_dir, config_file)
    engine = _engine(cfg)
    try:
        counts = ob.counts(engine)
        waiting = [r.public() for r in ob.rows(engine, limit=limit)]
    finally:
        engine.dispose()
    transport: dict[str, Any] = {"name": cfg.mail_transport}
    if cfg.mail_transport == "smtp":
        transport.update(host=cfg.smtp_host, port=cfg.port, security=cfg.smtp_security,
                         login=bool(cfg.smtp_username), sender=cfg.mail_from)
    elif cfg.mail_transport == "graph":
        from c11.notify.graph_certificate import CertificateStore

        transport.update(sender=cfg.graph_sender, tenant_id=cfg.graph_tenant_id, client_id=cfg.graph_client_id,
                         login_host=cfg.graph_login_host, api_host=cfg.graph_api_host,
                         certificates=[c.info() for c in CertificateStore(cfg.data_dir).live()])
    else:
        transport.update(folder=str(cfg.outbox_dir), sender=cfg.mail_from)
    if as_json:
        click.echo(json.dumps({"counts": counts, "transport": transport, "messages": waiting}, indent=2))
        return
    click.echo(f"transport: {cfg.mail_transport}" + "".join(
        f"  {k}={v}" for k, v in transport.items() if k not in ("name", "certificates") and v not in (None, "")))
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
@_with_options
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
@_with_options
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
@click.option("--also-check-denied", "denied", default=None, metavar="ADDRESS",
              help="Graph: also check that sending as this other mailbox is refused by the access policy.")
@_with_options
def test(to: str, denied: str | None, data_dir: str | None, config_file: str | None) -> None:
    """Send a test message through the configured transport and explain any failure."""
    from c11.errors import NotifyError, PermanentDeliveryError, UsageError
    from c11.notify.render import build_message, render
    from c11.notify.transports import DeliveryError, make_transport

    cfg = _config(data_dir, config_file)
    if denied and cfg.mail_transport != "graph":
        raise UsageError("--also-check-denied applies to the graph transport only")
    brand = _brand(cfg)
    sender = cfg.graph_sender if cfg.mail_transport == "graph" else cfg.mail_from
    r = render("admin_alert", to=to, brand=brand, title="Test message",
               detail=f"This is a test of {brand.product_name} notifications through the {cfg.mail_transport} "
                      "transport. If you can read it, delivery works.", severity="info")
    transport = make_transport(cfg)
    try:
        try:
            transport.send(build_message(r, sender or cfg.mail_from))
        except DeliveryError as e:
            if e.explanation:
                click.echo(e.explanation, err=True)
            raise NotifyError(f"test message not sent: {e}") from None
        click.echo(f"sent a test message to {to} via {cfg.mail_transport}"
                   + (f" as {sender}" if cfg.mail_transport == "graph" else ""))
        if denied:
            try:
                transport.send_as(build_message(r, denied), denied)  # type: ignore[attr-defined]
            except PermanentDeliveryError as e:
                if "AccessPolicy" in str(e) or "RAOP" in str(e) or "403" in str(e):
                    click.echo(f"sending as {denied} is refused, as it should be: {e}")
                    return
                click.echo(e.explanation, err=True)
                raise NotifyError(f"sending as {denied} failed, but not because of the access policy: {e}") from None
            raise NotifyError(f"the app could send as {denied}: the application access policy does not restrict it "
                              "to the sender mailbox (see `c11 notify graph guide`, step 4; changes can take more "
                              "than an hour to reach Graph)")
    finally:
        transport.close()


@notify.group("graph")
def graph() -> None:
    """Microsoft Graph: certificate, the customer's three values, and their set-up guide."""


@graph.group("certificate")
def certificate() -> None:
    """The certificate the customer uploads to their app registration."""


@certificate.command("create")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Where to write the public certificate: .cer = DER, .pem/.crt = PEM. "
                   "Default: <data-dir>/c11-graph.cer.")
@click.option("--days", default=730, show_default=True, help="Validity in days.")
@click.option("--name", "common_name", default="c11 notifications", show_default=True, help="Subject common name.")
@_with_options
def certificate_create(out: str | None, days: int, common_name: str, data_dir: str | None,
                       config_file: str | None) -> None:
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
@_with_options
def certificate_list(data_dir: str | None, config_file: str | None) -> None:
    """List stored certificates, newest first (the first valid one is used)."""
    from datetime import datetime, timezone

    from c11.notify.graph_certificate import CertificateStore

    now = datetime.now(timezone.utc)
    for c in CertificateStore(_config(data_dir, config_file).data_dir).all():
        state = "valid" if c.valid_at(now) else "expired" if c.not_after <= now else "not yet valid"
        click.echo(f"{c.sha1_thumbprint}  {state:<13} expires {c.not_after:%Y-%m-%d}  {c.subject}")


@graph.command("configure")
@click.option("--sender", required=True, help="Sender mailbox address the customer's admin gave.")
@click.option("--tenant-id", required=True, help="Entra directory (tenant) ID.")
@click.option("--client-id", required=True, help="Application (client) ID of their app registration.")
@click.option("--login-host", default=None, help="National clouds: e.g. login.microsoftonline.us.")
@click.option("--api-host", default=None, help="National clouds: e.g. graph.microsoft.us.")
@_with_options
def configure(sender: str, tenant_id: str, client_id: str, login_host: str | None, api_host: str | None,
              data_dir: str | None, config_file: str | None) -> None:
    """Store the customer's three values and switch notifications to the graph transport."""
    from c11.errors import UsageError
    from c11.notify.config import store_values
    from c11.notify.graph_certificate import CertificateStore

    if not _EMAIL.match(sender):
        raise UsageError(f"--sender must be an email address, not {sender!r}")
    if not (_GUID.match(tenant_id) or re.match(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$", tenant_id)):
        raise UsageError(f"--tenant-id must be the directory (tenant) ID GUID or the tenant's domain, not {tenant_id!r}")
    if not _GUID.match(client_id):
        raise UsageError(f"--client-id must be the application (client) ID, a GUID, not {client_id!r}")
    cfg = _config(data_dir, config_file)
    path = store_values(cfg.data_dir, {
        "mail_transport": "graph", "graph_sender": sender, "graph_tenant_id": tenant_id,
        "graph_client_id": client_id, "graph_login_host": login_host, "graph_api_host": api_host,
    })
    click.echo(f"stored in {path}: sender {sender}, tenant {tenant_id}, client {client_id}; transport graph")
    if not CertificateStore(cfg.data_dir).live():
        click.echo("no certificate yet: run `c11 notify graph certificate create --out c11-graph.cer`", err=True)
    click.echo("check it with: c11 notify test --to <your address>")


@graph.command("guide")
@click.option("--group", "group", default=None, help="Address of the mail-enabled security group.")
@click.option("--other-mailbox", default=None, help="A mailbox that must be refused, for the tests in the guide.")
@_with_options
def guide(group: str | None, other_mailbox: str | None, data_dir: str | None, config_file: str | None) -> None:
    """Print the customer's set-up steps with their values filled in."""
    from c11.notify.graph_certificate import CertificateStore
    from c11.notify.graph_guide import GuideValues
    from c11.notify.graph_guide import guide as make_guide

    cfg = _config(data_dir, config_file)
    live = CertificateStore(cfg.data_dir).live()
    cert = live[0] if live else None
    sys.stdout.write(make_guide(GuideValues(
        sender=cfg.graph_sender or "", tenant_id=cfg.graph_tenant_id or "", client_id=cfg.graph_client_id or "",
        thumbprint=cert.sha1_thumbprint if cert else "",
        not_after=f"{cert.not_after:%Y-%m-%d}" if cert else "", group_address=group or "",
        login_host=cfg.graph_login_host, api_host=cfg.graph_api_host, other_mailbox=other_mailbox or "",
        product=_brand(cfg).product_name,
    )))
