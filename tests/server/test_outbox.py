"""The outbox: rows share the transaction of their cause; delivery is retried until a transport takes them."""

from __future__ import annotations

import email

import pytest
from sqlalchemy import select

from c11.server import migrate
from c11.server.db import Database
from c11.server.outbox.delivery import deliver_pending, requeue_interrupted
from c11.server.outbox.models import OutboxMessage
from c11.server.outbox.service import enqueue
from c11.server.outbox.transport import FolderTransport


class _Down:
    name = "down"

    def send(self, message, message_id):
        raise ConnectionError("mail service is down")


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'o.db'}")
    migrate.upgrade(database.engine)
    yield database
    database.dispose()


def _rows(db):
    with db.session() as s:
        return list(s.scalars(select(OutboxMessage)))


def test_rolled_back_transaction_leaves_no_email(db):
    with pytest.raises(RuntimeError), db.session() as s:
        enqueue(s, "test", "a@example.com", "hi", "body")
        raise RuntimeError("the change failed")
    assert _rows(db) == []


def test_failed_delivery_is_kept_and_retried(db, tmp_path):
    with db.session() as s:
        enqueue(s, "test", "a@example.com", "Hello", "a body with a link https://x/?token=abc")
    assert deliver_pending(db, _Down(), "c11 <c11@localhost>") == 0
    [row] = _rows(db)
    assert (row.status, row.attempts) == ("pending", 1) and "down" in row.last_error
    folder = FolderTransport(tmp_path / "outbox")
    assert deliver_pending(db, folder, "c11 <c11@localhost>") == 1
    [row] = _rows(db)
    assert row.status == "sent" and row.sent_at is not None
    [path] = (tmp_path / "outbox").glob("*.eml")
    msg = email.message_from_bytes(path.read_bytes())
    assert msg["To"] == "a@example.com" and msg["Subject"] == "Hello"
    assert "https://x/?token=abc" in msg.get_payload(decode=True).decode()
    assert deliver_pending(db, folder, "c11 <c11@localhost>") == 0  # sent once only


def test_interrupted_delivery_is_requeued(db, tmp_path):
    with db.session() as s:
        enqueue(s, "test", "b@example.com", "Hi", "body").status = "sending"
    assert requeue_interrupted(db) == 1
    assert deliver_pending(db, FolderTransport(tmp_path / "out"), "c11@localhost") == 1


def test_link_secret_is_erased_after_delivery(db, tmp_path):
    from c11.notify.branding import Branding
    from c11.notify.outbox import SECRET_PLACEHOLDER, enqueue_rendered
    from c11.notify.render import render

    secret = "c11r_" + "x" * 43
    brand = Branding(base_url="https://c11.example.com")
    with db.session() as s:
        enqueue_rendered(s, render("password_reset", to="c@example.com", brand=brand, server=brand.base_url,
                                   link=brand.link(f"/api/v1/accounts/password-reset?token={secret}"),
                                   expires_minutes=60), secret=secret)
    assert deliver_pending(db, FolderTransport(tmp_path / "out"), "c11@localhost") == 1
    [row] = _rows(db)
    assert row.status == "sent" and row.secret is None and SECRET_PLACEHOLDER in row.body_text
    assert secret not in row.body_text + (row.body_html or "")
    [path] = (tmp_path / "out").glob("*.eml")
    assert secret in email.message_from_bytes(path.read_bytes()).get_payload(decode=True).decode()
