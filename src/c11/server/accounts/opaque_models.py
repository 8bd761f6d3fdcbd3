"""Tables of the OPAQUE login at the c11 server (docs/shards.md §8, migration 0080)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from c11.server.db import Base, UTCDateTime, utcnow


class OpaqueCredential(Base):
    """A user's OPAQUE registration record at this server (RFC 9807): no password, no hash of it."""

    __tablename__ = "opaque_credentials"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    record: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OpaqueLogin(Base):
    """A login between KE2 and KE3: the server state, sealed (AES-256-GCM) under a key only the secrets
    folder gives; single use, two minutes."""

    __tablename__ = "opaque_logins"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
