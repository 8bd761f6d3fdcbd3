"""Tables of the shards service: the server's own shard of each cloud-stored key, the store tokens the
shard stores reported as used, and each user's archive of old private keys.

Nothing here opens a key: one shard is one share of K (docs/shards.md), and the archive is a c11 file
encrypted to the user's current public key.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from c11.server.db import Base, UTCDateTime, utcnow


class CloudKey(Base):
    """A user's cloud-stored key: the server's shard (index 1) and where the other shards are."""

    __tablename__ = "cloud_keys"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(32))
    split_id: Mapped[str] = mapped_column(String(32))
    shard: Mapped[bytes] = mapped_column(LargeBinary)
    #: JSON list of {"index", "where": "server"|"store"|"recovery", "url"?} (what `c11 keys status` shows).
    placements: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ShardTokenUse(Base):
    """A store token a shard store reported as used (once per token ID), and its log entry."""

    __tablename__ = "shard_token_uses"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), index=True)
    store: Mapped[str] = mapped_column(String(500))
    action: Mapped[str] = mapped_column(String(16))
    log_index: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class KeyArchive(Base):
    """A user's old private keys, as one c11 file encrypted to their current public key (`fingerprint`)."""

    __tablename__ = "key_archives"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
