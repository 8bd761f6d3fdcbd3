"""Tables of sends and share links: who sent what (blob IDs, sizes) to whom, and its status.

The server holds no name, message or key: `envelope` is a c11 file (ciphertext) for the recipients that lists
the files' names and blob IDs and carries the message.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from c11.server.db import Base, UTCDateTime, new_id, utcnow


class Send(Base):
    """A send (kind "send": one version, download limits) or a share link (kind "link": versions)."""

    __tablename__ = "sends"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(8))
    sender_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    max_downloads: Mapped[int | None] = mapped_column(Integer)
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: log index of the revocation entry (the proof)
    revoked_log_index: Mapped[int | None] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, default=1)
    retention: Mapped[int] = mapped_column(Integer, default=1)
    log_index: Mapped[int | None] = mapped_column(BigInteger)


class SendVersion(Base):
    """One version of a send's content: the envelope and its blobs (JSON list of upload IDs with sizes)."""

    __tablename__ = "send_versions"

    send_id: Mapped[str] = mapped_column(ForeignKey("sends.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    envelope: Mapped[bytes] = mapped_column(LargeBinary)
    blobs: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SendRecipient(Base):
    """A recipient of a send and what happened for them."""

    __tablename__ = "send_recipients"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    send_id: Mapped[str] = mapped_column(ForeignKey("sends.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    email_hash: Mapped[str] = mapped_column(String(64), index=True)
    outbox_id: Mapped[str | None] = mapped_column(String(32))
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    #: the current download (docs/sharing.md "Limits"): SHA-256 of its ID, the version it fetches, bytes left
    download_key: Mapped[str | None] = mapped_column(String(64))
    download_version: Mapped[int | None] = mapped_column(Integer)
    download_left: Mapped[int | None] = mapped_column(BigInteger)
