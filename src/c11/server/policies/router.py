"""HTTP routes of encryption policies (docs/registry.md §3): record a recipient set, list recent ones, get, delete.

A member is an email (resolved through the registry when the policy is reused) or a public key
(fingerprint and key line). The author is always a member. Equal sets are one policy (canonical digest).
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from c11.errors import RecipientError
from c11.keys.publickey import PublicKey
from c11.log.entries import canonical_json, email_hash
from c11.server.accounts.schemas import normalize_email
from c11.server.auth import Principal, require_scope, require_user
from c11.server.context import Ctx
from c11.server.db import utcnow
from c11.server.logsrv.service import append
from c11.server.policies.models import EncryptionPolicy
from c11.server.problems import Problem, not_found, responses

router = APIRouter(
    prefix="/api/v1/policies",
    tags=["policies"],
    dependencies=[Depends(require_user)],
    responses=responses(401, 403, 404, 422),
)
Reader = Annotated[Principal, Depends(require_scope("policies:read"))]
Writer = Annotated[Principal, Depends(require_scope("policies:write"))]
MAX_MEMBERS = 500


class MemberIn(BaseModel):
    """An email, or a public key line, or both (then the email names the member)."""

    email: str | None = Field(default=None, max_length=320)
    public_key: str | None = Field(default=None, max_length=8192)


class PolicyIn(BaseModel):
    recipients: list[MemberIn] = Field(max_length=MAX_MEMBERS)
    name: str | None = Field(default=None, max_length=200)


class MemberOut(BaseModel):
    email: str | None = None
    fingerprint: str | None = None
    public_key: str | None = None


class PolicyOut(BaseModel):
    id: str
    name: str | None
    members: list[MemberOut]
    created_at: str
    last_used_at: str
    use_count: int
    new: bool = False


def canonical_members(recipients: list[MemberIn], author: str) -> list[dict[str, str]]:
    """Members as sorted, de-duplicated dicts: {"email"} or {"fingerprint", "public_key"}; author added."""
    found: dict[tuple[int, str], dict[str, str]] = {(0, author): {"email": author}}
    for m in recipients:
        if m.email:
            try:
                e = normalize_email(m.email)
            except ValueError as err:
                raise Problem(422, "Bad member", str(err), "bad-member") from None
            found[(0, e)] = {"email": e}
        elif m.public_key:
            try:
                key = PublicKey.parse(m.public_key)
            except RecipientError as err:
                raise Problem(422, "Bad member", str(err), "bad-member") from None
            found[(1, key.fingerprint)] = {"fingerprint": key.fingerprint, "public_key": key.line()}
        else:
            raise Problem(422, "Bad member", "Each member needs an email or a public key.", "bad-member")
    return [found[k] for k in sorted(found)]


def _out(p: EncryptionPolicy, new: bool = False) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "members": json.loads(p.members),
        "created_at": p.created_at.isoformat(),
        "last_used_at": p.last_used_at.isoformat(),
        "use_count": p.use_count,
        "new": new,
    }


@router.post(
    "",
    response_model=PolicyOut,
    summary="Record a recipient set (new policy, or reuse)",
    responses={201: {"model": PolicyOut, "description": "A new policy"}},
)
def record(body: PolicyIn, principal: Writer, ctx: Ctx, response: Response) -> dict[str, Any]:
    """Save the set as a policy, or bump the existing policy with the same members (201 when new)."""
    members = canonical_members(body.recipients, principal.email.lower())
    text = canonical_json(members)
    digest = hashlib.sha256(text.encode()).hexdigest()
    for _ in range(2):
        try:
            with ctx.db.session() as s:
                p = s.execute(
                    select(EncryptionPolicy).where(
                        EncryptionPolicy.user_id == principal.user_id, EncryptionPolicy.digest == digest
                    )
                ).scalar_one_or_none()
                new = p is None
                now = utcnow()
                if p is None:
                    p = EncryptionPolicy(
                        user_id=principal.user_id,
                        digest=digest,
                        members=text,
                        name=body.name,
                        created_at=now,
                        last_used_at=now,
                        use_count=1,
                    )
                    s.add(p)
                else:
                    p.last_used_at, p.use_count = now, p.use_count + 1
                    p.name = body.name or p.name
                s.flush()
                response.status_code = 201 if new else 200
                out = _out(p, new)
            # one `encrypt` log entry per recorded encryption: usage events (docs/organizations.md) read it as "protect"
            append(
                ctx,
                "encrypt",
                {"policy": out["id"], "recipients": len(members), "new": new},
                person=email_hash(principal.email) if principal.email_verified else None,
                private={},
            )  # v2: the author in the actor commitment; only a verified email names a person
            return out
        except IntegrityError:  # the same new set recorded concurrently: bump it instead
            continue
    raise Problem(409, "Conflict", "The policy changed concurrently; try again.", "conflict")


@router.get("", response_model=list[PolicyOut], summary="Recent encryption policies")
def list_policies(principal: Reader, ctx: Ctx, limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[dict[str, Any]]:
    """Your policies, most recently used first."""
    with ctx.db.session() as s:
        rows = s.scalars(
            select(EncryptionPolicy)
            .where(EncryptionPolicy.user_id == principal.user_id)
            .order_by(EncryptionPolicy.last_used_at.desc(), EncryptionPolicy.id)
            .limit(limit)
        )
        return [_out(p) for p in rows]


def _own(s: Any, policy_id: str, principal: Principal) -> EncryptionPolicy:
    p = s.get(EncryptionPolicy, policy_id)
    if p is None or p.user_id != principal.user_id:
        raise not_found("policy")
    return p


@router.get("/{policy_id}", response_model=PolicyOut, summary="One encryption policy")
def get_policy(policy_id: str, principal: Reader, ctx: Ctx) -> dict[str, Any]:
    with ctx.db.session() as s:
        return _out(_own(s, policy_id, principal))


@router.delete("/{policy_id}", status_code=204, summary="Forget an encryption policy")
def delete_policy(policy_id: str, principal: Writer, ctx: Ctx) -> Response:
    with ctx.db.session() as s:
        s.delete(_own(s, policy_id, principal))
    return Response(status_code=204)
