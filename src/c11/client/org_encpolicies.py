"""Client side of organization encryption policies (docs/organizations.md "Encryption policies"): named
recipient sets admins keep (crud:config-org) and every member encrypts for by name.

with Client.from_environment() as c:
    for p in c.org.encryption_policies.list():
        print(p.name, ", ".join(p.recipients))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from c11.client._http import HttpCore
from c11.errors import RecipientError

PATH = "/api/v1/org/encryption-policies"


@dataclass(frozen=True)
class OrgEncryptionPolicy:
    """A policy: emails and groups ((id, name or None when deleted)); `recipients` as `c11 encrypt -r` takes them."""

    id: str
    name: str
    description: str | None
    emails: tuple[str, ...]
    groups: tuple[tuple[str, str | None], ...]
    recipients: tuple[str, ...]
    created_by: str | None
    created_at: datetime
    updated_by: str | None
    updated_at: datetime

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> OrgEncryptionPolicy:
        return cls(
            str(d["id"]),
            str(d["name"]),
            d.get("description"),
            tuple(d["emails"]),
            tuple((g["id"], g.get("name")) for g in d["groups"]),
            tuple(d["recipients"]),
            d.get("created_by"),
            datetime.fromisoformat(d["created_at"]),
            d.get("updated_by"),
            datetime.fromisoformat(d["updated_at"]),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "emails": list(self.emails),
            "groups": [{"id": i, "name": n} for i, n in self.groups],
            "recipients": list(self.recipients),
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "updated_by": self.updated_by,
            "updated_at": self.updated_at.isoformat(),
        }


class OrgEncryptionPoliciesAPI:
    """The /api/v1/org/encryption-policies routes: list and get (members), add, edit, remove (crud:config-org)."""

    def __init__(self, core: HttpCore) -> None:
        self._core = core

    def list(self) -> list[OrgEncryptionPolicy]:
        return [OrgEncryptionPolicy.from_json(d) for d in self._core.request("GET", PATH)]

    def get(self, policy_id: str) -> OrgEncryptionPolicy:
        return OrgEncryptionPolicy.from_json(self._core.request("GET", f"{PATH}/{policy_id}"))

    def find(self, name_or_id: str) -> OrgEncryptionPolicy:
        """The policy named (case-insensitively) or with id `name_or_id`; RecipientError when none."""
        wanted = name_or_id.strip()
        policies = self.list()
        for p in policies:
            if p.id == wanted or p.name.casefold() == wanted.casefold():
                return p
        names = ", ".join(p.name for p in policies) or "none"
        raise RecipientError(f"your organization has no encryption policy {wanted!r} (policies: {names})")

    def add(
        self, name: str, emails: Sequence[str] = (), groups: Sequence[str] = (), description: str | None = None
    ) -> OrgEncryptionPolicy:
        """A new policy; `groups` by name or id (of your organization)."""
        body = {"name": name, "description": description, "emails": list(emails), "groups": list(groups)}
        return OrgEncryptionPolicy.from_json(self._core.request("POST", PATH, body))

    def edit(
        self,
        name_or_id: str,
        *,
        name: str | None = None,
        emails: Sequence[str] | None = None,
        groups: Sequence[str] | None = None,
        description: str | None = None,
    ) -> OrgEncryptionPolicy:
        """Change the fields given (the others keep their values)."""
        p = self.find(name_or_id)
        body = {
            "name": p.name if name is None else name,
            "description": p.description if description is None else description,
            "emails": list(p.emails if emails is None else emails),
            "groups": [i for i, _ in p.groups] if groups is None else list(groups),
        }
        return OrgEncryptionPolicy.from_json(self._core.request("PUT", f"{PATH}/{p.id}", body))

    def remove(self, name_or_id: str) -> None:
        self._core.request("DELETE", f"{PATH}/{self.find(name_or_id).id}")
