"""Groups as recipients: group key versions, their per-member wraps, and what is still to be wrapped.

The server never sees a group's private key: admins' clients make the key pair and upload only the public
line and wraps (each a c11 file encrypted to one member's registry key, docs/format.md §12). Functions take
an open session; callers commit and append the `admin` log entries.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from c11.errors import C11Error, RecipientError
from c11.keys.publickey import PublicKey
from c11.server.accounts.models import User
from c11.server.db import utcnow
from c11.server.groups.models import OrgGroupKey, OrgGroupKeyWrap
from c11.server.orgs.models import OrgGroup, OrgGroupMember, OrgMember
from c11.server.problems import Problem
from c11.server.registry.models import RegistryKey

#: Largest wrap accepted (a wrap of an X-Wing group key is about 1.6 KiB).
MAX_WRAP = 16 << 10
_BAD_NAME = set("/\\?#%")


def check_name(name: str) -> str:
    """A group name: 1 to 200 printable characters, none of / \\ ? # %."""
    name = name.strip()
    if not name or len(name) > 200 or any(c in _BAD_NAME or not c.isprintable() for c in name):
        raise Problem(
            422,
            "Bad group name",
            "A group name has 1 to 200 printable characters, none of / \\ ? # %.",
            "bad-group-name",
        )
    return name


def group_named(s: Session, org_id: str, name: str) -> OrgGroup:
    g = s.scalar(select(OrgGroup).where(OrgGroup.org_id == org_id, OrgGroup.name == name.strip()))
    if g is None:
        raise Problem(404, "Not Found", f"Your organization has no group {name.strip()!r}.", "no-group")
    return g


def current_key(s: Session, group_id: str) -> OrgGroupKey | None:
    return s.scalar(
        select(OrgGroupKey)
        .where(OrgGroupKey.group_id == group_id, OrgGroupKey.retired_at.is_(None))
        .order_by(OrgGroupKey.version.desc())
        .limit(1)
    )


def members_of(s: Session, group_id: str) -> list[OrgMember]:
    """The group's members that are not deactivated, by email."""
    return list(
        s.scalars(
            select(OrgMember)
            .join(OrgGroupMember, OrgGroupMember.member_id == OrgMember.id)
            .where(OrgGroupMember.group_id == group_id, OrgMember.status != "deactivated")
            .order_by(OrgMember.email)
        )
    )


def in_group(s: Session, group_id: str, member_id: str) -> bool:
    return s.get(OrgGroupMember, (group_id, member_id)) is not None


def registry_fingerprints(s: Session, emails: Iterable[str]) -> dict[str, str]:
    """email -> fingerprint of the key published in the registry, for those who have one."""
    emails = list(emails)
    if not emails:
        return {}
    rows = s.execute(
        select(User.email, RegistryKey.fingerprint)
        .join(RegistryKey, RegistryKey.user_id == User.id)
        .where(User.email.in_(emails))
    )
    return {e: fp for e, fp in rows}


def parse_public(line: str) -> PublicKey:
    try:
        key = PublicKey.parse(line)
    except RecipientError as e:
        raise Problem(422, "Bad public key", str(e), "bad-public-key") from None
    return key


def add_key(s: Session, group: OrgGroup, public_line: str) -> OrgGroupKey:
    """A new current key version for `group` (the previous one is retired, its wraps kept for old content)."""
    key = parse_public(public_line)
    if s.scalar(select(OrgGroupKey.id).where(OrgGroupKey.fingerprint == key.fingerprint)) is not None:
        raise Problem(409, "Conflict", "This group key was already used; make a new one.", "group-key-reused")
    now = utcnow()
    last = s.scalar(select(func.max(OrgGroupKey.version)).where(OrgGroupKey.group_id == group.id)) or 0
    for old in s.scalars(select(OrgGroupKey).where(OrgGroupKey.group_id == group.id, OrgGroupKey.retired_at.is_(None))):
        old.retired_at, old.rotation_due = now, False
    row = OrgGroupKey(
        group_id=group.id,
        version=last + 1,
        public_key=key.line(),
        fingerprint=key.fingerprint,
        rotation_due=False,
        created_at=now,
    )
    s.add(row)
    s.flush()
    return row


def registry_key(s: Session, email: str) -> PublicKey | None:
    """The key `email` has published in the registry, or None."""
    line = s.scalar(
        select(RegistryKey.public_key)
        .join(User, User.id == RegistryKey.user_id)
        .where(User.email == email.strip().lower())
    )
    return PublicKey.parse(line) if line else None


def check_wrap(wrapped: str, member_fp: str | None, signer: bytes) -> None:
    """A wrap is base64 of a c11 file whose one recipient is the member's registry key, signed (header signature
    valid) by `signer`, the Ed25519 key of the authorized wrapper's registry key (docs/organizations.md: nobody
    else's wrap is stored, and the recipient checks the signer again before using it)."""
    from c11.format.envelope import signature_valid, stanza_key_id
    from c11.format.header import read_header

    if len(wrapped) > MAX_WRAP * 4 // 3 + 4:
        raise Problem(422, "Bad wrap", "The wrapped key is too large.", "bad-wrap")
    try:
        raw = base64.b64decode(wrapped, validate=True)
        header, _ = read_header(io.BytesIO(raw))
    except (binascii.Error, ValueError, C11Error):
        raise Problem(422, "Bad wrap", "The wrapped key is not base64 of a c11 file.", "bad-wrap") from None
    kids = [k.hex() for st in header.stanzas if (k := stanza_key_id(st)) is not None]
    if member_fp is None:
        raise Problem(409, "Conflict", "This member has no published key yet; wrap later.", "no-member-key")
    if kids != [member_fp]:
        raise Problem(
            422,
            "Bad wrap",
            "The wrapped key must be encrypted to the member's registry key only.",
            "bad-wrap",
            expected=member_fp,
        )
    author = getattr(header, "author_key", b"") or header.sender_key
    if header.sender_key != signer or author != signer or not signature_valid(header):
        raise Problem(
            422, "Unsigned wrap", "A wrap must be signed by your published key (you wrap it).", "wrap-not-signed-by-you"
        )


def store_wrap(s: Session, key: OrgGroupKey, member: OrgMember, wrapped: str, member_fp: str, wrapped_by: str) -> None:
    row = s.get(OrgGroupKeyWrap, (key.id, member.id))
    if row is None:
        s.add(
            OrgGroupKeyWrap(
                key_id=key.id, member_id=member.id, wrapped=wrapped, member_key=member_fp, wrapped_by=wrapped_by
            )
        )
    else:
        row.wrapped, row.member_key, row.wrapped_by, row.created_at = wrapped, member_fp, wrapped_by, utcnow()


def may_wrap(key: OrgGroupKey, member_id: str, group_admin: bool) -> bool:
    """Authorized wrappers of a key version: admins holding crud:groups-org, and the version's creator."""
    return group_admin or (key.created_by is not None and key.created_by == member_id)


def drop_wraps(s: Session, group_id: str, member_id: str) -> int:
    """Delete every wrap of `group_id`'s keys for `member_id` (on removal); returns how many."""
    ids = select(OrgGroupKey.id).where(OrgGroupKey.group_id == group_id).scalar_subquery()
    return (
        s.execute(
            delete(OrgGroupKeyWrap).where(OrgGroupKeyWrap.member_id == member_id, OrgGroupKeyWrap.key_id.in_(ids))
        ).rowcount
        or 0
    )


def holds(s: Session, key_id: str, member_id: str) -> bool:
    return s.get(OrgGroupKeyWrap, (key_id, member_id)) is not None


def rotation_due(s: Session, group: OrgGroup, key: OrgGroupKey | None) -> bool:
    """A member left since this key was made: flagged, or a wrap of it belongs to someone no longer in (a
    deactivated member, or a deactivated custodian)."""
    if key is None:
        return False
    if key.rotation_due:
        return True
    active = {m.id for m in members_of(s, group.id)}
    rows = s.execute(
        select(OrgGroupKeyWrap.member_id, OrgGroupKeyWrap.wrapped_by, OrgMember.status)
        .join(OrgMember, OrgMember.id == OrgGroupKeyWrap.member_id)
        .where(OrgGroupKeyWrap.key_id == key.id)
    ).all()
    # custodians (an authorized wrapper's wrap to themselves, outside the group) are not members who left,
    # unless deactivated since
    return any(mid not in active and not (by == mid and status != "deactivated") for mid, by, status in rows)


def pending(s: Session, group: OrgGroup, only_holder: str | None = None) -> list[dict[str, Any]]:
    """Wraps still to be made: (key version, member) with no wrap, a wrap to a key the member replaced, or a
    wrap nobody is recorded to have signed (made before wraps were authorized: re-wrapped once).

    Members without a published key are left out (nobody can wrap for them yet). With `only_holder`, only
    versions that member holds (a wrap of it, as a member or as its custodian), so they can wrap them.
    """
    members = members_of(s, group.id)
    fps = registry_fingerprints(s, [m.email for m in members])
    keys = list(s.scalars(select(OrgGroupKey).where(OrgGroupKey.group_id == group.id).order_by(OrgGroupKey.version)))
    wraps = (
        {
            (w.key_id, w.member_id): (w.member_key if w.wrapped_by else None)
            for w in s.scalars(select(OrgGroupKeyWrap).where(OrgGroupKeyWrap.key_id.in_([k.id for k in keys])))
        }
        if keys
        else {}
    )
    out = []
    for k in keys:
        if only_holder is not None and (k.id, only_holder) not in wraps:
            continue
        for m in members:
            fp = fps.get(m.email)
            if fp is not None and wraps.get((k.id, m.id)) != fp:
                out.append(
                    {
                        "group": group.name,
                        "version": k.version,
                        "fingerprint": k.fingerprint,
                        "email": m.email,
                        "member_key": fp,
                    }
                )
    return out


def waiting(s: Session, group: OrgGroup, key: OrgGroupKey | None) -> list[dict[str, Any]]:
    """Members without the current key, and why: `no-published-key`, or `not-wrapped` (an authorized holder's
    client wraps it at its next sync)."""
    if key is None:
        return []
    members = members_of(s, group.id)
    fps = registry_fingerprints(s, [m.email for m in members])
    held = {w.member_id: w for w in s.scalars(select(OrgGroupKeyWrap).where(OrgGroupKeyWrap.key_id == key.id))}
    out = []
    for m in members:
        w = held.get(m.id)
        if fps.get(m.email) is None:
            if w is None:
                out.append({"email": m.email, "reason": "no-published-key"})
        elif w is None or w.wrapped_by is None or w.member_key != fps[m.email]:
            out.append({"email": m.email, "reason": "not-wrapped"})
    return out


def authorized_holders(s: Session, key: OrgGroupKey) -> list[str]:
    """Emails of active members holding `key` who may wrap it (group admins, its creator)."""
    from c11.server.orgs.permissions import parse_permissions

    rows = s.execute(
        select(OrgMember)
        .join(OrgGroupKeyWrap, OrgGroupKeyWrap.member_id == OrgMember.id)
        .where(OrgGroupKeyWrap.key_id == key.id, OrgMember.status != "deactivated", OrgMember.consent.is_not(None))
    ).scalars()
    return sorted(
        m.email
        for m in rows
        if m.id == key.created_by or (m.is_admin and "crud:groups-org" in parse_permissions(m.permissions))
    )


def key_json(k: OrgGroupKey | None) -> dict[str, Any] | None:
    if k is None:
        return None
    return {
        "version": k.version,
        "fingerprint": k.fingerprint,
        "public_key": k.public_key,
        "created_at": k.created_at.isoformat(),
        "retired_at": k.retired_at.isoformat() if k.retired_at else None,
    }


def group_json(s: Session, g: OrgGroup, detail: bool = False) -> dict[str, Any]:
    key = current_key(s, g.id)
    members = members_of(s, g.id)
    out: dict[str, Any] = {
        "id": g.id,
        "name": g.name,
        "external_id": g.external_id,
        "member_count": len(members),
        "key": key_json(key),
        "rotation_due": rotation_due(s, g, key),
        "pending_wraps": len(pending(s, g)),
        "waiting": waiting(s, g, key),
        "key_holders": authorized_holders(s, key) if key else [],
    }
    if detail:
        held = (
            set(s.scalars(select(OrgGroupKeyWrap.member_id).where(OrgGroupKeyWrap.key_id == key.id))) if key else set()
        )
        out["members"] = [{"email": m.email, "status": m.status, "has_key": m.id in held} for m in members]
    return out


def my_wraps(s: Session, member_id: str, org_id: str, group: OrgGroup | None = None) -> list[dict[str, Any]]:
    """The caller's wraps of every group they are in now (or of `group`), every key version, each with who
    signed it (`wrapped_by`, an email: the client checks the wrap's signature against that person's key)."""
    from sqlalchemy.orm import aliased

    wrapper = aliased(OrgMember)
    q = (
        select(OrgGroup.name, OrgGroupKey, OrgGroupKeyWrap.wrapped, wrapper.email)
        .join(OrgGroupKey, OrgGroupKey.group_id == OrgGroup.id)
        .join(OrgGroupKeyWrap, OrgGroupKeyWrap.key_id == OrgGroupKey.id)
        .join(
            OrgGroupMember,
            (OrgGroupMember.group_id == OrgGroup.id) & (OrgGroupMember.member_id == OrgGroupKeyWrap.member_id),
        )
        .join(wrapper, wrapper.id == OrgGroupKeyWrap.wrapped_by)
        .where(OrgGroupKeyWrap.member_id == member_id, OrgGroup.org_id == org_id)
        .order_by(OrgGroup.name, OrgGroupKey.version)
    )
    if group is not None:
        q = q.where(OrgGroup.id == group.id)
    return [
        {
            "group": name,
            "version": k.version,
            "fingerprint": k.fingerprint,
            "public_key": k.public_key,
            "current": k.retired_at is None,
            "wrapped": wrapped,
            "wrapped_by": by,
        }
        for name, k, wrapped, by in s.execute(q)
    ]


def held_wraps(s: Session, member_id: str, org_id: str) -> list[dict[str, Any]]:
    """Every wrap the caller holds, also as custodian of a group they are not in (the key versions they made or
    wrap as a group admin): what their client opens to wrap the key for members, never to decrypt."""
    from sqlalchemy.orm import aliased

    wrapper = aliased(OrgMember)
    q = (
        select(OrgGroup.name, OrgGroupKey, OrgGroupKeyWrap.wrapped, wrapper.email)
        .join(OrgGroupKey, OrgGroupKey.group_id == OrgGroup.id)
        .join(OrgGroupKeyWrap, OrgGroupKeyWrap.key_id == OrgGroupKey.id)
        .join(wrapper, wrapper.id == OrgGroupKeyWrap.wrapped_by)
        .where(OrgGroupKeyWrap.member_id == member_id, OrgGroup.org_id == org_id)
        .order_by(OrgGroup.name, OrgGroupKey.version)
    )
    return [
        {
            "group": name,
            "version": k.version,
            "fingerprint": k.fingerprint,
            "public_key": k.public_key,
            "current": k.retired_at is None,
            "wrapped": wrapped,
            "wrapped_by": by,
        }
        for name, k, wrapped, by in s.execute(q)
    ]
