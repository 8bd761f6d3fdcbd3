"""HTTP routes of groups as recipients and of recovery keys, under /api/v1/org (docs/organizations.md).

Admin routes depend on `require_org_permission` (crud:groups-org, crud:recovery-keys-org) and append an
`admin` log entry; members read group keys, their own wraps and the wraps they can complete.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from c11.server.context import Ctx
from c11.server.groups import keylog, recovery, service
from c11.server.groups.models import OrgGroupKey
from c11.server.logsrv.service import LogWriter, log_service
from c11.server.orgs import policylog
from c11.server.orgs.models import Organization, OrgGroup, OrgGroupMember
from c11.server.orgs.permissions import OrgCaller, require_member, require_member_writer, require_org_permission
from c11.server.orgs.service import admin_entry, member_in
from c11.server.problems import Problem, responses

router = APIRouter(prefix="/api/v1/org", tags=["groups"], responses=responses(401, 403, 404, 409, 422))
Member = Annotated[OrgCaller, Depends(require_member)]
Writer = Annotated[OrgCaller, Depends(require_member_writer)]
GroupAdmin = Annotated[OrgCaller, Depends(require_org_permission("crud:groups-org"))]
RecoveryAdmin = Annotated[OrgCaller, Depends(require_org_permission("crud:recovery-keys-org"))]
GROUPS = "crud:groups-org"


class GroupIn(BaseModel):
    name: str = Field(max_length=200, description="Group name, unique in the organization")
    members: list[str] = Field(default_factory=list, max_length=10_000, description="Member emails to add")


class EmailsIn(BaseModel):
    emails: list[str] = Field(min_length=1, max_length=10_000)


class WrapIn(BaseModel):
    email: str = Field(max_length=320, description="The member this wrap is for")
    wrapped: str = Field(max_length=service.MAX_WRAP * 2, description="base64 of a c11 file (docs/format.md §12)")
    version: int | None = Field(default=None, ge=1, description="Key version (POST .../wraps)")


class KeyIn(BaseModel):
    public_key: str = Field(max_length=8192, description="The new group key's public key line")
    wraps: list[WrapIn] = Field(default_factory=list, max_length=10_000)


class WrapsIn(BaseModel):
    wraps: list[WrapIn] = Field(min_length=1, max_length=10_000)


class RecoveryIn(BaseModel):
    name: str = Field(max_length=200, description="A name people recognise (e.g. where the key file is kept)")
    public_key: str = Field(max_length=8192, description="The recovery key's public key line (never the private)")
    replaces: str | None = Field(default=None, max_length=32, description="ID of the key this one rotates")


def _admin(log: LogWriter, caller: OrgCaller, action: str, target: str, **extra: Any) -> None:
    log.append(
        "admin", {**admin_entry(action, caller.principal.email, caller.org_id, target), **extra}, subject=caller.org_id
    )


def _can_see(s: Any, caller: OrgCaller, group: OrgGroup) -> None:
    if not (caller.can(GROUPS) or service.in_group(s, group.id, caller.member_id)):
        raise Problem(403, "Forbidden", f"You are not in the group {group.name!r}.", "not-in-group")


def _signer(s: Any, caller: OrgCaller) -> bytes:
    """The Ed25519 key every wrap the caller stores must be signed with: their registry key's."""
    key = service.registry_key(s, caller.principal.email)
    if key is None or not key.sig:
        raise Problem(409, "Conflict", "Publish your key first: wraps are signed with it.", "no-own-key")
    return key.sig


def _store_wraps(s: Any, group: OrgGroup, key_for: Any, wraps: list[WrapIn], caller: OrgCaller) -> int:
    """Check and store wraps, each signed by the caller: for a current member of `group` with a published
    key, or for the caller themself (custody of a version they may wrap, also outside the group)."""
    from c11.server.orgs.models import OrgMember

    members = {m.email: m for m in service.members_of(s, group.id)}
    me = s.get(OrgMember, caller.member_id)
    fps = service.registry_fingerprints(s, [*members, me.email])
    signer = _signer(s, caller) if wraps else b""
    for w in wraps:
        email = w.email.strip().lower()
        m = members.get(email) or (me if email == me.email else None)
        if m is None:
            raise Problem(422, "Not in group", f"{email} is not a member of the group {group.name!r}.", "not-in-group")
        key = key_for(w)  # authorization first: only then is the wrap itself looked at
        service.check_wrap(w.wrapped, fps.get(email), signer)
        service.store_wrap(s, key, m, w.wrapped, fps[email], caller.member_id)
    return len(wraps)


# -- groups ------------------------------------------------------------------------------------------------


@router.get("/groups", summary="List the groups of your organization")
def list_groups(caller: Member, ctx: Ctx) -> dict[str, Any]:
    """Every group with its current key (usable as a recipient: `c11 encrypt -r group:NAME`)."""
    from sqlalchemy import select

    with ctx.db.session() as s:
        groups = s.scalars(select(OrgGroup).where(OrgGroup.org_id == caller.org_id).order_by(OrgGroup.name))
        return {"org_id": caller.org_id, "groups": [service.group_json(s, g) for g in groups]}


@router.post("/groups", status_code=201, summary="Create a group")
def create_group(body: GroupIn, caller: GroupAdmin, ctx: Ctx) -> dict[str, Any]:
    """A new group with members; its key is set next (`PUT /groups/{name}/key`) by the admin's client."""
    from sqlalchemy import select

    name = service.check_name(body.name)
    with log_service(ctx).transaction() as (s, log):
        if s.scalar(select(OrgGroup.id).where(OrgGroup.org_id == caller.org_id, OrgGroup.name == name)):
            raise Problem(409, "Conflict", f"A group {name!r} exists.", "group-exists")
        g = OrgGroup(org_id=caller.org_id, name=name)
        s.add(g)
        s.flush()
        _admin(log, caller, "group.create", g.id)
        for email in dict.fromkeys(e.strip().lower() for e in body.members):
            m = member_in(s, caller.org_id, email)
            s.add(OrgGroupMember(group_id=g.id, member_id=m.id))
            _admin(log, caller, "group.member.add", email, group=g.id)
        s.flush()
        return service.group_json(s, g, detail=True)


@router.get("/groups/{name}", summary="A group, its members and key")
def get_group(name: str, caller: Member, ctx: Ctx) -> dict[str, Any]:
    """For the group's members and admins holding crud:groups-org."""
    with ctx.db.session() as s:
        g = service.group_named(s, caller.org_id, name)
        _can_see(s, caller, g)
        return {"org_id": caller.org_id, **service.group_json(s, g, detail=True)}


@router.delete("/groups/{name}", status_code=204, summary="Delete a group")
def delete_group(name: str, caller: GroupAdmin, ctx: Ctx) -> Response:
    """The group, its key versions and wraps go (content sent to it opens only where a key was kept)."""
    with log_service(ctx).transaction() as (s, log):
        g = service.group_named(s, caller.org_id, name)
        _admin(log, caller, "group.delete", g.id)
        s.delete(g)
    return Response(status_code=204)


@router.post("/groups/{name}/members", summary="Add members to a group")
def add_members(name: str, body: EmailsIn, caller: GroupAdmin, ctx: Ctx) -> dict[str, Any]:
    """New members get the group key when a holder's client completes the pending wraps (`sync`)."""
    with log_service(ctx).transaction() as (s, log):
        g = service.group_named(s, caller.org_id, name)
        for email in dict.fromkeys(e.strip().lower() for e in body.emails):
            m = member_in(s, caller.org_id, email)
            if not service.in_group(s, g.id, m.id):
                s.add(OrgGroupMember(group_id=g.id, member_id=m.id))
                _admin(log, caller, "group.member.add", email, group=g.id)
        s.flush()
        return service.group_json(s, g, detail=True)


@router.post("/groups/{name}/members/remove", summary="Remove members from a group")
def remove_members(name: str, body: EmailsIn, caller: GroupAdmin, ctx: Ctx) -> dict[str, Any]:
    """Their wraps are deleted and the group key is due for rotation (new content only)."""
    with log_service(ctx).transaction() as (s, log):
        g = service.group_named(s, caller.org_id, name)
        for email in dict.fromkeys(e.strip().lower() for e in body.emails):
            m = member_in(s, caller.org_id, email)
            row = s.get(OrgGroupMember, (g.id, m.id))
            if row is None:
                continue
            s.delete(row)
            service.drop_wraps(s, g.id, m.id)
            key = service.current_key(s, g.id)
            if key is not None:
                key.rotation_due = True
            _admin(log, caller, "group.member.remove", email, group=g.id)
        s.flush()
        return service.group_json(s, g, detail=True)


@router.put("/groups/{name}/key", summary="Set a new group key (create or rotate)")
def set_key(name: str, body: KeyIn, caller: GroupAdmin, ctx: Ctx) -> dict[str, Any]:
    """The new key version becomes current, with wraps for members; older versions stay for old content."""
    with log_service(ctx).transaction() as (s, log):
        g = service.group_named(s, caller.org_id, name)
        rotating = service.current_key(s, g.id) is not None
        key = service.add_key(s, g, body.public_key)
        key.created_by = caller.member_id
        _store_wraps(s, g, lambda w: key, body.wraps, caller)
        _admin(
            log,
            caller,
            "group.key.rotate" if rotating else "group.key.create",
            g.id,
            fingerprint=key.fingerprint,
            version=key.version,
        )
        keylog.record(s, log, g, key)  # what clients check before encrypting to it
        s.flush()
        return service.group_json(s, g, detail=True)


@router.get("/groups/{name}/key", summary="The group's current public key, with its log proof")
def get_key(
    name: str,
    caller: Member,
    ctx: Ctx,
    known_size: Annotated[
        int | None, Query(ge=0, description="Tree size you trust; adds a consistency proof to it")
    ] = None,
) -> dict[str, Any]:
    """What `c11 encrypt -r group:NAME` encrypts to (any member of the organization may read it), with `proof`:
    the group key record, its `groupkey` log entry, inclusion proof and signed checkpoint (clients encrypt only
    to a key the log commits to)."""
    return keylog.proven(ctx, caller.org_id, name, known_size)


@router.get("/groups/{name}/wraps", summary="Your wraps of a group's keys")
def group_wraps(name: str, caller: Member, ctx: Ctx) -> dict[str, Any]:
    with ctx.db.session() as s:
        g = service.group_named(s, caller.org_id, name)
        return {"org_id": caller.org_id, "wraps": service.my_wraps(s, caller.member_id, caller.org_id, g)}


@router.post("/groups/{name}/wraps", summary="Store wraps for members (complete pending wraps)")
def post_wraps(name: str, body: WrapsIn, caller: Writer, ctx: Ctx) -> dict[str, Any]:
    """By an authorized wrapper of each key version: an admin holding crud:groups-org or the version's
    creator; each wrap signed by the caller's published key (other members cannot replace anyone's wrap)."""
    from sqlalchemy import select

    with ctx.db.session() as s:
        g = service.group_named(s, caller.org_id, name)
        versions = {k.version: k for k in s.scalars(select(OrgGroupKey).where(OrgGroupKey.group_id == g.id))}

        def key_for(w: WrapIn) -> OrgGroupKey:
            key = versions.get(w.version or 0)
            if key is None:
                raise Problem(
                    422, "Bad version", f"The group {g.name!r} has no key version {w.version}.", "bad-version"
                )
            if not service.may_wrap(key, caller.member_id, caller.can(GROUPS)):
                raise Problem(
                    403,
                    "Forbidden",
                    "Only an admin holding crud:groups-org or the key's creator wraps a group key.",
                    "not-an-authorized-wrapper",
                )
            return key

        return {"stored": _store_wraps(s, g, key_for, body.wraps, caller)}


@router.get("/group-wraps", summary="Your wraps of every group you are in")
def all_wraps(caller: Member, ctx: Ctx) -> dict[str, Any]:
    """Each wrap opens, with your key, one version of a group key (`c11 decrypt` finds them here)."""
    with ctx.db.session() as s:
        return {"org_id": caller.org_id, "wraps": service.my_wraps(s, caller.member_id, caller.org_id)}


@router.get("/held-wraps", summary="Every wrap you hold, also as custodian of a group you are not in")
def held_wraps(caller: Member, ctx: Ctx) -> dict[str, Any]:
    """What your client opens to wrap group keys for members (`sync`); decrypting uses /group-wraps."""
    with ctx.db.session() as s:
        return {"org_id": caller.org_id, "wraps": service.held_wraps(s, caller.member_id, caller.org_id)}


@router.get("/group-pending", summary="Work your client can do for groups")
def group_pending(caller: Member, ctx: Ctx) -> dict[str, Any]:
    """Wraps you can make (versions you hold, members without a wrap); for admins holding crud:groups-org,
    also groups without a key and groups whose key is due for rotation."""
    from sqlalchemy import select

    with ctx.db.session() as s:
        wraps: list[dict[str, Any]] = []
        keyless: list[str] = []
        rotate: list[str] = []
        admin = caller.can(GROUPS)
        for g in s.scalars(select(OrgGroup).where(OrgGroup.org_id == caller.org_id).order_by(OrgGroup.name)):
            mine = {
                k.version
                for k in s.scalars(select(OrgGroupKey).where(OrgGroupKey.group_id == g.id))
                if service.may_wrap(k, caller.member_id, admin)
            }
            wraps += [p for p in service.pending(s, g, only_holder=caller.member_id) if p["version"] in mine]
            if admin:
                key = service.current_key(s, g.id)
                if key is None:
                    keyless.append(g.name)
                elif service.rotation_due(s, g, key) or (
                    any(w["reason"] == "not-wrapped" for w in service.waiting(s, g, key))
                    and not service.authorized_holders(s, key)
                ):
                    rotate.append(g.name)  # a member left, or nobody who may wrap the key still holds it
        return {"org_id": caller.org_id, "wraps": wraps, "keyless": keyless, "rotate": rotate}


# -- recovery keys -----------------------------------------------------------------------------------------


@router.get("/recovery-keys", summary="Your organization's recovery keys")
def list_recovery(caller: Member, ctx: Ctx) -> dict[str, Any]:
    """Current keys are added as recipients of everything members encrypt; retired ones are listed too."""
    with ctx.db.session() as s:
        return {
            "org": caller.org_name,
            "recovery_keys": [recovery.as_json(r) for r in recovery.listing(s, caller.org_id)],
        }


@router.post("/recovery-keys", status_code=201, summary="Upload a recovery key (or rotate one)")
def add_recovery(body: RecoveryIn, caller: RecoveryAdmin, ctx: Ctx) -> dict[str, Any]:
    """Only the public key is uploaded; with `replaces`, the old key is retired (new content only)."""
    with log_service(ctx).transaction() as (s, log):
        row, old = recovery.add(s, caller.org_id, body.name, body.public_key, body.replaces)
        _admin(
            log,
            caller,
            "recovery-key.rotate" if old else "recovery-key.create",
            row.id,
            fingerprint=row.fingerprint,
            **({"replaces": old.id} if old else {}),
        )
        policylog.record(s, log, s.get_one(Organization, caller.org_id))
        return recovery.as_json(row)


@router.delete("/recovery-keys/{key_id}", status_code=204, summary="Remove a recovery key")
def remove_recovery(key_id: str, caller: RecoveryAdmin, ctx: Ctx) -> Response:
    """No longer added to new content (content that has it as a recipient still opens with its file)."""
    with log_service(ctx).transaction() as (s, log):
        row = recovery.get(s, caller.org_id, key_id)
        _admin(log, caller, "recovery-key.remove", row.id, fingerprint=row.fingerprint)
        s.delete(row)
        policylog.record(s, log, s.get_one(Organization, caller.org_id))
    return Response(status_code=204)
