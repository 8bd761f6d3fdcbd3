"""Tables of the public key registry: each user's current key, and used proofs of possession (replays).

Every change of `registry_keys` is logged (`log_entries`, kind "key") in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from c11.server.db import Base, UTCDateTime, utcnow


class RegistryKey(Base):
    """The public key line a user published (one current key per user) and its log entry."""

    __tablename__ = "registry_keys"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64), unique=True)
    public_key: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(32))
    log_index: Mapped[int] = mapped_column(BigInteger)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UsedProof(Base):
    """A proof of possession already accepted (SHA-256 of its signature); kept past its validity window."""

    __tablename__ = "registry_used_proofs"

    signature_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
