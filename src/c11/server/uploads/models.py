"""The uploads table: one row per resumable upload, invisible to everyone until completed and checked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from c11.server.db import Base, UTCDateTime, new_id, utcnow

INCOMING = "incoming"
COMPLETE = "complete"


class Upload(Base):
    """An upload (its ID is the capability in its URL, and its owner must match too)."""

    __tablename__ = "uploads"
    __table_args__ = (Index("ix_uploads_status_expires_at", "status", "expires_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    #: who may write and use it: "user:<id>", or what an upload grant names (e.g. "request:<id>")
    owner: Mapped[str] = mapped_column(String(80), index=True)
    #: what the grant allowed it for ("send", "request:<id>"...)
    purpose: Mapped[str] = mapped_column(String(80))
    length: Mapped[int] = mapped_column(BigInteger)
    #: bytes stored: in parts plus the tail
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    part_size: Mapped[int] = mapped_column(Integer)
    #: JSON [[number, size, etag], ...] of the stored parts
    parts: Mapped[str] = mapped_column(Text, default="[]")
    tail_size: Mapped[int] = mapped_column(Integer, default=0)
    #: the storage backend's handle of the multipart upload
    handle: Mapped[str] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16), default=INCOMING)
    sha256: Mapped[str | None] = mapped_column(String(64))
    #: the send or share it belongs to (None: not yet used; deleted after upload_ttl_hours)
    attached_to: Mapped[str | None] = mapped_column(String(32), index=True)
    #: the PATCH writing it now (a newer PATCH at the stored offset takes over, as tusd does: so a resume after a
    #: broken connection or a killed server never waits for a lock; the older writer stops at its next part)
    writer: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
