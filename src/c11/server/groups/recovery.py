"""Recovery keys of an organization (docs/organizations.md, Recovery keys): only public halves, uploaded by admins.

Every client adds an organization's current recovery keys as recipients of what its members encrypt and of
what is encrypted for them; rotation makes a new key current and keeps the old one listed as retired.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from c11.server.db import utcnow
from c11.server.groups.models import OrgRecoveryKey
from c11.server.groups.service import parse_public
from c11.server.problems import Problem


def recovery_public_keys(s: Session, org_id: str) -> list[str]:
    """The public key lines of `org_id`'s current recovery keys (clients add them as recipients)."""
    return list(
        s.scalars(
            select(OrgRecoveryKey.public_key)
            .where(OrgRecoveryKey.org_id == org_id, OrgRecoveryKey.status == "current")
            .order_by(OrgRecoveryKey.created_at, OrgRecoveryKey.id)
        )
    )


def listing(s: Session, org_id: str) -> list[OrgRecoveryKey]:
    return list(
        s.scalars(
            select(OrgRecoveryKey)
            .where(OrgRecoveryKey.org_id == org_id)
            .order_by(OrgRecoveryKey.created_at, OrgRecoveryKey.id)
        )
    )


def get(s: Session, org_id: str, key_id: str) -> OrgRecoveryKey:
    row = s.get(OrgRecoveryKey, key_id)
    if row is None or row.org_id != org_id:
        raise Problem(404, "Not Found", "Your organization has no recovery key with this ID.", "no-recovery-key")
    return row


def add(
    s: Session, org_id: str, name: str, public_line: str, replaces: str | None
) -> tuple[OrgRecoveryKey, OrgRecoveryKey | None]:
    """Upload a recovery key (current); with `replaces`, that key becomes retired (a rotation)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise Problem(422, "Bad name", "A recovery key needs a name of 1 to 200 characters.", "bad-name")
    key = parse_public(public_line)
    if any(r.fingerprint == key.fingerprint for r in listing(s, org_id)):
        raise Problem(409, "Conflict", "This recovery key is already uploaded.", "recovery-key-exists")
    old = None
    if replaces is not None:
        old = get(s, org_id, replaces)
        if old.status != "current":
            raise Problem(409, "Conflict", "This recovery key is already retired.", "recovery-key-retired")
        old.status, old.retired_at = "retired", utcnow()
    row = OrgRecoveryKey(
        org_id=org_id,
        name=name,
        public_key=key.line(),
        fingerprint=key.fingerprint,
        status="current",
        created_at=utcnow(),
    )
    s.add(row)
    s.flush()
    return row, old


def as_json(r: OrgRecoveryKey) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": r.name,
        "public_key": r.public_key,
        "fingerprint": r.fingerprint,
        "status": r.status,
        "created_at": r.created_at.isoformat(),
        "retired_at": r.retired_at.isoformat() if r.retired_at else None,
    }
