"""Members' signature keys (permission crud:signature-keys-org): list them, and withdraw a compromised one.

A member's signing key is the Ed25519 half of their published key line, so withdrawing it removes the
published key from the registry (logged like the member's own removal); they publish a new one next.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select

from c11.keys.publickey import PublicKey
from c11.log.entries import email_hash
from c11.server.accounts.models import User
from c11.server.context import Ctx
from c11.server.logsrv.service import log_service
from c11.server.orgs import service
from c11.server.orgs.models import OrgMember
from c11.server.orgs.permissions import OrgCaller, require_org_permission
from c11.server.problems import Problem, responses
from c11.server.registry.models import RegistryKey

router = APIRouter(prefix="/api/v1/org/signature-keys", tags=["organizations"], responses=responses(401, 403, 404, 422))
SignatureKeys = Annotated[OrgCaller, Depends(require_org_permission("crud:signature-keys-org"))]


class SignatureKeyOut(BaseModel):
    email: str
    status: str
    #: Key ID of the Ed25519 signing key (what recipients see as the verified sender), or None.
    signing_key_id: str | None
    #: Fingerprint of the whole published key line, its log entry and when it was published.
    fingerprint: str | None
    log_index: int | None
    published_at: datetime | None


class WithdrawIn(BaseModel):
    email: str = Field(max_length=320)


@router.get("", response_model=list[SignatureKeyOut], summary="Members' signature keys")
def list_keys(caller: SignatureKeys, ctx: Ctx) -> list[SignatureKeyOut]:
    with ctx.db.session() as s:
        rows = s.execute(
            select(OrgMember.email, OrgMember.status, RegistryKey)
            .outerjoin(User, User.email == OrgMember.email)
            .outerjoin(RegistryKey, RegistryKey.user_id == User.id)
            .where(OrgMember.org_id == caller.org_id, OrgMember.consent.is_not(None))
            .order_by(OrgMember.email)
        ).all()
        return [
            SignatureKeyOut(
                email=email,
                status=status,
                signing_key_id=PublicKey.parse(key.public_key).sig_fingerprint if key else None,
                fingerprint=key.fingerprint if key else None,
                log_index=key.log_index if key else None,
                published_at=key.published_at if key else None,
            )
            for email, status, key in rows
        ]


@router.post("/withdraw", response_model=SignatureKeyOut, summary="Withdraw a member's published key")
def withdraw(body: WithdrawIn, caller: SignatureKeys, ctx: Ctx) -> SignatureKeyOut:
    """For a lost or compromised device: the key (and its signing half) is no longer served; logged."""
    email = service.normalize(body.email)
    with log_service(ctx).transaction() as (s, log):
        member = s.scalar(
            select(OrgMember).where(
                OrgMember.email == email, OrgMember.org_id == caller.org_id, OrgMember.consent.is_not(None)
            )
        )  # never an invitee's key
        row = (
            s.execute(
                select(RegistryKey).join(User, User.id == RegistryKey.user_id).where(User.email == email)
            ).scalar_one_or_none()
            if member
            else None
        )
        if row is None:
            raise Problem(
                404, "Not Found", f"{email} is no member of your organization with a published key.", "not-found"
            )
        ehash = email_hash(email)
        log.append("key", {"action": "remove", "email_hash": ehash, "public_key": None}, subject=ehash)
        log.append(
            "admin",
            service.admin_entry("signature-key.withdraw", caller.principal.email, caller.org_id, email),
            subject=caller.org_id,
        )
        s.delete(row)
        return SignatureKeyOut(
            email=email, status=member.status, signing_key_id=None, fingerprint=None, log_index=None, published_at=None
        )
