"""Admin permissions of an organization (docs/organizations.md) and the dependency every admin route uses.

`require_org_permission(p)` resolves the caller's organization from their verified email and refuses
(403, type `missing-permission`) an admin without `p`, or anyone not an active admin. `ROUTE_PERMISSION`
maps each such dependency back to its permission, so a test can walk every admin route. Member routes use
`require_member` (or `require_member_writer`); `MEMBER_SCOPE` maps them to the machine-token scope they need
(org:read, org:admin), as admin routes need org:admin: every organization route checks a scope.
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
from c11.server.scopes import SCOPES

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
#: Scopes of member routes (read the organization, its groups and your wraps) and of answering invitations.
READ_SCOPE = "org:read"
JOIN_SCOPE = "org:join"
SCOPES.setdefault(
    READ_SCOPE,
    "Read your organization, its groups and recovery keys, and your group key wraps; see invitations to join one.",
)
SCOPES.setdefault(JOIN_SCOPE, "Accept or decline invitations to join an organization.")

#: dependency function -> the permission it checks (for the route walk in tests/orgs).
ROUTE_PERMISSION: dict[Callable[..., object], str] = {}
#: member dependency function -> the token scope it checks (for the scope walk in tests/orgs).
MEMBER_SCOPE: dict[Callable[..., object], str] = {}


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
        select(OrgMember, Organization)
        .join(Organization, Organization.id == OrgMember.org_id)
        .where(
            OrgMember.email == email.strip().lower(), OrgMember.status != "deactivated", OrgMember.consent.is_not(None)
        )
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


def _scope(principal: Principal, scope: str) -> None:
    if principal.kind == "token" and not principal.has(scope):
        raise Problem(403, "Forbidden", f"This token lacks the scope {scope}.", "insufficient-scope", scope=scope)


def member_with(scope: str) -> Callable[..., OrgCaller]:
    """Dependency factory: the caller, an active member of an organization (403 otherwise) whose machine token,
    if it is one, holds `scope` (403 insufficient-scope)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def dependency(principal: CurrentUser, ctx: Ctx) -> OrgCaller:
        caller = org_of(ctx, principal)
        if caller is None:  # first: a non-member's narrow token learns only that (encrypting stays possible)
            raise Problem(403, "Forbidden", "You are not a member of an organization.", "not-a-member")
        _scope(principal, scope)
        return caller

    MEMBER_SCOPE[dependency] = scope
    return dependency


#: Dependency of member routes that read (token scope org:read).
require_member = member_with(READ_SCOPE)
#: Dependency of member routes that change something (token scope org:admin, as admin routes).
require_member_writer = member_with(ADMIN_SCOPE)


def require_org_permission(permission: str) -> Callable[..., OrgCaller]:
    """Dependency factory: the caller, an active admin holding `permission` (403 otherwise)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def dependency(principal: CurrentUser, ctx: Ctx) -> OrgCaller:
        _scope(principal, ADMIN_SCOPE)
        caller = org_of(ctx, principal)
        if caller is None or not caller.can(permission):
            raise Problem(
                403,
                "Forbidden",
                f"This needs the organization permission {permission}.",
                "missing-permission",
                permission=permission,
            )
        return caller

    ROUTE_PERMISSION[dependency] = permission
    return dependency
