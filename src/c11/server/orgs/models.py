"""Tables of organizations: the organization (with its policies), members (admins hold permissions), groups.

A person belongs to at most one organization, named by email (`org_members.email` is unique); an account
is a member when its *verified* email has a row here. Nothing here is key material.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from c11.server.db import Base, UTCDateTime, new_id, utcnow


class Organization(Base):
    """An organization; `policies` is its JSON policy document (see `orgs.policies.OrgPolicies`)."""

    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    policies: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OrgMember(Base):
    """A member (by email): `status` invited, active or deactivated; admins hold `permissions`.

    `permissions` is a space-separated subset of `orgs.permissions.PERMISSIONS` (empty for non-admins).
    `external_id` and `display_name` are what an identity provider sent through SCIM.
    """

    __tablename__ = "org_members"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="invited")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    permissions: Mapped[str] = mapped_column(Text, default="")
    external_id: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    added_by: Mapped[str | None] = mapped_column(String(320))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Why the person is a member: `domain` (a verified domain of the organization), `accepted` (they
    #: accepted the invitation), `operator` (made by the server operator); None: invited, not consented.
    consent: Mapped[str | None] = mapped_column(String(16))
    #: When `consent` was given (accepted, covered by a verified domain, made by the operator): admins get
    #: the log openings of the person's entries written from then on only (docs/log.md section 7).
    consented_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OrgDomain(Base):
    """An email domain an organization claims: `status` pending until proven, then verified.

    `method` is `email` (a confirmation link mailed to `mailbox`, postmaster@ or admin@ the domain; only the
    SHA-256 of the link's token is kept) or `operator` (set by the server operator with `c11 org create`).
    """

    __tablename__ = "org_domains"
    __table_args__ = (UniqueConstraint("org_id", "domain", name="uq_org_domains_org_id_domain"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(253), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    method: Mapped[str] = mapped_column(String(16))
    mailbox: Mapped[str | None] = mapped_column(String(320))
    token_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    #: The random value to publish in the domain's DNS TXT record (not secret: DNS is public; bound to this row).
    dns_token: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OrgGroup(Base):
    """A group of members; usable as a recipient once it has a group key (see the groups service)."""

    __tablename__ = "org_groups"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_org_groups_org_id_name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    external_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OrgGroupMember(Base):
    """Membership of a member in a group."""

    __tablename__ = "org_group_members"

    group_id: Mapped[str] = mapped_column(ForeignKey("org_groups.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[str] = mapped_column(
        ForeignKey("org_members.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OrgEncryptionPolicy(Base):
    """A named recipient set of an organization, offered to every member when encrypting.

    `emails` and `group_ids` are canonical JSON lists (sorted, de-duplicated). Only addresses and ids: clients
    resolve each through the registry or the group-key log, as for recipients they type (docs/organizations.md).
    """

    __tablename__ = "org_encryption_policies"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_org_encryption_policies_org_id_name"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(500))
    emails: Mapped[str] = mapped_column(Text, default="[]")
    group_ids: Mapped[str] = mapped_column(Text, default="[]")
    created_by: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
