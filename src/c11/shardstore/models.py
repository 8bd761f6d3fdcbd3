"""The shard store's own tables (SQLite in its data folder; created at start, no migrations yet)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from c11.server.db import UTCDateTime, utcnow


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
