"""Organization policies (docs/organizations.md, Policies): one JSON document per organization, read with defaults.

Enforced by the server (lookups, member listing, key publishing, online-policy registration) and sent to
clients (`GET /api/v1/org`), which apply `require_online` and `default_expiry_days` when encrypting.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from c11.server.problems import Problem


class OrgPolicies(BaseModel):
    """What an organization allows and requires; every field has the default a new organization gets."""

    #: People outside the organization may look up members' keys (and members may look up outsiders).
    allow_cross_org_lookup: bool = True
    #: Members may list other members (the recipient picker); otherwise a full email is needed.
    allow_member_listing: bool = False
    #: Members may use device-stored keys (docs/format.md §6); otherwise only cloud-stored keys (docs/shards.md).
    allow_device_keys: bool = True
    #: Everything members encrypt must carry an online policy (docs/keyserver.md).
    require_online: bool = False
    #: Expiry, in days, given to members' online-policy documents that set none; None: no default.
    default_expiry_days: int | None = Field(default=None, ge=1, le=36500)


def load(text: str | None) -> OrgPolicies:
    """The policies stored as `text` (unknown keys ignored, missing keys defaulted)."""
    try:
        data = json.loads(text or "{}")
    except ValueError:
        data = {}
    return OrgPolicies.model_validate({k: v for k, v in data.items() if k in OrgPolicies.model_fields})


def dump(policies: OrgPolicies) -> str:
    return json.dumps(policies.model_dump(), sort_keys=True)


def of_member(s: Session, email: str) -> OrgPolicies | None:
    """The policies of the organization `email` is a (not deactivated) member of, or None."""
    from c11.server.orgs.permissions import membership

    found = membership(s, email)
    return load(found[1].policies) if found is not None else None


def refuse_device_key(s: Session, email: str) -> None:
    """403 when `email`'s organization forbids device-stored keys (publishing a key not marked cloud)."""
    p = of_member(s, email)
    if p is not None and not p.allow_device_keys:
        raise Problem(
            403,
            "Forbidden",
            "Your organization allows only cloud-stored keys (policy "
            "allow_device_keys is false): move to one with `c11 keys replace --cloud` (the SDK publishes "
            'it with storage "cloud").',
            "device-keys-forbidden",
        )


def default_expiry(s: Session, email: str, now: datetime) -> datetime | None:
    """When an online-policy document registered by `email` without an expiry expires: `now` plus its
    organization's default_expiry_days, or None (no organization, or no default)."""
    p = of_member(s, email)
    return now + timedelta(days=p.default_expiry_days) if p is not None and p.default_expiry_days else None
