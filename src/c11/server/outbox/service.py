"""Putting emails in the outbox, inside the caller's database transaction.

Nothing is sent here; the delivery worker (`c11.notify.worker`) does that after the commit. `notify` renders a
notification from its template; `enqueue` stores a plain text message as given.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from c11.notify.branding import branding_from_env
from c11.notify.outbox import QUEUED, enqueue_rendered
from c11.notify.render import render
from c11.server.outbox.models import OutboxMessage


def enqueue(s: Session, kind: str, recipient: str, subject: str, body_text: str) -> OutboxMessage:
    """Add an email to the outbox in the session's transaction."""
    msg = OutboxMessage(kind=kind, recipient=recipient, subject=subject, body_text=body_text, status=QUEUED, attempts=0)
    s.add(msg)
    return msg


def notify(s: Session, base_url: str, kind: str, to: str, *, secret: str | None = None, **context: object) -> str:
    """Render notification `kind` (text and HTML, with the branding) and queue it; returns its ID.

    `secret`: the single-use token inside a link of the message; stored apart and erased after delivery."""
    return enqueue_rendered(s, render(kind, to=to, brand=branding_from_env(base_url), **context), secret=secret)
