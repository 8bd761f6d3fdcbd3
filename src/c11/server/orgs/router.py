"""HTTP routes of the caller's organization (docs/organizations.md) under /api/v1/org: what it is and its
policies, members (add, pre-load with keys, list, deactivate, reactivate), admins, invitations, directory.

Admin routes depend on `require_org_permission(...)` (the test in tests/orgs walks them all); every admin
change appends an `admin` log entry in the same transaction. Emails travel in bodies and query strings.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from c11.errors import RecipientError
from c11.keys.publickey import PublicKey
from c11.server.accounts.models import User
from c11.server.accounts.router import deliver_later
from c11.server.accounts.schemas import EmailAddress
from c11.server.context import Ctx
from c11.server.keyserver.invites import create_invitations, expire_old, send_again
from c11.server.keyserver.models import Invitation
from c11.server.logsrv.service import log_service
from c11.server.orgs import domains, joining, policylog, service
from c11.server.orgs.models import Organization, OrgMember
from c11.server.orgs.permissions import (
    PERMISSIONS,
    OrgCaller,
    parse_permissions,
    require_member,
    require_org_permission,
)
from c11.server.orgs.policies import OrgPolicies, dump, load
from c11.server.problems import Problem, responses
from c11.server.registry.models import RegistryKey

router = APIRouter(prefix="/api/v1/org", tags=["organizations"], responses=responses(401, 403, 404, 409, 422))
Member = Annotated[OrgCaller, Depends(require_member)]
Config = Annotated[OrgCaller, Depends(require_org_permission("crud:config-org"))]
Members = Annotated[OrgCaller, Depends(require_org_permission("crud:members-org"))]
Invitations = Annotated[OrgCaller, Depends(require_org_permission("crud:invitations-org"))]
#: Pre-loading members with keys needs both permissions (two dependencies).
KeyMaker = Annotated[OrgCaller, Depends(require_org_permission("crud:encryption-keys-org"))]
MAX_EMAILS = 1000
Email = EmailAddress  # normalised; invisible and look-alike characters refused (c11._internal.emails)


class YouOut(BaseModel):
    email: str
    is_admin: bool
    permissions: list[str]


class OrgOut(BaseModel):
    id: str
    name: str
    policies: OrgPolicies
    you: YouOut
    #: Public key lines of the current recovery keys: clients add them to everything members encrypt.
    recovery_keys: list[str] = []
    #: The policy clients apply, as the log commits to it (GET only; docs/organizations.md "The signed policy"):
    #: document, log_index, entry, tree_size, checkpoint, inclusion_proof[, known_size, consistency_proof].
    policy: dict[str, Any] | None = None


class PoliciesIn(BaseModel):
    """Policies to change; fields left out keep their value (`default_expiry_days: null` clears it)."""

    model_config = ConfigDict(extra="forbid")

    allow_cross_org_lookup: bool | None = None
    allow_member_listing: bool | None = None
    allow_device_keys: bool | None = None
    require_online: bool | None = None
    default_expiry_days: int | None = Field(default=None, ge=1, le=36500)


class EmailsIn(BaseModel):
    emails: list[Email] = Field(min_length=1, max_length=MAX_EMAILS)


class EmailIn(BaseModel):
    email: Email


class AdminIn(BaseModel):
    email: Email
    permissions: list[str] = Field(min_length=1, max_length=len(PERMISSIONS))


class MemberOut(BaseModel):
    email: str
    status: str = Field(description="invited, active or deactivated")
    is_admin: bool
    permissions: list[str]
    display_name: str | None
    external_id: str | None
    consent: str | None = Field(
        default=None,
        description="domain, accepted or operator; null: invited to join, not accepted yet (not a member until then)",
    )
    added_at: str | None
    deactivated_at: str | None
    key_type: str | None = Field(
        default=None,
        description="In the member list: the published key's KEM (mlkem768x25519 or x25519), `temporary` (a pending "
        "invitation's temporary key), or null (no key yet)",
    )


class InvitationOut(BaseModel):
    status: str = Field(description="pending, accepted, expired, or registered (has an account: none made)")
    fingerprint: str | None
    expires_at: str | None
    send_count: int


class AddedOut(BaseModel):
    email: str
    result: str = Field(
        description="added (a verified domain of the organization), invited-to-join (another "
        "domain: a member once they accept), domain-not-verified (pre-loading outside the verified "
        "domains: refused), already-member (of this organization), in-another-org"
    )
    status: str | None = Field(description="The member's status (null: not a member here)")
    invitation: InvitationOut | None


class DirectoryEntry(BaseModel):
    email: str
    display_name: str | None


def _org(s: Any, caller: OrgCaller) -> Organization:
    org = s.get(Organization, caller.org_id)
    if org is None:  # deleted meanwhile
        raise Problem(403, "Forbidden", "You are not a member of an organization.", "not-a-member")
    return org


def _info(s: Any, org: Organization, caller: OrgCaller) -> dict[str, Any]:
    from c11.server.groups.recovery import recovery_public_keys

    return {
        "id": org.id,
        "name": org.name,
        "policies": load(org.policies).model_dump(),
        "recovery_keys": recovery_public_keys(s, org.id),
        "you": {
            "email": caller.principal.email.lower(),
            "is_admin": caller.is_admin,
            "permissions": sorted(caller.permissions) if caller.is_admin else [],
        },
    }


@router.get("", response_model=OrgOut, summary="Your organization, its policies and your permissions")
def show(
    caller: Member,
    ctx: Ctx,
    known_size: Annotated[
        int | None, Query(ge=0, description="Tree size you trust; adds a consistency proof to it")
    ] = None,
) -> dict[str, Any]:
    """For any member: what clients apply (policies, with the signed policy document and its log proof) and
    what you may do (admin permissions)."""
    with ctx.db.session() as s:
        info = _info(s, _org(s, caller), caller)
    return {**info, "policy": policylog.proven(ctx, caller.org_id, known_size)}


@router.put("/policies", response_model=OrgOut, summary="Change the organization's policies")
def set_policies(body: PoliciesIn, caller: Config, ctx: Ctx) -> dict[str, Any]:
    """Fields left out keep their value; the server enforces them at once (docs/organizations.md)."""
    with log_service(ctx).transaction() as (s, log):
        org = _org(s, caller)
        current = load(org.policies).model_dump()
        current.update({k: getattr(body, k) for k in body.model_fields_set})
        try:
            org.policies = dump(OrgPolicies.model_validate(current))
        except ValidationError:
            raise Problem(
                422,
                "Bad policies",
                "Only default_expiry_days may be null; the other policies are true or false.",
                "validation",
            ) from None
        log.append(
            "admin",
            {
                **service.admin_entry("policies.set", caller.principal.email, org.id, org.id),
                "policies": load(org.policies).model_dump(),
            },
            subject=org.id,
        )
        policylog.record(s, log, org)
        return _info(s, org, caller)


# -- members -----------------------------------------------------------------------------------------------


@router.get("/members", response_model=list[MemberOut], summary="List members")
def list_members(
    caller: Members, ctx: Ctx, status: Annotated[str | None, Query(pattern="^(invited|active|deactivated)$")] = None
) -> list[dict[str, Any]]:
    with ctx.db.session() as s:
        q = select(OrgMember).where(OrgMember.org_id == caller.org_id)
        if status:
            q = q.where(OrgMember.status == status)
        keys = _key_types(s, caller.org_id)
        return [
            {**service.member_json(m), "key_type": keys.get(m.email)} for m in s.scalars(q.order_by(OrgMember.email))
        ]


def _key_types(s: Any, org_id: str) -> dict[str, str]:
    """email -> the member's key type: the published key's KEM, else `temporary` for a pending invitation."""
    out = {
        e: "temporary"
        for e in s.scalars(
            select(Invitation.email)
            .join(OrgMember, OrgMember.email == Invitation.email)
            .where(OrgMember.org_id == org_id, Invitation.status == "pending")
        )
    }
    for e, line in s.execute(
        select(User.email, RegistryKey.public_key)
        .join(RegistryKey, RegistryKey.user_id == User.id)
        .join(OrgMember, OrgMember.email == User.email)
        .where(OrgMember.org_id == org_id)
    ):
        try:
            out[e] = PublicKey.parse(line).kem
        except RecipientError:  # a stored key this version cannot read
            out[e] = "unknown"
    return out


def _invitation(d: dict[str, Any] | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {
        "status": d["status"],
        "fingerprint": d["fingerprint"],
        "expires_at": d["expires_at"],
        "send_count": d["send_count"],
    }


def _add(ctx: Any, caller: OrgCaller, emails: list[str], *, send: bool, action: str) -> list[dict[str, Any]]:
    """Add members: addresses of the organization's verified domains at once (consent by domain); anyone
    else is invited to join and becomes a member only by accepting (`orgs.joining`); pre-loading (no email)
    is refused outside the verified domains. A member of another organization is never taken."""
    expire_old(ctx)
    wanted = list(dict.fromkeys(e.strip().lower() for e in emails))
    out = []
    with log_service(ctx).transaction() as (s, log):
        org = _org(s, caller)
        existing = {m.email: m for m in s.scalars(select(OrgMember).where(OrgMember.email.in_(wanted)))}
        by_domain, outsiders, refused, again = [], [], [], []
        for e in wanted:
            m = existing.get(e)
            covered = domains.covers(s, org.id, e)
            if m is not None and m.org_id == org.id and m.consent is None and send:
                again.append(m)  # invited before and not accepted (or recorded before consent existed)
            if m is not None and (m.consent is not None or m.org_id == org.id or not covered):
                continue
            (by_domain if covered else refused if not send else outsiders).append(e)
        for e in by_domain:
            service.add_member(s, org, e, added_by=caller.principal.email, consent="domain")
            log.append("admin", service.admin_entry(action, caller.principal.email, org.id, e), subject=org.id)
        for e in outsiders:
            service.add_member(s, org, e, added_by=caller.principal.email, consent=None)
            joining.invite_email(ctx, s, org, e, caller.principal.email)
            log.append("admin", service.admin_entry("member.invite", caller.principal.email, org.id, e), subject=org.id)
        for m in again:
            joining.invite_email(ctx, s, org, m.email, caller.principal.email)
            log.append(
                "admin", service.admin_entry("member.invite", caller.principal.email, org.id, m.email), subject=org.id
            )
        invites = {
            d["email"]: d
            for d in create_invitations(
                ctx, s, log, caller.principal.user_id, caller.principal.email, by_domain, send=send
            )
        }
        members = {m.email: m for m in s.scalars(select(OrgMember).where(OrgMember.email.in_(wanted)))}
        for e in wanted:
            m = members.get(e)
            if e in by_domain:
                result = "added"
            elif e in outsiders:
                result = "invited-to-join"
            elif e in refused:
                result = "domain-not-verified"
            elif m is not None and m.org_id == org.id:
                result = "already-member" if m.consent is not None else "invited-to-join"
            else:
                result = "in-another-org"
            here = m is not None and m.org_id == org.id
            out.append(
                {
                    "email": e,
                    "result": result,
                    "status": m.status if here else None,
                    "invitation": _invitation(invites.get(e)),
                }
            )
    return out


@router.post("/members", response_model=list[AddedOut], summary="Add members (invited with temporary keys)")
def add_members(body: EmailsIn, caller: Members, ctx: Ctx, tasks: BackgroundTasks) -> list[dict[str, Any]]:
    """Each new member without an account gets an invitation email and a temporary key (docs/keyserver.md), so anyone
    can encrypt for them at once; people with an account are active members at once (verified email)."""
    out = _add(ctx, caller, body.emails, send=True, action="member.add")
    deliver_later(tasks, ctx)
    return out


@router.post(
    "/members/preload",
    response_model=list[AddedOut],
    summary="Add members and generate their keys (no email; identity provider)",
)
def preload_members(body: EmailsIn, caller: Members, _keys: KeyMaker, ctx: Ctx) -> list[dict[str, Any]]:
    """As adding members, but no invitation email is sent: the temporary keys wait for the members' first
    login through the identity provider (needs crud:members-org and crud:encryption-keys-org)."""
    return _add(ctx, caller, body.emails, send=False, action="member.preload")


def _may_change_admin(caller: OrgCaller, m: OrgMember) -> None:
    """403 unless the target is no admin, or an admin whose permissions the caller all holds: an admin with only
    crud:members-org cannot strip, demote or deactivate a more privileged admin (review finding 4)."""
    if not m.is_admin:
        return
    beyond = sorted(parse_permissions(m.permissions) - caller.permissions)
    if beyond:
        raise Problem(
            403,
            "Forbidden",
            f"{m.email} is an admin holding permissions you lack ({', '.join(beyond)}); only an admin holding "
            "all of them can change, demote or deactivate them.",
            "cannot-change-admin",
            permissions=beyond,
        )


def _set_active(ctx: Any, caller: OrgCaller, email: str, active: bool) -> dict[str, Any]:
    with log_service(ctx).transaction() as (s, log):
        m = service.member_in(s, caller.org_id, email)
        _may_change_admin(caller, m)
        service.set_active(m, active)
        if active:
            service.refresh_status(s, m)
        else:
            service.check_no_lockout(s, caller.org_id)
        log.append(
            "admin",
            service.admin_entry(
                "member.reactivate" if active else "member.deactivate", caller.principal.email, caller.org_id, m.email
            ),
            subject=caller.org_id,
        )
        return service.member_json(m)


@router.post("/members/deactivate", response_model=MemberOut, summary="Deactivate a member")
def deactivate(body: EmailIn, caller: Members, ctx: Ctx) -> dict[str, Any]:
    """Their keys are no longer served (lookups answer 404) and they lose organization access; what they
    could open stays protected."""
    return _set_active(ctx, caller, body.email, False)


@router.post("/members/reactivate", response_model=MemberOut, summary="Reactivate a member")
def reactivate(body: EmailIn, caller: Members, ctx: Ctx) -> dict[str, Any]:
    return _set_active(ctx, caller, body.email, True)


# -- admins ------------------------------------------------------------------------------------------------


@router.get("/admins", response_model=list[MemberOut], summary="List admins and their permissions")
def list_admins(caller: Members, ctx: Ctx) -> list[dict[str, Any]]:
    with ctx.db.session() as s:
        return [
            service.member_json(m)
            for m in s.scalars(
                select(OrgMember)
                .where(OrgMember.org_id == caller.org_id, OrgMember.is_admin.is_(True))
                .order_by(OrgMember.email)
            )
        ]


@router.put("/admins", response_model=MemberOut, summary="Designate an admin, or change their permissions")
def set_admin(body: AdminIn, caller: Members, ctx: Ctx) -> dict[str, Any]:
    """`permissions` is a subset of the organization permissions; you can grant only permissions you hold."""
    wanted = frozenset(body.permissions)
    beyond = sorted(wanted & set(PERMISSIONS) - caller.permissions)
    if beyond:
        raise Problem(
            403,
            "Forbidden",
            f"You can grant only permissions you hold; you lack {', '.join(beyond)}.",
            "cannot-grant",
            permissions=beyond,
        )
    with log_service(ctx).transaction() as (s, log):
        m = service.member_in(s, caller.org_id, body.email)
        _may_change_admin(caller, m)
        service.set_admin(s, m, wanted)
        service.check_no_lockout(s, caller.org_id)
        log.append(
            "admin",
            {
                **service.admin_entry("admin.set", caller.principal.email, caller.org_id, m.email),
                "permissions": sorted(wanted),
            },
            subject=caller.org_id,
        )
        return service.member_json(m)


@router.delete("/admins", response_model=MemberOut, summary="Demote an admin (they stay a member)")
def demote(caller: Members, ctx: Ctx, email: Annotated[str, Query(max_length=320)]) -> dict[str, Any]:
    with log_service(ctx).transaction() as (s, log):
        m = service.member_in(s, caller.org_id, email)
        if not m.is_admin:
            raise Problem(409, "Conflict", f"{m.email} is not an admin.", "not-an-admin")
        _may_change_admin(caller, m)
        service.demote(m)
        service.check_no_lockout(s, caller.org_id)
        log.append(
            "admin",
            service.admin_entry("admin.remove", caller.principal.email, caller.org_id, m.email),
            subject=caller.org_id,
        )
        return service.member_json(m)


# -- invitations -------------------------------------------------------------------------------------------


class OrgInvitationOut(BaseModel):
    id: str
    email: str
    status: str
    fingerprint: str | None
    created_at: str | None
    expires_at: str | None
    send_count: int


def _inv_json(inv: Invitation) -> dict[str, Any]:
    return {
        "id": inv.id,
        "email": inv.email,
        "status": inv.status,
        "fingerprint": inv.fingerprint,
        "created_at": inv.created_at.isoformat(),
        "expires_at": inv.expires_at.isoformat(),
        "send_count": inv.send_count,
    }


@router.get("/invitations", response_model=list[OrgInvitationOut], summary="Invitations of the members")
def list_invitations(caller: Invitations, ctx: Ctx) -> list[dict[str, Any]]:
    """The invitations (pending, accepted, expired) of the organization's members, by whoever sent them."""
    expire_old(ctx)
    with ctx.db.session() as s:
        rows = s.scalars(
            select(Invitation)
            .join(OrgMember, OrgMember.email == Invitation.email)
            .where(OrgMember.org_id == caller.org_id, OrgMember.consent.is_not(None))
            .order_by(Invitation.email, Invitation.created_at)
        )
        return [_inv_json(i) for i in rows]


@router.post("/invitations/resend", response_model=OrgInvitationOut, summary="Send a member's invitation again")
def resend_invitation(body: EmailIn, caller: Invitations, ctx: Ctx, tasks: BackgroundTasks) -> dict[str, Any]:
    """Email the pending invitation of a member again (also one pre-loaded without email) and extend it."""
    expire_old(ctx)
    with log_service(ctx).transaction() as (s, log):
        m = service.member_in(s, caller.org_id, body.email)
        inv = s.scalar(select(Invitation).where(Invitation.email == m.email, Invitation.status == "pending"))
        if inv is None:
            raise Problem(
                409,
                "Conflict",
                f"{m.email} has no pending invitation (registered, or it expired: add "
                "them again after removing, or ask them to sign up).",
                "invitation-not-pending",
            )
        send_again(ctx, s, inv, caller.principal.email)
        log.append(
            "admin",
            service.admin_entry("invitation.resend", caller.principal.email, caller.org_id, m.email),
            subject=caller.org_id,
        )
        out = _inv_json(inv)
    deliver_later(tasks, ctx)
    return out


# -- directory ---------------------------------------------------------------------------------------------


@router.get("/directory", response_model=list[DirectoryEntry], summary="Members (recipient picker)")
def directory(
    caller: Member,
    ctx: Ctx,
    q: Annotated[str | None, Query(max_length=320, description="Part of an email or name")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Active and invited members, when the policy allow_member_listing is on (403 otherwise)."""
    with ctx.db.session() as s:
        org = _org(s, caller)
        if not load(org.policies).allow_member_listing:
            raise Problem(
                403,
                "Forbidden",
                "Your organization does not allow members to list other members: an "
                "admin must allow it (policy allow_member_listing), or type the full email address.",
                "member-listing-forbidden",
            )
        query = select(OrgMember.email, OrgMember.display_name).where(
            OrgMember.org_id == caller.org_id, OrgMember.status != "deactivated", OrgMember.consent.is_not(None)
        )
        if q:
            like = f"%{q.strip().lower().replace('%', '').replace('_', '')}%"
            query = query.where(OrgMember.email.like(like) | OrgMember.display_name.ilike(like))
        rows = s.execute(query.order_by(OrgMember.email).limit(limit)).all()
        return [{"email": e, "display_name": n} for e, n in rows]
