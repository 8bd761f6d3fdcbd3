"""Tables of the key server: online-policy documents, who may open them, and every access attempt.

Nothing here is key material: the key server's part of a file key only ever exists inside the file
(sealed to the key server's private key, which lives in `<data-dir>/secrets/`, not in the database).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from c11.server.db import Base, UTCDateTime, new_id, utcnow


class OnlineDocument(Base):
    """A document protected with an online policy, registered by its author."""

    __tablename__ = "online_documents"

    doc_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    author_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 (hex) of the policy bytes in the file's stanza; a stanza with another policy is refused.
    policy_digest: Mapped[str] = mapped_column(String(64))
    server_key: Mapped[str] = mapped_column(String(32))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OnlineRecipient(Base):
    """Someone the key server may release to: by verified email (hash) and/or by recipient key."""

    __tablename__ = "online_recipients"
    __table_args__ = (
        Index("ix_online_recipients_doc_id_email_hash", "doc_id", "email_hash"),
        Index("ix_online_recipients_doc_id_key_fp", "doc_id", "key_fp"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    doc_id: Mapped[str] = mapped_column(ForeignKey("online_documents.doc_id", ondelete="CASCADE"))
    email_hash: Mapped[str | None] = mapped_column(String(64))
    #: The email as the author gave it (shown to the author only); None when only the hash is known.
    email: Mapped[str | None] = mapped_column(String(320))
    key_fp: Mapped[str | None] = mapped_column(String(32))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OnlineAccess(Base):
    """One release request (allowed or denied) and the log entry that records it."""

    __tablename__ = "online_accesses"
    __table_args__ = (Index("ix_online_accesses_doc_id_log_index", "doc_id", "log_index"),)

    log_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    doc_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str] = mapped_column(String(320))
    key_fp: Mapped[str] = mapped_column(String(32))
    result: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(64))
    #: Random salt of the log entry's `from` commitment, SHA-256(salt || address).
    salt: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Invitation(Base):
    """An invitation of someone without an account, with the temporary key the key server holds for them.

    `sealed_secret` is the temporary identity's seeds sealed (HPKE) to the key server's own key: the
    database alone cannot open it. It is destroyed when released to the invitee, or when the invitation expires.
    """

    __tablename__ = "invitations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), index=True)
    email_hash: Mapped[str] = mapped_column(String(64), index=True)
    inviter_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: pending, accepted or expired
    status: Mapped[str] = mapped_column(String(16), default="pending")
    public_key: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(32))
    sealed_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    log_index: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    send_count: Mapped[int] = mapped_column(Integer, default=1)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
