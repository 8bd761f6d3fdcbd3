"""Organizations, members and admins: the operations routes, SCIM and the operator CLI share.

Functions take an open session and change rows only; callers commit (and append log entries).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from c11._internal.emails import normalize_email
from c11.log.entries import email_hash
from c11.server.accounts.models import User
from c11.server.db import utcnow
from c11.server.orgs.models import Organization, OrgMember
from c11.server.orgs.permissions import PERMISSIONS, parse_permissions
from c11.server.orgs.policies import OrgPolicies, dump
from c11.server.problems import Problem

#: The permission no organization may lose: someone active must keep it (no lock-out).
MANAGE = "crud:members-org"


def normalize(email: str) -> str:
    """The canonical form of a member's email (c11._internal.emails); 422 bad-email when refused."""
    try:
        return normalize_email(email)
    except ValueError as e:
        raise Problem(422, "Bad email", str(e), "bad-email") from None


def create_organization(s: Session, name: str, admin_email: str) -> tuple[Organization, OrgMember]:
    """A new organization and its root admin (every permission). 409 if the name or the admin is taken."""
    name = name.strip()
    if not name or len(name) > 200:
        raise Problem(422, "Bad name", "An organization needs a name of 1 to 200 characters.", "bad-name")
    if s.scalar(select(Organization.id).where(Organization.name == name)) is not None:
        raise Problem(409, "Conflict", f"An organization named {name!r} exists.", "org-exists")
    org = Organization(name=name, policies=dump(OrgPolicies()))
    s.add(org)
    s.flush()
    admin = add_member(s, org, admin_email, added_by=None, consent="operator")
    admin.is_admin = True
    admin.permissions = " ".join(sorted(PERMISSIONS))
    return org, admin


def add_member(
    s: Session,
    org: Organization,
    email: str,
    added_by: str | None,
    *,
    display_name: str | None = None,
    external_id: str | None = None,
    consent: str | None = "operator",
) -> OrgMember:
    """Add `email` to `org`: active when the person has an account with a verified email, else invited.

    `consent` says why the person may be a member (see `OrgMember.consent`; the default `operator` is for
    the operator's own tools): routes pass `domain` after `domains.covers`, or None for an invitation the
    person must accept. A consented member of another organization is never taken (409); a not-consented
    invitation of another organization gives way to a consented membership.
    """
    email = normalize(email)
    existing = s.scalar(select(OrgMember).where(OrgMember.email == email))
    if existing is not None:
        if existing.consent is not None or consent is None or existing.org_id == org.id:
            raise Problem(409, "Conflict", f"{email} is already a member of an organization.", "member-exists")
        s.delete(existing)
        s.flush()
    status = "active" if _verified_account(s, email) else "invited"
    m = OrgMember(
        org_id=org.id,
        email=email,
        status=status,
        is_admin=False,
        permissions="",
        display_name=display_name,
        external_id=external_id,
        added_by=added_by,
        consent=consent,
        consented_at=utcnow() if consent is not None else None,
    )
    s.add(m)
    s.flush()
    return m


def set_active(member: OrgMember, active: bool) -> None:
    """Deactivate (keys no longer served, no organization access) or reactivate a member."""
    if active:
        member.status = "invited" if member.status == "deactivated" else member.status
        member.deactivated_at = None
    elif member.status != "deactivated":
        member.status = "deactivated"
        member.deactivated_at = utcnow()


def _verified_account(s: Session, email: str) -> bool:
    return s.scalar(select(User.id).where(User.email == email, User.email_verified_at.is_not(None))) is not None


def activate(s: Session, email: str) -> None:
    """The person behind `email` now has an account with a verified email: an invited member becomes active
    (called at email verification, password login and identity-provider login)."""
    s.execute(
        update(OrgMember)
        .where(OrgMember.email == email.strip().lower(), OrgMember.status == "invited")
        .values(status="active")
    )


def refresh_status(s: Session, member: OrgMember) -> None:
    """After a reactivation: active if the person has a verified account, else invited."""
    if member.status == "invited" and _verified_account(s, member.email):
        member.status = "active"


def member_in(s: Session, org_id: str, email: str, *, pending: bool = False) -> OrgMember:
    """The member `email` of `org_id` (404 otherwise, also for members of other organizations and, unless
    `pending`, for people invited who have not accepted: no admin action reaches them)."""
    q = select(OrgMember).where(OrgMember.email == normalize(email), OrgMember.org_id == org_id)
    m = s.scalar(q if pending else q.where(OrgMember.consent.is_not(None)))
    if m is None:
        raise Problem(
            404,
            "Not Found",
            f"{email.strip().lower()} is not a member of your organization (or has not accepted the invitation yet).",
            "not-a-member",
        )
    return m


def set_admin(s: Session, member: OrgMember, permissions: frozenset[str]) -> None:
    """Make `member` an admin holding `permissions` (a non-empty subset of PERMISSIONS), or change them."""
    unknown = sorted(permissions - set(PERMISSIONS))
    if unknown:
        raise Problem(
            422,
            "Unknown permission",
            f"Unknown permission(s): {', '.join(unknown)}; known: {', '.join(sorted(PERMISSIONS))}.",
            "unknown-permission",
        )
    if not permissions:
        raise Problem(422, "No permission", "An admin holds at least one permission (or demote them).", "no-permission")
    if member.status == "deactivated":
        raise Problem(409, "Conflict", "Reactivate this member before making them an admin.", "member-deactivated")
    member.is_admin, member.permissions = True, " ".join(sorted(permissions))


def demote(member: OrgMember) -> None:
    member.is_admin, member.permissions = False, ""


def check_no_lockout(s: Session, org_id: str) -> None:
    """409 unless an active admin of `org_id` still holds crud:members-org (call after a change, flushed)."""
    s.flush()
    rows = s.execute(
        select(OrgMember.permissions).where(
            OrgMember.org_id == org_id, OrgMember.is_admin.is_(True), OrgMember.status != "deactivated"
        )
    ).scalars()
    if not any(MANAGE in parse_permissions(p) for p in rows):
        raise Problem(
            409,
            "Conflict",
            f"This would leave the organization without an admin holding {MANAGE} "
            "(nobody could manage members any more); designate another admin first.",
            "last-admin",
        )


def member_json(m: OrgMember) -> dict[str, Any]:
    return {
        "email": m.email,
        "status": m.status,
        "is_admin": m.is_admin,
        "permissions": sorted(parse_permissions(m.permissions)),
        "display_name": m.display_name,
        "external_id": m.external_id,
        "consent": m.consent,
        "added_at": m.added_at.isoformat() if m.added_at else None,
        "deactivated_at": m.deactivated_at.isoformat() if m.deactivated_at else None,
    }


def admin_entry(action: str, actor_email: str | None, org_id: str, target: str) -> dict[str, Any]:
    """The fields of an `admin` log entry (`target`: an email, hashed here, or an ID)."""
    return {
        "action": action,
        "actor": email_hash(actor_email) if actor_email else "operator",
        "org": org_id,
        "target": email_hash(target) if "@" in target else target,
    }
