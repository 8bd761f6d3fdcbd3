"""Table of encryption policies (docs/registry.md §3): recipient sets a user encrypted for, offered again later.

One row per (user, canonical digest of the set); reusing a set bumps `last_used_at` and `use_count`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from c11.server.db import Base, UTCDateTime, new_id, utcnow


class EncryptionPolicy(Base):
    """A recipient set (`members`: canonical JSON list of {email} / {fingerprint, public_key})."""

    __tablename__ = "encryption_policies"
    __table_args__ = (
        UniqueConstraint("user_id", "digest", name="uq_encryption_policies_user_id_digest"),
        Index("ix_encryption_policies_user_id_last_used_at", "user_id", "last_used_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    members: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    use_count: Mapped[int] = mapped_column(Integer, default=1)
