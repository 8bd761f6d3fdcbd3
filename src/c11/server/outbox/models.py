"""The outbox table in the server's metadata (for its migrations): `c11.notify.outbox.outbox`, mapped as is.

One row per email, pending until sent; `status` is one of `c11.notify.outbox.LABELS`; `c11.notify.worker` delivers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Mapped

from c11.notify.outbox import outbox
from c11.server.db import Base


class OutboxMessage(Base):
    """An email waiting to be (or already) delivered."""

    __table__ = outbox.to_metadata(Base.metadata)

    id: Mapped[str]
    created_at: Mapped[datetime]
    kind: Mapped[str]
    recipient: Mapped[str]
    subject: Mapped[str]
    body_text: Mapped[str]
    status: Mapped[str]
    attempts: Mapped[int]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None]
    # delivery by c11.notify.worker (migration 0030): HTML part, retry time, worker lease and claim token
    body_html: Mapped[str | None]
    next_attempt_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None]
    # the single-use part of a link (migration 0070): the body holds SECRET_PLACEHOLDER; NULL after delivery
    secret: Mapped[str | None]
