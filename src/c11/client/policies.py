"""Client side of encryption policies (docs/registry.md §3): record the recipient set of an encryption, list, reuse.

with Client.from_environment() as c:
    for p in c.policies.list():
        print(p.id, p.describe())
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from c11.client._http import HttpCore


@dataclass(frozen=True)
class PolicyMember:
    """An email (resolved through the registry when reused) or a public key (fingerprint and line)."""

    email: str | None = None
    fingerprint: str | None = None
    public_key: str | None = None

    def label(self) -> str:
        return self.email or f"key {self.fingerprint}"


@dataclass(frozen=True)
class Policy:
    id: str
    name: str | None
    members: tuple[PolicyMember, ...]
    created_at: datetime
    last_used_at: datetime
    use_count: int
    new: bool = False

    def describe(self) -> str:
        return ", ".join(m.label() for m in self.members)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Policy:
        members = tuple(PolicyMember(m.get("email"), m.get("fingerprint"), m.get("public_key")) for m in d["members"])
        return cls(
            d["id"],
            d.get("name"),
            members,
            datetime.fromisoformat(d["created_at"]),
            datetime.fromisoformat(d["last_used_at"]),
            int(d["use_count"]),
            bool(d.get("new")),
        )


class PoliciesAPI:
    """The /api/v1/policies routes."""

    def __init__(self, core: HttpCore) -> None:
        self._core = core

    def record(self, members: Iterable[PolicyMember | dict[str, str]], name: str | None = None) -> Policy:
        """Save a recipient set (you are added); returns the new or reused policy."""
        body = [
            {
                k: v
                for k, v in (m.__dict__ if isinstance(m, PolicyMember) else m).items()
                if k in ("email", "public_key") and v
            }
            for m in members
        ]
        return Policy.from_json(self._core.request("POST", "/api/v1/policies", {"recipients": body, "name": name}))

    def list(self, limit: int = 20) -> list[Policy]:
        """Your recent policies, most recently used first."""
        return [Policy.from_json(d) for d in self._core.request("GET", "/api/v1/policies", params={"limit": limit})]

    def get(self, policy_id: str) -> Policy:
        return Policy.from_json(self._core.request("GET", f"/api/v1/policies/{policy_id}"))

    def delete(self, policy_id: str) -> None:
        self._core.request("DELETE", f"/api/v1/policies/{policy_id}")
