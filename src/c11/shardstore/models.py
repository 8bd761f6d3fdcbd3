"""The shard store's own tables (SQLite in its data folder; created at start, no migrations yet)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, MetaData, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from c11._web.db import UTCDateTime, utcnow


class StoreBase(DeclarativeBase):
    """Declarative base of the shard store (not the c11 server's metadata)."""

    metadata = MetaData()


class StoredShard(StoreBase):
    """One user's shard, per c11 server (a store may serve several servers one day; the key says whose)."""

    __tablename__ = "shards"

    server: Mapped[str] = mapped_column(String(500), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(32))
    shard_index: Mapped[int] = mapped_column(Integer)
    shard: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UsedToken(StoreBase):
    """A store token already used (single use); forgotten once expired."""

    __tablename__ = "used_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires: Mapped[int] = mapped_column(BigInteger, index=True)


class OpaqueRecord(StoreBase):
    """A user's OPAQUE registration record at this store (RFC 9807 §5.1.1.3): no password, no hash of it."""

    __tablename__ = "opaque_records"

    server: Mapped[str] = mapped_column(String(500), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    record: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StoreSession(StoreBase):
    """A session a user got by an OPAQUE login here: only the SHA-256 of its bearer value is kept."""

    __tablename__ = "store_sessions"

    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    server: Mapped[str] = mapped_column(String(500))
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    expires: Mapped[int] = mapped_column(BigInteger, index=True)


class OidcBinding(StoreBase):
    """The identity-provider account (issuer, subject) whose ID tokens log this user in here (bound at the
    user's first registration at this store)."""

    __tablename__ = "oidc_bindings"
    __table_args__ = (UniqueConstraint("server", "issuer", "subject"),)

    server: Mapped[str] = mapped_column(String(500), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
