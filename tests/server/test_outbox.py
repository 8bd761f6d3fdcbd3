"""The one outbox: rows share the transaction of their cause; the notification worker delivers them through a real
transport, retries until one takes them, and erases a link's secret once delivered."""

from __future__ import annotations

import email
import socket
from datetime import timedelta

import pytest
from sqlalchemy import select

from c11.notify.outbox import QUEUED, SECRET_PLACEHOLDER, SENDING, SENT, utcnow
from c11.notify.transports.outbox_folder import OutboxFolderTransport
from c11.notify.transports.smtp import SmtpTransport
from c11.notify.worker import Worker
from c11.server import migrate
from c11.server.db import Database
from c11.server.outbox.models import OutboxMessage
from c11.server.outbox.service import enqueue

SENDER = "c11 <c11@localhost>"


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'o.db'}")
    migrate.upgrade(database.engine)
    yield database
    database.dispose()


def _rows(db):
    with db.session() as s:
        return list(s.scalars(select(OutboxMessage)))


def _worker(db, transport):
    return Worker(db.engine, transport, sender=SENDER, base_delay=0.0, max_delay=0.0)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once closed


def test_rolled_back_transaction_leaves_no_email(db):
    with pytest.raises(RuntimeError), db.session() as s:
        enqueue(s, "test", "a@example.com", "hi", "body")
        raise RuntimeError("the change failed")
    assert _rows(db) == []


def test_failed_delivery_is_kept_and_retried(db, tmp_path):
    with db.session() as s:
        enqueue(s, "test", "a@example.com", "Hello", "a body with a link https://x/?token=abc")
    down = SmtpTransport("127.0.0.1", _closed_port(), security="none", timeout=5)  # the mail server is down
    assert _worker(db, down).run_once() == 0
    [row] = _rows(db)
    assert (row.status, row.attempts) == (QUEUED, 1) and row.last_error and row.sent_at is None
    folder = _worker(db, OutboxFolderTransport(tmp_path / "outbox"))
    assert folder.run_once() == 1
    [row] = _rows(db)
    assert row.status == SENT and row.sent_at is not None
    [path] = (tmp_path / "outbox").glob("*.eml")
    msg = email.message_from_bytes(path.read_bytes())
    assert msg["To"] == "a@example.com" and msg["Subject"] == "Hello" and msg["X-C11-Outbox-Id"] == row.id
    assert "https://x/?token=abc" in msg.get_payload(decode=True).decode()
    assert folder.run_once() == 0  # sent once only


def test_interrupted_delivery_is_taken_again_when_its_lease_ends(db, tmp_path):
    with db.session() as s:
        row = enqueue(s, "test", "b@example.com", "Hi", "body")
        row.status, row.claimed_by, row.attempts = SENDING, "a-worker-that-died", 1
        row.locked_until = utcnow() + timedelta(minutes=5)
    w = _worker(db, OutboxFolderTransport(tmp_path / "out"))
    assert w.run_once() == 0  # still leased to the other worker
    with db.session() as s:
        s.get(OutboxMessage, row.id).locked_until = utcnow() - timedelta(seconds=1)
    assert w.run_once() == 1
    [row] = _rows(db)
    assert (row.status, row.attempts, row.claimed_by) == (SENT, 2, None)


def test_link_secret_is_erased_after_delivery(db, tmp_path):
    from c11.notify.branding import Branding
    from c11.notify.outbox import enqueue_rendered
    from c11.notify.render import render

    secret = "c11r_" + "x" * 43
    brand = Branding(base_url="https://c11.example.com")
    with db.session() as s:
        enqueue_rendered(
            s,
            render(
                "password_reset",
                to="c@example.com",
                brand=brand,
                server=brand.base_url,
                link=brand.link(f"/api/v1/accounts/password-reset?token={secret}"),
                expires_minutes=60,
            ),
            secret=secret,
        )
    assert _worker(db, OutboxFolderTransport(tmp_path / "out")).run_once() == 1
    [row] = _rows(db)
    assert row.status == SENT and row.secret is None and SECRET_PLACEHOLDER in row.body_text
    assert secret not in row.body_text + (row.body_html or "")
    [path] = (tmp_path / "out").glob("*.eml")
    body = email.message_from_bytes(path.read_bytes())
    assert secret in "".join(p.get_payload(decode=True).decode() for p in body.walk() if not p.is_multipart())
