"""The delivery step: claim pending outbox rows, hand them to the transport, record the outcome.

Safe to run from several processes: a row is claimed by a conditional update before it is sent.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import cast

from sqlalchemy import CursorResult, select, update

from c11.errors import PermanentDeliveryError

from c11.notify.outbox import fill_secret
from c11.server.db import Database, utcnow
from c11.server.outbox.models import OutboxMessage
from c11.server.outbox.transport import Transport

MAX_ATTEMPTS = 10
_log = logging.getLogger("c11.server.outbox")


def build_email(row: OutboxMessage, sender: str) -> EmailMessage:
    """The RFC 5322 message for an outbox row."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = row.recipient
    msg["Subject"] = row.subject
    msg["Date"] = format_datetime(row.created_at)
    msg["Message-ID"] = make_msgid(idstring=row.id, domain="c11.local")
    msg["X-C11-Kind"] = row.kind
    body = fill_secret(row.body_text, row.secret)  # the link's secret is kept apart until delivery
    plain = body.isascii() and all(len(line) < 990 for line in body.splitlines())
    msg.set_content(body, cte="7bit" if plain else "quoted-printable")
    return msg


def requeue_interrupted(db: Database) -> int:
    """Put back rows left `sending` by a process that stopped mid-delivery (at start; at-least-once)."""
    with db.session() as s:
        result = s.execute(update(OutboxMessage).where(OutboxMessage.status == "sending")
                           .values(status="pending"))
        return cast(CursorResult, result).rowcount


def deliver_pending(db: Database, transport: Transport, sender: str, limit: int = 100) -> int:
    """Send up to `limit` pending emails; returns how many were sent."""
    with db.session() as s:
        ids = s.scalars(select(OutboxMessage.id).where(OutboxMessage.status == "pending")
                        .order_by(OutboxMessage.created_at).limit(limit)).all()
    return sum(_deliver_one(db, transport, sender, mid) for mid in ids)


def _deliver_one(db: Database, transport: Transport, sender: str, mid: str) -> bool:
    with db.session() as s:
        claimed = s.execute(update(OutboxMessage)
                            .where(OutboxMessage.id == mid, OutboxMessage.status == "pending")
                            .values(status="sending", attempts=OutboxMessage.attempts + 1))
        if cast(CursorResult, claimed).rowcount != 1:
            return False
        row = s.get(OutboxMessage, mid)
        assert row is not None
        attempts = row.attempts
        try:
            email = build_email(row, sender)
        except PermanentDeliveryError as e:  # its secret was erased already: it can never be sent
            row.status, row.last_error = "failed", str(e)
            return False
    try:
        transport.send(email, mid)
    except Exception as e:  # any transport failure: keep the row for a later try
        _log.warning("outbox: delivery of %s via %s failed: %s", mid, transport.name, type(e).__name__)
        final = attempts >= MAX_ATTEMPTS
        with db.session() as s:
            s.execute(update(OutboxMessage).where(OutboxMessage.id == mid)
                      .values(status="failed" if final else "pending", last_error=f"{type(e).__name__}: {e}"[:2000],
                              **({"secret": None} if final else {})))  # a dead letter keeps no usable link
        return False
    with db.session() as s:
        s.execute(update(OutboxMessage).where(OutboxMessage.id == mid)
                  .values(status="sent", sent_at=utcnow(), last_error=None, secret=None))
    return True
