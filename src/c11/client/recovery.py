"""Organization recovery keys (docs/organizations.md) and what an organization asks of its members' clients.

`RecoveryAPI` makes a recovery key pair on this device, writes the private key file once and uploads only
the public line. `org_context` tells an encrypting client its organization's current recovery keys and
policies (require online, default expiry); `OrgInfo.from_lookup` reads the same from a registry lookup.
"""

from __future__ import annotations

import builtins
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from c11.client._http import HttpCore
from c11.errors import AuthError, C11Error, RecipientError, ServerError
from c11.keys.publickey import PublicKey

_BASE = "/api/v1/org/recovery-keys"


@dataclass(frozen=True)
class RecoveryKey:
    """A recovery key as listed: status current (added to new content) or retired (after a rotation)."""

    id: str
    name: str
    public_key: PublicKey
    fingerprint: str
    status: str
    created_at: str
    retired_at: str | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RecoveryKey:
        return cls(
            d["id"],
            d["name"],
            PublicKey.parse(d["public_key"]),
            d["fingerprint"],
            d["status"],
            d["created_at"],
            d.get("retired_at"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "public_key": self.public_key.line(),
            "fingerprint": self.fingerprint,
            "status": self.status,
            "created_at": self.created_at,
            "retired_at": self.retired_at,
        }


@dataclass(frozen=True)
class OrgInfo:
    """An organization as a client applies it: its current recovery keys and encryption policies."""

    name: str
    recovery_keys: list[PublicKey] = field(default_factory=list)
    require_online: bool = False
    default_expiry_days: int | None = None

    @classmethod
    def from_lookup(cls, d: Any) -> OrgInfo | None:
        """From a registry lookup's `org` field (`{"name", "recovery_keys", "require_online",
        "default_expiry_days"}`), or None when absent or malformed."""
        if not isinstance(d, dict) or not isinstance(d.get("name"), str):
            return None
        return cls(
            d["name"], _keys(d.get("recovery_keys")), bool(d.get("require_online")), _days(d.get("default_expiry_days"))
        )


def _keys(items: Any) -> list[PublicKey]:
    """Recovery keys given as lines or as `{"public_key", "status"?}` objects (current ones only)."""
    out = []
    for item in items or []:
        line = item if isinstance(item, str) else (item.get("public_key") if isinstance(item, dict) else None)
        if isinstance(item, dict) and item.get("status", "current") != "current":
            continue
        try:
            if not isinstance(line, str):
                raise TypeError(line)
            out.append(PublicKey.parse(line))
        except (RecipientError, AttributeError, TypeError):
            raise RecipientError("the server sent a malformed organization recovery key") from None
    return out


def _days(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None


class RecoveryAPI:
    """The /api/v1/org/recovery-keys routes, and recovery key pairs made on this device."""

    def __init__(self, core: HttpCore) -> None:
        self._core = core

    def list(self) -> list[RecoveryKey]:
        """Every recovery key of your organization, current and retired (any member may read them)."""
        return [RecoveryKey.from_json(d) for d in self._core.request("GET", _BASE)["recovery_keys"]]

    def current(self) -> builtins.list[PublicKey]:
        """The current recovery keys (what clients add as recipients)."""
        return [k.public_key for k in self.list() if k.status == "current"]

    def create(
        self, name: str, path: str | Path, passphrase: str | None = None, *, replaces: str | None = None
    ) -> tuple[RecoveryKey, Path]:
        """Make a key pair here, write its private key file at `path` (never over an existing file), upload
        only the public key (crud:recovery-keys-org). With `replaces`, that key is retired (a rotation)."""
        from c11.crypto.kem import HYBRID
        from c11.keys import keyfile
        from c11.keys.identity import Identity

        identity = Identity.generate(f"recovery:{name.strip()}", HYBRID, int(time.time()))
        written = keyfile.write(path, identity, passphrase)  # refuses to overwrite (OutputExistsError)
        try:
            d = self._core.request(
                "POST",
                _BASE,
                {"name": name, "public_key": identity.public.line(), **({"replaces": replaces} if replaces else {})},
            )
        except C11Error:
            written.unlink(missing_ok=True)  # nothing uploaded: the file would only mislead
            raise
        key = RecoveryKey.from_json(d)
        if key.public_key != identity.public:
            raise ServerError("the server recorded another recovery key than the one made here")
        return key, written

    def rotate(
        self, key_id: str, name: str, path: str | Path, passphrase: str | None = None
    ) -> tuple[RecoveryKey, Path]:
        """A new current key (written to `path`) replaces `key_id`, which stays listed as retired."""
        return self.create(name, path, passphrase, replaces=key_id)

    def remove(self, key_id: str) -> None:
        """Remove a recovery key: no longer added to new content."""
        self._core.request("DELETE", f"{_BASE}/{key_id}")

    def org_context(self) -> OrgInfo | None:
        """Your organization's current recovery keys and policies, or None if you are not a member."""
        return org_context(self._core)

    def org_answer(self, known_size: int | None = None) -> dict[str, Any] | None:
        """`GET /api/v1/org` as it comes (the signed policy and its proof included), None: not a member."""
        return org_answer(self._core, known_size)


def org_answer(core: HttpCore, known_size: int | None = None) -> dict[str, Any] | None:
    """`GET /api/v1/org` as it comes (with `known_size`: the policy's proof carries a consistency proof from
    that tree size), or None when you are not a member; any other refusal raises (see below)."""
    try:
        d = core.request("GET", "/api/v1/org", params={"known_size": known_size} if known_size is not None else None)
    except AuthError as e:
        if str((e.problem or {}).get("type", "")).endswith("insufficient-scope"):
            raise AuthError(
                "this token lacks the scope org:read: your organization's recovery keys and policies "
                "cannot be read, so nothing is encrypted; add the scope to the token",
                403,
                e.problem,
            ) from None
        if e.status == 401:  # not logged in (any more): "not a member" would be a guess, and would be cached
            raise
        if str((e.problem or {}).get("type", "")).endswith("not-a-member"):
            return None
        # any other refusal (a proxy, a half-upgraded server, an attacker on the path) is not "no organization":
        # taken as one, it would be cached and drop the recovery keys from every later encryption
        raise
    if not isinstance(d, dict):
        raise ServerError("the server's organization answer is not a JSON object")
    return d


def org_context(core: HttpCore) -> OrgInfo | None:
    """Your organization as the server states it (not verified: `c11.client.org_policy` checks the signed
    policy against the log), or None when you are not a member.

    Reads `GET /api/v1/org` (name, policies, recovery keys); recovery keys come from
    `GET /api/v1/org/recovery-keys` when that answer has none listed.
    """
    d = org_answer(core)
    if d is None:
        return None
    policies = d.get("policies") or {}
    if "recovery_keys" in d:
        keys = _keys(d.get("recovery_keys"))
        name = d.get("name") or ""
    else:
        r = core.request("GET", _BASE)
        keys = _keys(r.get("recovery_keys"))
        name = d.get("name") or r.get("org") or ""
    return OrgInfo(name, keys, bool(policies.get("require_online")), _days(policies.get("default_expiry_days")))
