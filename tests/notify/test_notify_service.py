"""The in-process notifier: settings from the server's sources, queue in a request's transaction, wake, stop,
and the certificate expiry alert delivered end to end through Graph."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from notify_dbkit import migrated_engine, sqlite_url
from smtpkit import SmtpServer
from sqlalchemy.orm import Session

from c11.notify import outbox as ob
from c11.notify.graph_certificate import CertificateStore
from c11.notify.service import Notifier, notify_config_for, start_notifications
from c11.server.db import Database

TENANT = "9d1c2f3e-0a4b-4c5d-8e6f-7a8b9c0d1e2f"
CLIENT = "5f6e7d8c-9b0a-4c1d-8e2f-3a4b5c6d7e8f"
SENDER = "notifications@contoso.example"


def _server_config(tmp_path, **kw):
    base = dict(
        data_dir=tmp_path,
        database_url=sqlite_url(tmp_path),
        base_url="https://c11.example.com",
        mail_transport="outbox-folder",
        mail_from="c11 <no-reply@c11.example.com>",
        config_file=None,
    )
    base.update(kw)
    return SimpleNamespace(**base)


def _wait(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return False


def test_settings_follow_the_server_config_and_toml(tmp_path, monkeypatch):
    toml = tmp_path / "c11.toml"
    toml.write_text('smtp_host = "mail.internal"\nmail_max_attempts = 4\n')
    for k in ("C11_MAIL_TRANSPORT", "C11_SMTP_HOST", "C11_CONFIG_FILE"):
        monkeypatch.delenv(k, raising=False)
    cfg = notify_config_for(_server_config(tmp_path, mail_transport="smtp", config_file=str(toml)))
    assert (cfg.mail_transport, cfg.smtp_host, cfg.mail_max_attempts) == ("smtp", "mail.internal", 4)
    assert cfg.database_url == sqlite_url(tmp_path) and cfg.base_url == "https://c11.example.com"


def test_in_process_worker_delivers_after_wake(tmp_path, monkeypatch):
    monkeypatch.setenv("C11_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("C11_SMTP_SECURITY", "none")
    migrated_engine(sqlite_url(tmp_path)).dispose()
    with SmtpServer("none") as smtp:
        monkeypatch.setenv("C11_SMTP_PORT", str(smtp.port))
        db = Database(sqlite_url(tmp_path))
        n = start_notifications(_server_config(tmp_path, mail_transport="smtp"), db)
        n.worker.poll_interval = 30  # only a wake-up can make it deliver quickly
        try:
            with Session(db.engine) as s, s.begin():
                n.notify(s, "invitation", to="bob@example.org", inviter="Alice", link=n.brand.link("/i/1"))
            time.sleep(0.2)
            n.wake()
            assert _wait(lambda: len(smtp.received) == 1)
            assert smtp.received[0].message["X-C11-Kind"] == "invitation"
        finally:
            n.stop()
            db.dispose()
        assert not n.worker.running


def test_mail_worker_false_leaves_delivery_to_the_cli(tmp_path, monkeypatch):
    monkeypatch.setenv("C11_MAIL_WORKER", "false")
    migrated_engine(sqlite_url(tmp_path)).dispose()
    db = Database(sqlite_url(tmp_path))
    n = start_notifications(_server_config(tmp_path), db)
    assert not n.worker.running
    n.stop()
    db.dispose()


def test_certificate_expiry_alert_goes_out_through_graph(standin, pki, tmp_path, monkeypatch):
    tenant = standin.add_tenant(TENANT, mailboxes={SENDER})
    app = tenant.add_app(CLIENT, roles={"Mail.Send"})
    tenant.restrict(CLIENT, {SENDER})
    store = CertificateStore(tmp_path)
    cert = store.create(days=40, now=datetime.now(UTC) - timedelta(days=20))  # 20 days left
    app.upload(cert.der)
    for k, v in {
        "C11_GRAPH_SENDER": SENDER,
        "C11_GRAPH_TENANT_ID": TENANT,
        "C11_GRAPH_CLIENT_ID": CLIENT,
        "C11_GRAPH_LOGIN_HOST": standin.host,
        "C11_GRAPH_API_HOST": standin.api_host,
        "C11_GRAPH_CA_BUNDLE": str(pki.ca_pem),
        "C11_MAIL_ADMINS": "admin@contoso.example",
    }.items():
        monkeypatch.setenv(k, v)
    engine = migrated_engine(sqlite_url(tmp_path))
    cfg = notify_config_for(_server_config(tmp_path, mail_transport="graph"))
    n = Notifier(cfg, engine, poll_interval=0.05).start()
    try:
        assert _wait(lambda: len(standin.delivered) == 1)
    finally:
        n.stop()
    msg = standin.delivered[0]["body"]["message"]
    assert msg["toRecipients"] == [{"emailAddress": {"address": "admin@contoso.example"}}]
    assert "certificate expires in" in msg["subject"].lower()
    assert cert.sha1_thumbprint in msg["body"]["content"]
    assert store.due_alerts() == []  # once
    assert ob.counts(engine)["sent"] == 1
    engine.dispose()
