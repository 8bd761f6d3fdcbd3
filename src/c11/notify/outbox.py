"""The outbox table as the notification worker sees it, queuing a rendered notification, and admin queries.

This is the one outbox (docs/notifications.md, "The outbox"): the table `outbox_messages` (migration 0001; 0030 adds
the delivery columns `body_html`, `next_attempt_at`, `locked_until` and `claimed_by`; docs/server.md, "Migrations")
is defined once, here, with SQLAlchemy Core in a metadata of its own, so this module needs nothing of the server;
the server maps a copy of it into its own metadata for its migrations (`c11.server.outbox.models`).

Statuses: `pending` (queued, waiting for its next attempt), `sending` (claimed by a worker until
`locked_until`), `sent`, and `dead` (dead letter: a permanent refusal, or `C11_MAIL_MAX_ATTEMPTS`
attempts). Migration 0100 turned the `failed` rows of older servers into `dead`.

Secrets (migration 0070): a notification whose link holds a single-use secret (an email verification, a
password reset, an invitation) is stored with `SECRET_PLACEHOLDER` in its bodies and the secret in the `secret`
column; the message is completed at send time and `secret` is set to NULL once the message is sent or dead,
so a delivered (or given up) row holds no usable link. Such a dead message cannot be retried: the person asks
for a new link.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from c11._web.db import UTCDateTime, new_id, utcnow
from c11.errors import NotifyError, PermanentDeliveryError
from c11.notify.render import Rendered

QUEUED = "pending"
SENDING = "sending"
SENT = "sent"
DEAD = "dead"
#: Every stored status, and how `c11 notify status` names it.
LABELS = {QUEUED: "queued", SENDING: "sending", SENT: "sent", DEAD: "dead"}

metadata = MetaData()
outbox = Table(
    "outbox_messages",
    metadata,
    Column("id", String(32), primary_key=True, default=new_id),
    Column("created_at", UTCDateTime(), nullable=False, index=True, default=utcnow),
    Column("kind", String(64), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("subject", String(998), nullable=False),
    Column("body_text", Text, nullable=False),
    Column("status", String(16), nullable=False, index=True, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("sent_at", UTCDateTime()),
    Column("last_error", Text),
    # added by 0030_notify_delivery
    Column("body_html", Text),
    Column("next_attempt_at", UTCDateTime()),
    Column("locked_until", UTCDateTime()),
    Column("claimed_by", String(32)),
    # added by 0070_account_safety
    Column("secret", Text),
)
#: What the stored bodies hold instead of a message's secret (filled in at send time, see `fill_secret`).
SECRET_PLACEHOLDER = "{c11-secret}"


def enqueue_rendered(
    s: Session | Connection, r: Rendered, *, now: datetime | None = None, secret: str | None = None
) -> str:
    """Queue a rendered notification in the caller's transaction (one INSERT); returns the outbox ID.

    Nothing is sent here: the worker delivers it after the transaction commits. If the transaction
    rolls back, the notification is gone with it. `secret` (the single-use part of a link in the message)
    is kept apart from the bodies and erased after delivery.
    """
    text, html = r.text, r.html or None
    if secret is not None:
        if len(secret) < 16 or secret not in text or secret in r.subject:
            raise NotifyError(f"notification {r.kind}: the secret must be a long token that appears in the body")
        text = text.replace(secret, SECRET_PLACEHOLDER)
        html = html.replace(secret, SECRET_PLACEHOLDER) if html else None
    mid = uuid.uuid4().hex
    s.execute(
        insert(outbox).values(
            id=mid,
            created_at=now or utcnow(),
            kind=r.kind,
            recipient=r.to,
            subject=r.subject,
            body_text=text,
            body_html=html,
            status=QUEUED,
            attempts=0,
            secret=secret,
        )
    )
    return mid


def fill_secret(body: str | None, secret: str | None) -> str:
    """A stored body with its secret put back; `PermanentDeliveryError` when the secret was already erased."""
    body = body or ""
    if SECRET_PLACEHOLDER not in body:
        return body
    if not secret:
        raise PermanentDeliveryError(
            "the single-use link of this message was erased after its delivery or final failure; ask for a new link"
        )
    return body.replace(SECRET_PLACEHOLDER, secret)


def _purged(row: Any) -> bool:
    """Was this row's secret erased (so the message can no longer be sent)?"""
    return row.secret is None and SECRET_PLACEHOLDER in (row.body_text or "")


def message_for(row: Any, sender: str) -> EmailMessage:
    """The RFC 5322 message of an outbox row: multipart/alternative when it has HTML.

    The Message-ID is derived from the outbox ID, so a receiver can recognise a repeated delivery.
    """
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = row.recipient
    msg["Subject"] = row.subject
    msg["Date"] = format_datetime(row.created_at or utcnow())
    domain = parseaddr(sender)[1].rpartition("@")[2] or "c11.local"
    msg["Message-ID"] = f"<{row.id}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-C11-Kind"] = row.kind
    msg["X-C11-Outbox-Id"] = row.id
    secret = getattr(row, "secret", None)
    msg.set_content(fill_secret(row.body_text, secret))
    html = getattr(row, "body_html", None)
    if html:
        msg.add_alternative(fill_secret(html, secret), subtype="html")
    return msg


@dataclass(frozen=True)
class OutboxRow:
    id: str
    created_at: datetime | None
    kind: str
    recipient: str
    subject: str
    status: str
    attempts: int
    sent_at: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "recipient": self.recipient,
            "subject": self.subject,
            "status": LABELS.get(self.status, self.status),
            "attempts": self.attempts,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
            "last_error": self.last_error,
        }


def counts(engine: Engine) -> dict[str, int]:
    """Messages per status label (queued, sending, sent, dead)."""
    out = {"queued": 0, "sending": 0, "sent": 0, "dead": 0}
    with engine.connect() as c:
        for status, n in c.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)):
            label = LABELS.get(status, status)
            out[label] = out.get(label, 0) + n
    return out


def rows(engine: Engine, statuses: tuple[str, ...] = (QUEUED, SENDING, DEAD), limit: int = 50) -> list[OutboxRow]:
    cols = [outbox.c[k] for k in OutboxRow.__dataclass_fields__]
    with engine.connect() as c:
        found = c.execute(
            select(*cols).where(outbox.c.status.in_(statuses)).order_by(outbox.c.created_at.desc()).limit(limit)
        ).all()
    return [OutboxRow(**r._mapping) for r in found]


def retry(engine: Engine, message_id: str) -> OutboxRow:
    """Requeue a dead (or queued, waiting) message for an attempt now; attempts start again from zero."""
    with engine.begin() as c:
        cols = (outbox.c.id, outbox.c.status, outbox.c.secret, outbox.c.body_text)
        row = c.execute(select(*cols).where(outbox.c.id == message_id)).first()
        if row is None:
            matches = c.execute(select(outbox.c.id).where(outbox.c.id.like(f"{message_id}%")).limit(2)).all()
            if len(matches) != 1:
                raise NotifyError(
                    f"no outbox message {message_id}"
                    if not matches
                    else f"{message_id} is ambiguous; give more characters"
                )
            message_id = matches[0].id
            row = c.execute(select(*cols).where(outbox.c.id == message_id)).first()
        assert row is not None
        if _purged(row):
            raise NotifyError(
                f"message {message_id} carried a single-use link that was erased at its final "
                "failure; the person asks for a new one (resend the verification or invitation)"
            )
        if row.status == SENT:
            raise NotifyError(f"message {message_id} was already sent; it is not sent twice")
        if row.status == SENDING:
            raise NotifyError(f"message {message_id} is being sent right now")
        c.execute(
            update(outbox)
            .where(outbox.c.id == message_id)
            .values(status=QUEUED, attempts=0, next_attempt_at=None, locked_until=None, claimed_by=None)
        )
    return next(r for r in rows(engine, (QUEUED,), limit=10_000) if r.id == message_id)


def retry_dead(engine: Engine) -> int:
    """Requeue every dead message (after the cause was fixed); returns how many."""
    with engine.begin() as c:
        resendable = ~(outbox.c.secret.is_(None) & outbox.c.body_text.contains(SECRET_PLACEHOLDER, autoescape=True))
        res = c.execute(
            update(outbox)
            .where(outbox.c.status == DEAD, resendable)
            .values(status=QUEUED, attempts=0, next_attempt_at=None, locked_until=None, claimed_by=None)
        )
        return res.rowcount or 0
