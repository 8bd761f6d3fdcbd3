"""SCIM Groups of an organization: `org_groups` (displayName is the group name, unique in the organization)
and their members (`org_group_members`); a member is referenced by its SCIM User id.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from c11.log.entries import email_hash
from c11.server.db import utcnow
from c11.server.groups import service as group_service
from c11.server.logsrv.service import LogWriter
from c11.server.orgs.models import OrgGroup, OrgGroupMember, OrgMember
from c11.server.problems import Problem
from c11.server.scim.errors import ScimError
from c11.server.scim.filter import CORE_GROUP, And, Compare, Node, Or, get_ci, matches
from c11.server.scim.membership import join_group, leave_group
from c11.server.scim.models import ScimGroup, ScimUser
from c11.server.scim.service import ScimCaller, log_change, with_meta

MAX_MEMBERS = 100_000


def _members(s: Session, group_ids: list[str]) -> dict[str, list[OrgMember]]:
    out: dict[str, list[OrgMember]] = {g: [] for g in group_ids}
    for i in range(0, len(group_ids), 500):
        rows = s.execute(
            select(OrgGroupMember.group_id, OrgMember)
            .join(OrgMember, OrgMember.id == OrgGroupMember.member_id)
            .outerjoin(ScimUser, ScimUser.member_id == OrgMember.id)
            .where(OrgGroupMember.group_id.in_(group_ids[i : i + 500]), ScimUser.deleted_at.is_(None))
            .order_by(OrgMember.added_at, OrgMember.id)
        )
        for gid, m in rows:
            out[gid].append(m)
    return out


def _resource(g: OrgGroup, sg: ScimGroup | None, members: list[OrgMember] | None, caller: ScimCaller) -> dict:
    r: dict[str, Any] = {"schemas": [CORE_GROUP], "id": g.id, "displayName": g.name}
    if g.external_id:
        r["externalId"] = g.external_id
    if members is not None:
        r["members"] = [
            {
                "value": m.id,
                "display": m.display_name or m.email,
                "type": "User",
                "$ref": caller.location("Users", m.id),
            }
            for m in members
        ]
    modified = sg.updated_at if sg is not None and sg.updated_at > g.created_at else g.created_at
    return with_meta(r, "Group", g.created_at, modified, caller)


def _visible(caller: ScimCaller):  # type: ignore[no-untyped-def]
    return (
        select(OrgGroup, ScimGroup)
        .outerjoin(ScimGroup, ScimGroup.group_id == OrgGroup.id)
        .where(OrgGroup.org_id == caller.org_id)
    )


def _find(s: Session, caller: ScimCaller, group_id: str) -> tuple[OrgGroup, ScimGroup | None]:
    row = s.execute(_visible(caller).where(OrgGroup.id == group_id)).first()
    if row is None:
        raise ScimError(404, f"No Group {group_id}.")
    return row[0], row[1]


def get(s: Session, caller: ScimCaller, group_id: str, with_members: bool = True) -> dict:
    g, sg = _find(s, caller, group_id)
    return _resource(g, sg, _members(s, [g.id])[g.id] if with_members else None, caller)


def _prefilter(node: Node):  # type: ignore[no-untyped-def]
    if (
        isinstance(node, Compare)
        and node.op == "eq"
        and isinstance(node.value, str)
        and node.path.urn is None
        and node.path.sub is None
    ):
        attr = node.path.attr.lower()
        if attr == "displayname":
            return func.lower(OrgGroup.name) == node.value.strip().lower()
        if attr == "externalid":
            return OrgGroup.external_id == node.value
        if attr == "id":
            return OrgGroup.id == node.value
    if isinstance(node, And):
        left, right = _prefilter(node.left), _prefilter(node.right)
        return left if right is None else right if left is None else left & right
    if isinstance(node, Or):
        left, right = _prefilter(node.left), _prefilter(node.right)
        return None if left is None or right is None else or_(left, right)
    return None


def search(
    s: Session, caller: ScimCaller, node: Node | None, filter_text: str, start: int, count: int, with_members: bool
) -> tuple[int, list[dict]]:
    """The total of matching Groups and one page of them (stable order: creation, then ID)."""
    q = _visible(caller).order_by(OrgGroup.created_at, OrgGroup.id)
    if node is None:
        total = s.scalar(select(func.count()).select_from(_visible(caller).subquery())) or 0
        page = [(g, sg) for g, sg in (s.execute(q.offset(start - 1).limit(count)).all() if count else [])]
    else:
        cond = _prefilter(node)
        rows = [(g, sg) for g, sg in s.execute(q.where(cond) if cond is not None else q).all()]
        need = "members" in filter_text.lower()
        members = _members(s, [g.id for g, _ in rows]) if need else {}
        hits = [(g, sg) for g, sg in rows if matches(node, _resource(g, sg, members.get(g.id, []), caller))]
        total, page = len(hits), hits[start - 1 : start - 1 + count]
    members = _members(s, [g.id for g, _ in page]) if with_members else {}
    return total, [_resource(g, sg, members[g.id] if with_members else None, caller) for g, sg in page]


def _parse(s: Session, caller: ScimCaller, doc: Any) -> tuple[str, str | None, list[str] | None]:
    """displayName, externalId and the member IDs (None: no `members` attribute) of a Group resource."""
    if not isinstance(doc, dict):
        raise ScimError(400, "A Group is a JSON object.", "invalidSyntax")
    name = get_ci(doc, "displayName")
    if not isinstance(name, str):
        raise ScimError(400, "displayName is required.", "invalidValue")
    try:
        name = group_service.check_name(name)
    except Problem as e:
        raise ScimError(400, e.detail or "Bad displayName.", "invalidValue") from None
    external = get_ci(doc, "externalId")
    if external is not None and (not isinstance(external, str) or len(external) > 255):
        raise ScimError(400, "externalId must be a string of at most 255 characters.", "invalidValue")
    raw = get_ci(doc, "members")
    if raw is None:
        return name, external or None, None
    if not isinstance(raw, list) or len(raw) > MAX_MEMBERS:
        raise ScimError(400, "members must be a list.", "invalidValue")
    ids = []
    for item in raw:
        value = get_ci(item, "value")
        if not isinstance(value, str):
            raise ScimError(400, "Each member has a value: the id of a User.", "invalidValue")
        ids.append(value)
    ids = list(dict.fromkeys(ids))
    known = set()
    for i in range(0, len(ids), 500):
        known |= set(
            s.scalars(
                select(OrgMember.id)
                .outerjoin(ScimUser, ScimUser.member_id == OrgMember.id)
                .where(
                    OrgMember.id.in_(ids[i : i + 500]),
                    OrgMember.org_id == caller.org_id,
                    OrgMember.consent.is_not(None),
                    ScimUser.deleted_at.is_(None),
                )
            )
        )
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ScimError(400, f"No User {unknown[0]} in this organization.", "invalidValue")
    return name, external or None, ids


def _check_unique(s: Session, caller: ScimCaller, name: str, group_id: str | None) -> None:
    other = s.scalar(select(OrgGroup.id).where(OrgGroup.org_id == caller.org_id, OrgGroup.name == name))
    if other is not None and other != group_id:
        raise ScimError(409, f"A group named {name!r} exists.", "uniqueness")


def _touch(s: Session, g: OrgGroup, sg: ScimGroup | None) -> ScimGroup:
    if sg is None:
        sg = ScimGroup(group_id=g.id)
        s.add(sg)
    sg.updated_at = utcnow()
    return sg


def _set_members(s: Session, w: LogWriter, caller: ScimCaller, g: OrgGroup, ids: list[str]) -> bool:
    current = set(s.scalars(select(OrgGroupMember.member_id).where(OrgGroupMember.group_id == g.id)))
    wanted = set(ids)
    changed = False
    emails = {
        mid: email
        for mid, email in s.execute(
            select(OrgMember.id, OrgMember.email).where(OrgMember.id.in_(list(current ^ wanted)))
        )
    }
    for mid in [i for i in ids if i not in current]:
        changed |= join_group(s, g.id, mid)
        log_change(w, caller, "group.member.add", g.id, member=email_hash(emails[mid]))
    for mid in sorted(current - wanted):
        changed |= leave_group(s, g.id, mid)
        log_change(w, caller, "group.member.remove", g.id, member=email_hash(emails[mid]))
    return changed


def create(s: Session, w: LogWriter, caller: ScimCaller, doc: Any) -> dict:
    """POST /Groups: a new group of the organization (409 uniqueness when the name is taken)."""
    name, external, ids = _parse(s, caller, doc)
    _check_unique(s, caller, name, None)
    g = OrgGroup(org_id=caller.org_id, name=name, external_id=external)
    s.add(g)
    s.flush()
    log_change(w, caller, "group.create", g.id)
    sg = _touch(s, g, None)
    _set_members(s, w, caller, g, ids or [])
    s.flush()
    return _resource(g, sg, _members(s, [g.id])[g.id], caller)


def replace(s: Session, w: LogWriter, caller: ScimCaller, group_id: str, doc: Any) -> dict:
    """PUT /Groups/{id} (and the end of PATCH): name, externalId and, when given, the member list."""
    g, sg = _find(s, caller, group_id)
    if get_ci(doc, "id") not in (None, g.id):
        raise ScimError(400, "id cannot change.", "mutability")
    name, external, ids = _parse(s, caller, doc)
    changed = False
    if (name, external) != (g.name, g.external_id):
        _check_unique(s, caller, name, g.id)
        g.name, g.external_id = name, external
        log_change(w, caller, "group.update", g.id)
        changed = True
    if ids is not None:
        changed |= _set_members(s, w, caller, g, ids)
    if changed:
        sg = _touch(s, g, sg)
    s.flush()
    return _resource(g, sg, _members(s, [g.id])[g.id], caller)


def delete(s: Session, w: LogWriter, caller: ScimCaller, group_id: str) -> None:
    g, _ = _find(s, caller, group_id)
    log_change(w, caller, "group.delete", g.id)
    s.delete(g)
