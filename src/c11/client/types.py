"""Typed results of the client's calls (plain frozen dataclasses, built from the server's JSON).

Timestamps are timezone-aware `datetime`s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


def _ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class User:
    id: str
    email: str
    email_verified: bool
    created_at: datetime

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> User:
        return cls(d["id"], d["email"], bool(d["email_verified"]), _ts(d["created_at"]))  # type: ignore[arg-type]


@dataclass(frozen=True)
class WhoAmI:
    user: User
    auth_kind: str
    credential_id: str
    scopes: tuple[str, ...]

    @property
    def email(self) -> str:
        return self.user.email

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> WhoAmI:
        a = d["auth"]
        return cls(User.from_json(d), a["kind"], a["credential_id"], tuple(a["scopes"]))


@dataclass(frozen=True)
class LoginResult:
    user: User
    token: str
    expires_at: datetime
    device_token: str | None = None  # a new known-device token (password logins from a new device)

    def __repr__(self) -> str:  # never show the token
        return f"LoginResult(user={self.user!r}, expires_at={self.expires_at!r})"


@dataclass(frozen=True)
class MachineToken:
    id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked: bool

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> MachineToken:
        return cls(
            d["id"],
            d["name"],
            tuple(d["scopes"]),
            _ts(d["created_at"]),  # type: ignore[arg-type]
            _ts(d["expires_at"]),  # type: ignore[arg-type]
            _ts(d.get("last_used_at")),
            bool(d["revoked"]),
        )


@dataclass(frozen=True)
class CreatedToken:
    info: MachineToken
    token: str

    def __repr__(self) -> str:  # never show the token
        return f"CreatedToken(info={self.info!r})"
