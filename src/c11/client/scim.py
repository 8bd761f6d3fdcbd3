"""SCIM token calls of organization admins (permission crud:groups-scim-tokens-org): create (the secret is
returned once), list, revoke. Built as `ScimTokensAPI(client._core)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from c11.client._http import HttpCore

PATH = "/api/v1/org/scim-tokens"


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class ScimToken:
    """A SCIM token of your organization (never its secret)."""

    id: str
    name: str
    created_by: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ScimToken:
        return cls(
            d["id"],
            d["name"],
            d.get("created_by"),
            _ts(d["created_at"]),  # type: ignore[arg-type]
            _ts(d.get("expires_at")),
            _ts(d.get("last_used_at")),
            bool(d["revoked"]),
        )

    def as_json(self) -> dict[str, Any]:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        return {
            "id": self.id,
            "name": self.name,
            "created_by": self.created_by,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "last_used_at": iso(self.last_used_at),
            "revoked": self.revoked,
        }


@dataclass(frozen=True)
class CreatedScimToken:
    info: ScimToken
    token: str
    scim_url: str

    def __repr__(self) -> str:  # never show the token
        return f"CreatedScimToken(info={self.info!r}, token='***', scim_url={self.scim_url!r})"


class ScimTokensAPI:
    """The /api/v1/org/scim-tokens routes."""

    def __init__(self, core: HttpCore) -> None:
        self._core = core

    def create(self, name: str, expires_in_days: int | None = None) -> CreatedScimToken:
        d = self._core.request("POST", PATH, {"name": name, "expires_in_days": expires_in_days})
        return CreatedScimToken(ScimToken.from_json(d), d["token"], d["scim_url"])

    def list(self) -> list[ScimToken]:
        return [ScimToken.from_json(d) for d in self._core.request("GET", PATH)]

    def revoke(self, token_id: str) -> None:
        self._core.request("DELETE", f"{PATH}/{token_id}")
