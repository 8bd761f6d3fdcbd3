"""Organizations, members and admins: the operations routes, SCIM and the operator CLI share.

Functions take an open session and change rows only; callers commit (and append log entries).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from c11.server.db import utcnow
from c11.server.orgs.models import Organization, OrgMember
from c11.server.orgs.permissions import PERMISSIONS
from c11.server.orgs.policies import OrgPolicies, dump
from c11.server.problems import Problem


def normalize(email: str) -> str:
    e = email.strip().lower()
    if "@" not in e or len(e) > 320 or any(c.isspace() for c in e):
        raise Problem(422, "Bad email", f"{email!r} is not an email address.", "bad-email")
    return e


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
    admin = add_member(s, org, admin_email, added_by=None)
    admin.is_admin = True
    admin.permissions = " ".join(sorted(PERMISSIONS))
    return org, admin


def add_member(s: Session, org: Organization, email: str, added_by: str | None, *,
               display_name: str | None = None, external_id: str | None = None) -> OrgMember:
    """Add `email` to `org` (status invited). 409 if the person is in an organization already."""
    email = normalize(email)
    existing = s.scalar(select(OrgMember).where(OrgMember.email == email))
    if existing is not None:
        raise Problem(409, "Conflict", f"{email} is already a member of an organization.", "member-exists")
    m = OrgMember(org_id=org.id, email=email, status="invited", is_admin=False, permissions="",
                  display_name=display_name, external_id=external_id, added_by=added_by)
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
