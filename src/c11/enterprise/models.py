"""The enterprise key server's tables: members (keys wrapped under the master key), audit, revoked documents."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from c11._web.db import UTCDateTime, utcnow


class Base(DeclarativeBase):
    """Declarative base of the enterprise key server's own schema (its own Alembic chain)."""


class Member(Base):
    """One member: their public keys, and their two private seeds wrapped under the KEK named by `kek_id`."""

    __tablename__ = "ent_members"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    kem: Mapped[str] = mapped_column(String(32))
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    public_line: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(Integer)
    kek_id: Mapped[str] = mapped_column(String(200), index=True)
    enc_wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    sig_wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditRecord(Base):
    """One unwrap request, released or refused (with the reason, which the caller never sees)."""

    __tablename__ = "ent_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    subject: Mapped[str | None] = mapped_column(String(255), nullable=True)
    member_id: Mapped[str | None] = mapped_column(ForeignKey("ent_members.id"), nullable=True)
    doc_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    key_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)


class RevokedDocument(Base):
    """A document the organization revoked: no member gets its key from this server any more."""

    __tablename__ = "ent_revoked_documents"

    doc_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
