"""Organization rules of key lookups (docs/organizations.md, Members): deactivated members' keys are not served, and an
organization that forbids cross-organization lookups is closed both ways. Only consented memberships count
(`OrgMember.consent`: a verified domain, an accepted invitation, the operator): a person merely invited by an
organization gets no recovery key of it in their lookups, and its admins cannot hide their key (docs/organizations.md).

The registry's hot lookup joins `JOINS` (four LEFT JOINs on unique indexes: no extra query) and calls
`org_field`; slower paths (history, temporary keys) call `check` with a session.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, aliased

from c11.server.auth import Principal
from c11.server.orgs.models import Organization, OrgMember
from c11.server.orgs.policies import load
from c11.server.problems import Problem

#: Columns added to the registry's lookup query (prefix with a comma).
COLUMNS = (
    ", tm.status AS t_status, tm.org_id AS t_org, t.name AS t_name, t.policies AS t_policies, "
    "cm.org_id AS c_org, c.policies AS c_policies"
)
#: Joins added to it; two placeholders `{ph}`: the looked-up email, then the caller's verified email.
JOINS = (
    " LEFT JOIN org_members tm ON tm.email = {ph} AND tm.consent IS NOT NULL"
    " LEFT JOIN organizations t ON t.id = tm.org_id"
    " LEFT JOIN org_members cm ON cm.email = {ph} AND cm.status <> 'deactivated' AND cm.consent IS NOT NULL"
    " LEFT JOIN organizations c ON c.id = cm.org_id"
)


def join_params(principal: Principal, email: str) -> tuple[str, str]:
    """The values of `JOINS`' placeholders (an unverified caller belongs to no organization)."""
    return email.strip().lower(), principal.email.strip().lower() if principal.email_verified else ""


def _forbidden(outside_is_caller: bool) -> Problem:
    detail = (
        "This person's organization does not allow lookups from outside it."
        if outside_is_caller
        else "Your organization does not allow looking up keys of people outside it."
    )
    return Problem(
        403,
        "Forbidden",
        detail + " Ask an admin of the organization (policy allow_cross_org_lookup).",
        "cross-org-lookup-forbidden",
    )


def decide(
    t_status: str | None, t_org: str | None, t_policies: str | None, c_org: str | None, c_policies: str | None
) -> bool:
    """Raise 404 (deactivated member) or 403 (cross-organization lookup forbidden); True when the looked-up
    person is a member (the answer then carries the `org` field)."""
    if t_status == "deactivated":
        raise Problem(404, "Not Found", "No key is published for this email address.", "no-key")
    if t_org == c_org:
        return t_org is not None
    if t_org is not None and not load(t_policies).allow_cross_org_lookup:
        raise _forbidden(True)
    if c_org is not None and not load(c_policies).allow_cross_org_lookup:
        raise _forbidden(False)
    return t_org is not None


def org_field(conn: Connection | Session, org_id: str, name: str, policies: str | None) -> dict[str, Any]:
    """The `org` field of a member's lookup answer: what clients of anyone encrypting for them apply."""
    from c11.server.groups.recovery import recovery_public_keys

    p = load(policies)
    if isinstance(conn, Session):
        keys = recovery_public_keys(conn, org_id)
    else:
        with Session(bind=conn) as s:
            keys = recovery_public_keys(s, org_id)
    return {
        "name": name,
        "recovery_keys": keys,
        "require_online": p.require_online,
        "default_expiry_days": p.default_expiry_days,
    }


def check(s: Session, principal: Principal, email: str) -> dict[str, Any] | None:
    """`decide` with two queries in a session; the `org` field, or None for a non-member."""
    target, caller = join_params(principal, email)
    tm, cm = aliased(OrgMember), aliased(OrgMember)
    t, c = aliased(Organization), aliased(Organization)
    trow = s.execute(
        select(tm.status, tm.org_id, t.name, t.policies)
        .join(t, t.id == tm.org_id)
        .where(tm.email == target, tm.consent.is_not(None))
    ).first()
    crow = (
        s.execute(
            select(cm.org_id, c.policies)
            .join(c, c.id == cm.org_id)
            .where(cm.email == caller, cm.status != "deactivated", cm.consent.is_not(None))
        ).first()
        if caller
        else None
    )
    member = decide(
        trow.status if trow else None,
        trow.org_id if trow else None,
        trow.policies if trow else None,
        crow.org_id if crow else None,
        crow.policies if crow else None,
    )
    return org_field(s, trow.org_id, trow.name, trow.policies) if member and trow else None
