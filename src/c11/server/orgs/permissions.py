"""Admin permissions of an organization (SPEC F18) and the dependency every admin route uses.

`require_org_permission(p)` resolves the caller's organization from their verified email and refuses
(403, type `missing-permission`) an admin without `p`, or anyone not an active admin. `ROUTE_PERMISSION`
maps each such dependency back to its permission, so a test can walk every admin route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from c11.server.auth import CurrentUser, Principal
from c11.server.context import Ctx
from c11.server.orgs.models import Organization, OrgMember
from c11.server.problems import Problem

#: permission -> what it allows.
PERMISSIONS: dict[str, str] = {
    "crud:config-org": "Organization settings and policies, notification configuration.",
    "crud:members-org": "Add, list, deactivate and reactivate members; designate and demote admins.",
    "crud:invitations-org": "Invite people on behalf of the organization; list and resend invitations.",
    "crud:recovery-keys-org": "Upload, rotate and remove the organization's recovery keys.",
    "read:events-org": "Read usage events of the organization (who protected, opened, shared, revoked).",
    "crud:encryption-keys-org": "Generate keys for members (pre-load) and manage members' encryption keys.",
    "crud:signature-keys-org": "Manage members' signature keys.",
    "crud:groups-org": "Create, change and delete groups and their membership.",
    "crud:groups-scim-tokens-org": "Create, list and revoke SCIM provisioning tokens.",
}
#: The machine-token scope that lets a token act as its owner in admin routes (login sessions hold all).
ADMIN_SCOPE = "org:admin"

#: dependency function -> the permission it checks (for the route walk in tests/orgs).
ROUTE_PERMISSION: dict[Callable[..., object], str] = {}


@dataclass(frozen=True)
class OrgCaller:
    """The caller, their organization and their membership row (detached: read-only)."""

    principal: Principal
    org_id: str
    org_name: str
    member_id: str
    is_admin: bool
    permissions: frozenset[str]

    def can(self, permission: str) -> bool:
        return self.is_admin and permission in self.permissions


def parse_permissions(text: str | None) -> frozenset[str]:
    return frozenset((text or "").split())


def membership(s: Session, email: str) -> tuple[OrgMember, Organization] | None:
    """The active membership row of `email` and its organization, or None."""
    row = s.execute(
        select(OrgMember, Organization).join(Organization, Organization.id == OrgMember.org_id)
        .where(OrgMember.email == email.strip().lower(), OrgMember.status != "deactivated")
    ).first()
    return (row[0], row[1]) if row is not None else None


def org_of(ctx: Ctx, principal: Principal) -> OrgCaller | None:
    """The caller's organization membership (verified email only), or None."""
    if not principal.email_verified:
        return None
    with ctx.db.session() as s:
        found = membership(s, principal.email)
        if found is None:
            return None
        m, org = found
        return OrgCaller(principal, org.id, org.name, m.id, m.is_admin, parse_permissions(m.permissions))


def require_member(principal: CurrentUser, ctx: Ctx) -> OrgCaller:
    """Dependency: the caller, who must be an active member of an organization (403 otherwise)."""
    caller = org_of(ctx, principal)
    if caller is None:
        raise Problem(403, "Forbidden", "You are not a member of an organization.", "not-a-member")
    return caller


def require_org_permission(permission: str) -> Callable[..., OrgCaller]:
    """Dependency factory: the caller, an active admin holding `permission` (403 otherwise)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def dependency(principal: CurrentUser, ctx: Ctx) -> OrgCaller:
        if principal.kind == "token" and not principal.has(ADMIN_SCOPE):
            raise Problem(403, "Forbidden", f"This token lacks the scope {ADMIN_SCOPE}.", "insufficient-scope",
                          scope=ADMIN_SCOPE)
        caller = org_of(ctx, principal)
        if caller is None or not caller.can(permission):
            raise Problem(403, "Forbidden", f"This needs the organization permission {permission}.",
                          "missing-permission", permission=permission)
        return caller

    ROUTE_PERMISSION[dependency] = permission
    return dependency
