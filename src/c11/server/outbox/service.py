"""Putting emails in the outbox, inside the caller's database transaction.

Nothing is sent here; `delivery.deliver_pending` does that after the commit.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from c11.server.outbox.models import OutboxMessage


def enqueue(s: Session, kind: str, recipient: str, subject: str, body_text: str) -> OutboxMessage:
    """Add an email to the outbox in the session's transaction."""
    msg = OutboxMessage(kind=kind, recipient=recipient, subject=subject, body_text=body_text,
                        status="pending", attempts=0)
    s.add(msg)
    return msg
