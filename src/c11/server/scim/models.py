"""Tables of SCIM provisioning: tokens (one organization each), and what SCIM keeps beside members and groups.

Tokens are stored as SHA-256 digests only. `scim_users` holds the User attributes an identity provider sent
that `org_members` has no column for (name, emails, phone numbers, enterprise extension...; never a password)
and the soft-delete mark; `scim_groups` only when a group last changed through SCIM.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from c11.server.db import Base, UTCDateTime, new_id, utcnow


class ScimToken(Base):
    """A bearer token with which an identity provider provisions the members and groups of one organization."""

    __tablename__ = "scim_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ScimUser(Base):
    """SCIM-only state of a member: extra User attributes (JSON object), last change, deletion through SCIM."""

    __tablename__ = "scim_users"

    member_id: Mapped[str] = mapped_column(ForeignKey("org_members.id", ondelete="CASCADE"), primary_key=True)
    attributes: Mapped[str] = mapped_column(Text, default="{}")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ScimGroup(Base):
    """When a group last changed through SCIM (its `meta.lastModified`)."""

    __tablename__ = "scim_groups"

    group_id: Mapped[str] = mapped_column(ForeignKey("org_groups.id", ondelete="CASCADE"), primary_key=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
