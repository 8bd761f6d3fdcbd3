"""HTTP routes of organization encryption policies (docs/organizations.md "Encryption policies", SPEC F21).

Named recipient sets (emails and groups of the organization) that admins holding crud:config-org add, edit
and remove, and every member lists when encrypting. The server keeps addresses and group ids only: clients
resolve each recipient as if typed (registry proofs, group-key log) and add the sender and recovery keys by
their own organization rules, so an edited list can change who is *offered*, never whose key is used.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from c11.server.accounts.schemas import EmailAddress
from c11.server.context import Ctx
from c11.server.db import utcnow
from c11.server.logsrv.service import log_service
from c11.server.orgs import service
from c11.server.orgs.models import OrgEncryptionPolicy, OrgGroup
from c11.server.orgs.permissions import OrgCaller, require_member, require_org_permission
from c11.server.problems import Problem, not_found, responses

router = APIRouter(
    prefix="/api/v1/org/encryption-policies", tags=["organizations"], responses=responses(401, 403, 404, 409, 422)
)
Member = Annotated[OrgCaller, Depends(require_member)]
Config = Annotated[OrgCaller, Depends(require_org_permission("crud:config-org"))]
PolicyId = Annotated[str, Path(max_length=32, pattern=r"^[0-9a-zA-Z_-]+$")]
MAX_EMAILS = 500
MAX_GROUPS = 100
MAX_POLICIES = 1000


class EncPolicyIn(BaseModel):
    """The whole policy (an edit replaces every field). Groups by name or id, of your organization."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")
    description: str | None = Field(default=None, max_length=500)
    emails: list[EmailAddress] = Field(default_factory=list, max_length=MAX_EMAILS)
    groups: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=MAX_GROUPS
    )


class GroupRef(BaseModel):
    id: str
    name: str | None = Field(description="The group's current name; null when it was deleted since")


class EncPolicyOut(BaseModel):
    id: str
    name: str
    description: str | None
    emails: list[str]
    groups: list[GroupRef]
    recipients: list[str] = Field(description="What a client encrypts for: the emails, then group:NAME per group")
    created_by: str | None
    created_at: str
    updated_by: str | None
    updated_at: str


def _groups(s: Session, org_id: str, wanted: list[str]) -> list[str]:
    """Sorted ids of the groups named (by id or name) in `wanted`; 422 for one not of this organization."""
    rows = s.execute(select(OrgGroup.id, OrgGroup.name).where(OrgGroup.org_id == org_id)).all()
    by_id = {r.id: r.id for r in rows}
    by_name = {r.name.casefold(): r.id for r in rows}
    found: set[str] = set()
    for g in wanted:
        gid = by_id.get(g.strip()) or by_name.get(g.strip().casefold())
        if gid is None:
            raise Problem(
                422,
                "Unknown group",
                f"Your organization has no group {g.strip()!r} (see `c11 org groups list`).",
                "unknown-group",
            )
        found.add(gid)
    return sorted(found)


def _group_names(s: Session, org_id: str) -> dict[str, str]:
    return {r.id: r.name for r in s.execute(select(OrgGroup.id, OrgGroup.name).where(OrgGroup.org_id == org_id))}


def _out(s: Session, p: OrgEncryptionPolicy, names: dict[str, str] | None = None) -> dict[str, Any]:
    if names is None:
        names = _group_names(s, p.org_id)
    emails: list[str] = json.loads(p.emails)
    groups = [{"id": g, "name": names.get(g)} for g in json.loads(p.group_ids)]
    return {
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "emails": emails,
        "groups": groups,
        "recipients": emails + [f"group:{g['name']}" for g in groups if g["name"] is not None],
        "created_by": p.created_by,
        "created_at": p.created_at.isoformat(),
        "updated_by": p.updated_by,
        "updated_at": p.updated_at.isoformat(),
    }


def _fill(s: Session, p: OrgEncryptionPolicy, body: EncPolicyIn, caller: OrgCaller) -> None:
    group_ids = _groups(s, caller.org_id, body.groups)
    emails = sorted(set(body.emails))
    if not emails and not group_ids:
        raise Problem(422, "Empty policy", "Give at least one email or group.", "empty-policy")
    p.name, p.description = body.name.strip(), (body.description or "").strip() or None
    p.emails, p.group_ids = json.dumps(emails), json.dumps(group_ids)
    p.updated_by, p.updated_at = caller.principal.email, utcnow()


def _get(s: Session, caller: OrgCaller, policy_id: str) -> OrgEncryptionPolicy:
    p = s.get(OrgEncryptionPolicy, policy_id)
    if p is None or p.org_id != caller.org_id:  # another organization's: as if absent
        raise not_found("encryption policy")
    return p


def _log(log: Any, action: str, caller: OrgCaller, p: OrgEncryptionPolicy) -> None:
    log.append(
        "admin",
        {
            **service.admin_entry(action, caller.principal.email, caller.org_id, p.id),
            "name": p.name,
            "recipients": len(json.loads(p.emails)) + len(json.loads(p.group_ids)),
        },
        subject=caller.org_id,
    )


def _taken(name: str) -> Problem:
    return Problem(409, "Name taken", f"Your organization already has an encryption policy {name!r}.", "conflict")


@router.get("", response_model=list[EncPolicyOut], summary="Your organization's encryption policies (members)")
def list_policies(caller: Member, ctx: Ctx) -> list[dict[str, Any]]:
    """Every member may list them (the Encrypt page offers them); sorted by name."""
    with ctx.db.session() as s:
        names = _group_names(s, caller.org_id)
        rows = s.scalars(
            select(OrgEncryptionPolicy)
            .where(OrgEncryptionPolicy.org_id == caller.org_id)
            .order_by(OrgEncryptionPolicy.name)
            .limit(MAX_POLICIES)
        )
        return [_out(s, p, names) for p in rows]


@router.get("/{policy_id}", response_model=EncPolicyOut, summary="One encryption policy (members)")
def get_policy(policy_id: PolicyId, caller: Member, ctx: Ctx) -> dict[str, Any]:
    with ctx.db.session() as s:
        return _out(s, _get(s, caller, policy_id))


@router.post("", response_model=EncPolicyOut, status_code=201, summary="Add an encryption policy")
def add_policy(body: EncPolicyIn, caller: Config, ctx: Ctx) -> dict[str, Any]:
    try:
        with log_service(ctx).transaction() as (s, log):
            count = len(
                s.scalars(select(OrgEncryptionPolicy.id).where(OrgEncryptionPolicy.org_id == caller.org_id)).all()
            )
            if count >= MAX_POLICIES:
                raise Problem(409, "Too many", f"An organization holds at most {MAX_POLICIES} policies.", "conflict")
            p = OrgEncryptionPolicy(org_id=caller.org_id, created_by=caller.principal.email, created_at=utcnow())
            _fill(s, p, body, caller)
            s.add(p)
            s.flush()
            _log(log, "encpolicy.add", caller, p)
            return _out(s, p)
    except IntegrityError:
        raise _taken(body.name.strip()) from None


@router.put("/{policy_id}", response_model=EncPolicyOut, summary="Change an encryption policy (all fields)")
def edit_policy(policy_id: PolicyId, body: EncPolicyIn, caller: Config, ctx: Ctx) -> dict[str, Any]:
    try:
        with log_service(ctx).transaction() as (s, log):
            p = _get(s, caller, policy_id)
            _fill(s, p, body, caller)
            s.flush()
            _log(log, "encpolicy.edit", caller, p)
            return _out(s, p)
    except IntegrityError:
        raise _taken(body.name.strip()) from None


@router.delete("/{policy_id}", status_code=204, summary="Remove an encryption policy")
def remove_policy(policy_id: PolicyId, caller: Config, ctx: Ctx) -> Response:
    with log_service(ctx).transaction() as (s, log):
        p = _get(s, caller, policy_id)
        _log(log, "encpolicy.remove", caller, p)
        s.delete(p)
    return Response(status_code=204)
