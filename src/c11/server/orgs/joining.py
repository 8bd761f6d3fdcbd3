"""Invitations to join an organization, from the invited person's side (docs/organizations.md): see them, with the
recovery keys that would apply, then accept or decline.

An admin adding an address outside the organization's verified domains makes a not-consented membership row
(`OrgMember.consent` None): it gives the organization nothing (no recovery key in the person's lookups, no
admin action on them) until the person, logged in with that verified email, accepts. Accepting names the
recovery keys the person was shown; if the organization changed them meanwhile the server refuses (409), so
nobody consents to keys they did not see. Routes: /api/v1/memberships (any signed-in account).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from c11.server.auth import Principal, require_scope
from c11.server.context import Ctx, ServerContext
from c11.server.db import utcnow
from c11.server.logsrv.service import log_service
from c11.server.orgs import service
from c11.server.orgs.models import Organization, OrgMember
from c11.server.orgs.permissions import JOIN_SCOPE, READ_SCOPE
from c11.server.orgs.policies import load
from c11.server.outbox.service import enqueue
from c11.server.problems import Problem, responses

router = APIRouter(prefix="/api/v1/memberships", tags=["organizations"], responses=responses(401, 403, 404, 409))
Reader = Annotated[Principal, Depends(require_scope(READ_SCOPE))]
Joiner = Annotated[Principal, Depends(require_scope(JOIN_SCOPE))]


class RecoveryKeyOut(BaseModel):
    name: str
    fingerprint: str
    public_key: str


class JoinInvitationOut(BaseModel):
    org_id: str
    org: str
    invited_by: str | None
    invited_at: str | None
    #: Added as recipients of everything you encrypt, and of everything anyone encrypts for you, once you join.
    recovery_keys: list[RecoveryKeyOut]
    policies: dict[str, Any]


class AcceptIn(BaseModel):
    org_id: str = Field(max_length=32)
    recovery_keys: list[str] = Field(max_length=100, description="Fingerprints of the recovery keys you were shown")


class DeclineIn(BaseModel):
    org_id: str = Field(max_length=32)


def invite_email(ctx: ServerContext, s: Session, org: Organization, email: str, inviter: str) -> None:
    """Queue the email telling `email` that `org` invites them and how to answer."""
    base = ctx.config.base_url
    enqueue(
        s,
        "org-invitation",
        email,
        f"{org.name} invites you to join it on c11",
        f"{inviter} invites you to join the organization {org.name!r} on {base}.\n\n"
        "If you join, its recovery keys are added whenever you or anyone else encrypts for you, and its "
        "admins can deactivate your membership and withdraw your published key. Nothing changes until you "
        "accept.\n\nSee the recovery keys and answer, signed in with this address:\n"
        "  c11 org join            # lists invitations and their recovery keys\n"
        f"  c11 org join {org.id} --accept\n  c11 org join {org.id} --decline\n",
    )


def _invited_row(s: Session, principal: Principal, org_id: str) -> OrgMember:
    m = s.scalar(
        select(OrgMember).where(
            OrgMember.email == _email(principal), OrgMember.org_id == org_id, OrgMember.consent.is_(None)
        )
    )
    if m is None:
        raise Problem(404, "Not Found", "You have no pending invitation from this organization.", "no-invitation")
    return m


def _email(principal: Principal) -> str:
    if not principal.email_verified:
        raise Problem(
            403,
            "Forbidden",
            "Verify your email address first: invitations go to verified addresses.",
            "email-not-verified",
        )
    return principal.email.strip().lower()


def _recovery(s: Session, org_id: str) -> list[dict[str, str]]:
    from c11.server.groups.recovery import listing

    return [
        {"name": r.name, "fingerprint": r.fingerprint, "public_key": r.public_key}
        for r in listing(s, org_id)
        if r.status == "current"
    ]


@router.get("/invitations", response_model=list[JoinInvitationOut], summary="Organizations inviting you to join")
def invitations(principal: Reader, ctx: Ctx) -> list[dict[str, Any]]:
    """Each with the recovery keys that will apply to you if you accept, and its policies."""
    with ctx.db.session() as s:
        rows = s.execute(
            select(OrgMember, Organization)
            .join(Organization, Organization.id == OrgMember.org_id)
            .where(OrgMember.email == _email(principal), OrgMember.consent.is_(None))
        ).all()
        return [
            {
                "org_id": o.id,
                "org": o.name,
                "invited_by": m.added_by,
                "invited_at": m.added_at.isoformat() if m.added_at else None,
                "recovery_keys": _recovery(s, o.id),
                "policies": load(o.policies).model_dump(),
            }
            for m, o in rows
        ]


@router.post("/accept", summary="Accept an invitation to join an organization")
def accept(body: AcceptIn, principal: Joiner, ctx: Ctx) -> dict[str, Any]:
    """`recovery_keys` must be exactly the fingerprints of the organization's current recovery keys (what
    you were shown): 409 `recovery-keys-changed` otherwise."""
    with log_service(ctx).transaction() as (s, log):
        m = _invited_row(s, principal, body.org_id)
        current = sorted(r["fingerprint"] for r in _recovery(s, m.org_id))
        if sorted(set(body.recovery_keys)) != current:
            raise Problem(
                409,
                "Conflict",
                "The organization's recovery keys are not the ones you were shown; look at the invitation again.",
                "recovery-keys-changed",
                recovery_keys=current,
            )
        m.consent, m.consented_at = "accepted", utcnow()
        service.refresh_status(s, m)
        log.append("admin", service.admin_entry("member.accept", m.email, m.org_id, m.email), subject=m.org_id)
        return service.member_json(m)


@router.post("/decline", status_code=204, summary="Decline an invitation to join an organization")
def decline(body: DeclineIn, principal: Joiner, ctx: Ctx) -> Response:
    with log_service(ctx).transaction() as (s, log):
        m = _invited_row(s, principal, body.org_id)
        log.append("admin", service.admin_entry("member.decline", m.email, m.org_id, m.email), subject=m.org_id)
        s.delete(m)
    return Response(status_code=204)
