"""Tables of document requests (docs/sharing.md, "Document requests"): the signed requests, the items the
recipient uploads (ciphertext only; the bytes live in the storage layer), and reusable templates.

The server holds the form the requester signed (labels, the message, the recipient's name and email: it must
email them) but never an answer: answers and files arrive as `.c11` files encrypted in the recipient's browser.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from c11.server.db import Base, UTCDateTime, new_id, utcnow


class DocRequest(Base):
    """One request: the signed form, its link's token (as SHA-256), status and limits."""

    __tablename__ = "doc_requests"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_doc_requests_owner_name"),)

    #: chosen by the requester's client (26 of a-z0-9) and covered by the signature
    id: Mapped[str] = mapped_column(String(26), primary_key=True)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    recipient_email: Mapped[str] = mapped_column(String(320))
    #: the request JSON as signed (canonical) and its base64 Ed25519 signature
    body: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: created, emailed, opened, in_progress, submitted, downloaded, cancelled (expired: derived from expires_at)
    status: Mapped[str] = mapped_column(String(20), default="created")
    template_id: Mapped[str | None] = mapped_column(String(32))
    max_files: Mapped[int] = mapped_column(Integer)
    max_bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DocRequestItem(Base):
    """A protected file of the answer: item 0 is the answers document, 1.. the uploaded files."""

    __tablename__ = "doc_request_items"
    __table_args__ = (UniqueConstraint("request_id", "n", name="uq_doc_request_items_request_n"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(ForeignKey("doc_requests.id", ondelete="CASCADE"), index=True)
    n: Mapped[int] = mapped_column(Integer)
    #: the file field it answers (None for the answers document)
    field: Mapped[str | None] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(BigInteger)
    #: the upload in the storage layer that carries its bytes (docs/sharing.md, "Uploads")
    upload_id: Mapped[str | None] = mapped_column(String(64))
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RequestTemplate(Base):
    """A reusable form: personal (org_id NULL) or shared with the owner's organization by an admin."""

    __tablename__ = "request_templates"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[str | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    #: JSON: {sections, message, expires_days, max_files, max_bytes, groups}
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
