"""SCIM Users of an organization: its members (`org_members`), with the attributes SCIM keeps in `scim_users`.

`id` is the member ID, `userName` the member's email, `active` false when deactivated. DELETE deactivates the
member and marks the row deleted for SCIM (404 from then on); a later POST of the same userName revives it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from c11.log.entries import email_hash
from c11.server.db import utcnow
from c11.server.logsrv.service import LogWriter
from c11.server.orgs import domains
from c11.server.orgs import service as orgs
from c11.server.orgs.models import Organization, OrgGroup, OrgGroupMember, OrgMember
from c11.server.problems import Problem
from c11.server.scim.errors import ScimError
from c11.server.scim.filter import CORE_USER, ENTERPRISE_USER, And, Compare, Node, Or, ValuePath, get_ci, matches
from c11.server.scim.membership import leave_group
from c11.server.scim.models import ScimUser
from c11.server.scim.service import ScimCaller, log_change, with_meta

#: Top-level User attributes with a column of their own, or never stored (lower case).
_NOT_EXTRA = frozenset(
    {"schemas", "id", "meta", "username", "externalid", "displayname", "active", "password", "groups"}
)
MAX_ATTRIBUTES = 32_000


@dataclass
class _Fields:
    user_name: str
    external_id: str | None
    display_name: str | None
    active: bool | None
    extra: dict[str, Any]


def as_bool(value: Any, name: str = "active") -> bool:
    """A SCIM boolean; also "True"/"False" strings, as Entra sends for `active`."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ScimError(400, f"{name} must be true or false.", "invalidValue")


def _text(value: Any, name: str, limit: int) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ScimError(400, f"{name} must be a string of at most {limit} characters.", "invalidValue")
    return value


def parse(doc: Any) -> _Fields:
    """The fields of a User resource (400 invalidValue for what does not fit)."""
    if not isinstance(doc, dict):
        raise ScimError(400, "A User is a JSON object.", "invalidSyntax")
    user_name = get_ci(doc, "userName")
    if not isinstance(user_name, str) or not user_name.strip():
        raise ScimError(400, "userName (the member's email) is required.", "invalidValue")
    try:
        user_name = orgs.normalize(user_name)
    except Problem as p:
        raise ScimError(400, f"userName must be an email address: {p.detail}", "invalidValue") from None
    active = get_ci(doc, "active")
    extra = {k: v for k, v in doc.items() if k.lower() not in _NOT_EXTRA and v is not None}
    if len(json.dumps(extra, ensure_ascii=False)) > MAX_ATTRIBUTES:
        raise ScimError(400, "The User has too many attributes.", "invalidValue")
    return _Fields(
        user_name,
        _text(get_ci(doc, "externalId"), "externalId", 255),
        _text(get_ci(doc, "displayName"), "displayName", 255),
        None if active is None else as_bool(active),
        extra,
    )


def _default_emails(email: str) -> list[dict[str, Any]]:
    return [{"value": email, "type": "work", "primary": True}]


def _resource(m: OrgMember, su: ScimUser | None, groups: list[tuple[str, str]], caller: ScimCaller) -> dict:
    extra = json.loads(su.attributes) if su is not None else {}
    r: dict[str, Any] = {
        "schemas": [CORE_USER] + ([ENTERPRISE_USER] if get_ci(extra, ENTERPRISE_USER) else []),
        "id": m.id,
        "userName": m.email,
    }
    if m.external_id:
        r["externalId"] = m.external_id
    if m.display_name:
        r["displayName"] = m.display_name
    r["active"] = m.status != "deactivated"
    r.update(extra)
    if get_ci(r, "emails") is None:
        r["emails"] = _default_emails(m.email)
    r["groups"] = [{"value": gid, "display": name, "$ref": caller.location("Groups", gid)} for gid, name in groups]
    modified = max(t for t in (m.added_at, m.deactivated_at, su.updated_at if su else None) if t is not None)
    return with_meta(r, "User", m.added_at, modified, caller)


def _groups_of(s: Session, member_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {i: [] for i in member_ids}
    for i in range(0, len(member_ids), 500):
        rows = s.execute(
            select(OrgGroupMember.member_id, OrgGroup.id, OrgGroup.name)
            .join(OrgGroup, OrgGroup.id == OrgGroupMember.group_id)
            .where(OrgGroupMember.member_id.in_(member_ids[i : i + 500]))
            .order_by(OrgGroup.name)
        )
        for mid, gid, name in rows:
            out[mid].append((gid, name))
    return out


def _visible(caller: ScimCaller):  # type: ignore[no-untyped-def]
    return (
        select(OrgMember, ScimUser)
        .outerjoin(ScimUser, ScimUser.member_id == OrgMember.id)
        .where(OrgMember.org_id == caller.org_id, OrgMember.consent.is_not(None), ScimUser.deleted_at.is_(None))
    )


def _find(s: Session, caller: ScimCaller, member_id: str) -> tuple[OrgMember, ScimUser | None]:
    row = s.execute(_visible(caller).where(OrgMember.id == member_id)).first()
    if row is None:
        raise ScimError(404, f"No User {member_id}.")
    return row[0], row[1]


def get(s: Session, caller: ScimCaller, member_id: str) -> dict:
    m, su = _find(s, caller, member_id)
    return _resource(m, su, _groups_of(s, [m.id])[m.id], caller)


def _prefilter(node: Node):  # type: ignore[no-untyped-def]
    """An SQL condition selecting a superset of the members `node` matches, or None (all members)."""
    if (
        isinstance(node, Compare)
        and node.op == "eq"
        and isinstance(node.value, str)
        and node.path.urn is None
        and node.path.sub is None
    ):
        attr = node.path.attr.lower()
        if attr == "username":
            return OrgMember.email == node.value.strip().lower()
        if attr == "externalid":
            return OrgMember.external_id == node.value
        if attr == "id":
            return OrgMember.id == node.value
        if attr == "displayname":
            return func.lower(OrgMember.display_name) == node.value.lower()
    if isinstance(node, ValuePath) and node.path.attr.lower() == "emails":
        wanted = _email_value(node.filter)
        if wanted is not None:
            text = json.dumps(wanted.lower(), ensure_ascii=False)[1:-1]
            return or_(
                OrgMember.email == wanted.lower(), func.lower(ScimUser.attributes).contains(text, autoescape=True)
            )
    if isinstance(node, And):
        left, right = _prefilter(node.left), _prefilter(node.right)
        return left if right is None else right if left is None else and_(left, right)
    if isinstance(node, Or):
        left, right = _prefilter(node.left), _prefilter(node.right)
        return None if left is None or right is None else or_(left, right)
    return None


def _email_value(node: Node) -> str | None:
    if (
        isinstance(node, Compare)
        and node.op == "eq"
        and node.path.attr.lower() == "value"
        and isinstance(node.value, str)
    ):
        return node.value
    if isinstance(node, And):
        return _email_value(node.left) or _email_value(node.right)
    return None


def search(s: Session, caller: ScimCaller, node: Node | None, start: int, count: int) -> tuple[int, list[dict]]:
    """The total of matching Users and the page [start, start + count) (stable order: creation, then ID)."""
    q = _visible(caller).order_by(OrgMember.added_at, OrgMember.id)
    if node is None:
        total = s.scalar(select(func.count()).select_from(_visible(caller).subquery())) or 0
        rows = s.execute(q.offset(start - 1).limit(count)).all() if count else []
        page = [(m, su) for m, su in rows]
    else:
        cond = _prefilter(node)
        rows = s.execute(q.where(cond) if cond is not None else q).all()
        hits = [(m, su) for m, su in rows if matches(node, _resource(m, su, [], caller))]
        total, page = len(hits), hits[start - 1 : start - 1 + count]
    groups = _groups_of(s, [m.id for m, _ in page])
    return total, [_resource(m, su, groups[m.id], caller) for m, su in page]


def _store(s: Session, m: OrgMember, su: ScimUser | None, f: _Fields) -> ScimUser:
    if su is None:
        su = ScimUser(member_id=m.id)
        s.add(su)
    extra = dict(f.extra)
    key = next((k for k in extra if k.lower() == "emails"), None)
    if key is not None and extra[key] == _default_emails(f.user_name):
        del extra[key]  # what GET shows when none were sent: not worth storing
    su.attributes = json.dumps(extra, ensure_ascii=False, sort_keys=True)
    su.updated_at = utcnow()
    m.external_id, m.display_name = f.external_id, f.display_name
    return su


def _in_domains(s: Session, org_id: str, user_name: str) -> None:
    """SCIM adds and renames only addresses of the organization's verified domains (docs/organizations.md)."""
    if not domains.covers(s, org_id, user_name):
        raise ScimError(
            403,
            f"{domains.domain_of(user_name)} is not a verified domain of this organization: "
            "an admin verifies it first (`c11 org domains add`), or invites the person by hand.",
        )


def _rename(s: Session, m: OrgMember, user_name: str) -> None:
    if user_name != m.email:
        _in_domains(s, m.org_id, user_name)
        if s.scalar(select(OrgMember.id).where(OrgMember.email == user_name)) is not None:
            raise ScimError(409, f"The userName {user_name} is taken.", "uniqueness")
        m.email = user_name


def _set_active(s: Session, w: LogWriter, caller: ScimCaller, m: OrgMember, active: bool | None) -> None:
    if active is None or active == (m.status != "deactivated"):
        return
    orgs.set_active(m, active)
    if active:
        orgs.refresh_status(s, m)
    elif m.is_admin:
        orgs.check_no_lockout(s, m.org_id)
    log_change(w, caller, "member.reactivate" if active else "member.deactivate", email_hash(m.email))


def create(s: Session, w: LogWriter, caller: ScimCaller, doc: Any) -> dict:
    """POST /Users: a new member (status invited), or one deleted through SCIM revived; 409 when taken."""
    f = parse(doc)
    existing = s.scalar(select(OrgMember).where(OrgMember.email == f.user_name))
    if existing is not None and existing.consent is None and existing.org_id != caller.org_id:
        existing = None  # another organization's invitation, not accepted: a verified domain takes precedence
    if existing is not None:
        su = s.get(ScimUser, existing.id)
        if existing.org_id != caller.org_id or su is None or su.deleted_at is None:
            raise ScimError(409, f"The userName {f.user_name} is taken.", "uniqueness")
        su.deleted_at = None
        m = existing
        orgs.set_active(m, True)
        orgs.refresh_status(s, m)
        log_change(w, caller, "member.reactivate", email_hash(m.email))
    else:
        org = s.get(Organization, caller.org_id)
        _in_domains(s, org.id, f.user_name)
        m = orgs.add_member(
            s,
            org,
            f.user_name,
            added_by=caller.actor,
            display_name=f.display_name,
            external_id=f.external_id,
            consent="domain",
        )
        su = None
        log_change(w, caller, "member.add", email_hash(m.email))
    su = _store(s, m, su, f)
    _set_active(s, w, caller, m, f.active)
    s.flush()
    return _resource(m, su, _groups_of(s, [m.id])[m.id], caller)


def replace(
    s: Session, w: LogWriter, caller: ScimCaller, member_id: str, doc: Any, current: dict | None = None
) -> dict:
    """PUT /Users/{id} (and the end of PATCH): the member becomes `doc` (`active` absent: unchanged)."""
    m, su = _find(s, caller, member_id)
    f = parse(doc)
    if get_ci(doc, "id") not in (None, m.id):
        raise ScimError(400, "id cannot change.", "mutability")
    before = (m.email, m.external_id, m.display_name, su.attributes if su else "{}")
    old_hash = email_hash(m.email)
    _rename(s, m, f.user_name)
    su = _store(s, m, su, f)
    if before != (m.email, m.external_id, m.display_name, su.attributes):
        extra = {"renamed_to": email_hash(m.email)} if m.email != before[0] else {}
        log_change(w, caller, "member.update", old_hash, **extra)
    _set_active(s, w, caller, m, f.active)
    s.flush()
    return _resource(m, su, _groups_of(s, [m.id])[m.id], caller)


def delete(s: Session, w: LogWriter, caller: ScimCaller, member_id: str) -> None:
    """DELETE /Users/{id}: deactivate (keys no longer served), leave every group, 404 for SCIM from now on."""
    m, su = _find(s, caller, member_id)
    if su is None:
        su = ScimUser(member_id=m.id, attributes="{}")
        s.add(su)
    su.deleted_at = su.updated_at = utcnow()
    orgs.set_active(m, False)
    if m.is_admin:
        orgs.check_no_lockout(s, m.org_id)
    for gid in list(s.scalars(select(OrgGroupMember.group_id).where(OrgGroupMember.member_id == m.id))):
        leave_group(s, gid, m.id)
    log_change(w, caller, "member.delete", email_hash(m.email))
