"""Tables of groups as recipients and of recovery keys: only public keys and wrapped (encrypted) keys.

A group key's private half never reaches the server in usable form: it is stored once per member as a
c11 file encrypted to that member's key (`org_group_key_wraps.wrapped`, docs/format.md §12).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from c11.server.db import Base, UTCDateTime, new_id, utcnow


class OrgGroupKey(Base):
    """One version of a group's key pair (public key line); the newest not retired is current.

    `rotation_due` is set when a member leaves: the next admin sync makes a new version.
    """

    __tablename__ = "org_group_keys"
    __table_args__ = (UniqueConstraint("group_id", "version", name="uq_org_group_keys_group_id_version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    group_id: Mapped[str] = mapped_column(ForeignKey("org_groups.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    public_key: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(32), index=True)
    rotation_due: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Member ID of the admin whose client made this version (may wrap it later, like group admins).
    created_by: Mapped[str | None] = mapped_column(String(32))


class OrgGroupKeyWrap(Base):
    """A group key version's private key, encrypted to one member's public key (base64 of a .c11 file)."""

    __tablename__ = "org_group_key_wraps"

    key_id: Mapped[str] = mapped_column(ForeignKey("org_group_keys.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[str] = mapped_column(
        ForeignKey("org_members.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    wrapped: Mapped[str] = mapped_column(Text)
    member_key: Mapped[str] = mapped_column(String(32))
    #: Member ID of who signed the wrap (an authorized wrapper: a group admin or the version's creator).
    wrapped_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OrgRecoveryKey(Base):
    """An organization recovery key (public half only): `status` is current or retired."""

    __tablename__ = "org_recovery_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    public_key: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="current")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
