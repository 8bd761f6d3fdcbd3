"""Organization rules: what organizations add to a protected item, as one pure function (no I/O).

Every client (CLI, SDK, browser, Office add-in) computes the plan itself from policies it verified, so a
server cannot slip keys in; docs/organizations.md "Organization rules" is the spec, with vectors in
tests/vectors/orgrules/.

    from c11.orgrules import OrgPolicy, SendOptions, apply
    plan = apply([OrgPolicy("ACME", (recovery_key,), require_online=True, default_expiry_days=30)],
                 [bob_key], SendOptions(online=False, expires=None))
    plan.recipients      # bob_key, then recovery_key
    plan.online, plan.expires                                        # True, "30d"
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from c11.errors import FormatError, UsageError
from c11.keys.publickey import PublicKey

#: The `type` of an organization policy document.
POLICY_DOCUMENT_TYPE = "c11-org-policy/v1"
#: Largest policy document a client reads (bytes): 64 hybrid recovery keys fit many times over.
MAX_DOCUMENT = 1 << 20

#: Bounds of `default_expiry_days` (the server refuses other values).
MAX_EXPIRY_DAYS = 36500


@dataclass(frozen=True)
class OrgPolicy:
    """What one organization asks of clients: its current recovery keys, `require_online`, a default expiry.

    `name` identifies the organization in notes and in `online_required_by`."""

    name: str
    recovery_keys: tuple[PublicKey, ...] = ()
    require_online: bool = False
    default_expiry_days: int | None = None

    @classmethod
    def from_json(cls, d: Any) -> OrgPolicy:
        """Strictly from `{"name", "recovery_keys": [lines], "require_online", "default_expiry_days"}`."""
        if not isinstance(d, dict) or set(d) != {"name", "recovery_keys", "require_online", "default_expiry_days"}:
            raise FormatError(
                "an organization policy needs exactly name, recovery_keys, require_online and default_expiry_days"
            )
        name, keys, online, days = d["name"], d["recovery_keys"], d["require_online"], d["default_expiry_days"]
        if not isinstance(name, str) or not isinstance(keys, list) or not isinstance(online, bool):
            raise FormatError("malformed organization policy")
        if days is not None and (
            isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_EXPIRY_DAYS
        ):
            raise FormatError(f"default_expiry_days must be null or 1 to {MAX_EXPIRY_DAYS}")
        if not all(isinstance(k, str) for k in keys):
            raise FormatError("recovery_keys must be public key lines")
        return cls(name, tuple(PublicKey.parse(k) for k in keys), online, days)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "recovery_keys": [k.line() for k in self.recovery_keys],
            "require_online": self.require_online,
            "default_expiry_days": self.default_expiry_days,
        }


def document_text(
    org: str, seq: int, name: str, key_lines: Sequence[str], require_online: bool, default_expiry_days: int | None
) -> str:
    """The canonical text of a policy document from its parts (`key_lines`: public key lines as `line()` gives
    them); the server builds it from its rows this way, without parsing the keys."""
    from c11.log.entries import canonical_json  # on use: an offline `c11 encrypt` imports no c11.log

    return canonical_json(
        {
            "default_expiry_days": default_expiry_days,
            "name": name,
            "org": org,
            "recovery_keys": list(key_lines),
            "require_online": require_online,
            "seq": seq,
            "type": POLICY_DOCUMENT_TYPE,
        }
    )


@dataclass(frozen=True)
class PolicyDocument:
    """Organization `org`'s policy number `seq` (1, 2, ... one per change): what the log commits to.

    Its text is canonical JSON `{"default_expiry_days", "name", "org", "recovery_keys", "require_online",
    "seq", "type": "c11-org-policy/v1"}`; `c11.log.entries.org_policy_digest(text)` goes into the log entry."""

    org: str
    seq: int
    policy: OrgPolicy

    def to_text(self) -> str:
        p = self.policy
        return document_text(
            self.org, self.seq, p.name, [k.line() for k in p.recovery_keys], p.require_online, p.default_expiry_days
        )

    @classmethod
    def parse(cls, text: str) -> PolicyDocument:
        """Strictly from its canonical text (anything else, or a key that does not parse: FormatError)."""
        from c11.log.entries import MAX_SEQ, canonical_json

        if not isinstance(text, str) or len(text) > MAX_DOCUMENT:
            raise FormatError("an organization policy document is canonical JSON text of at most 1 MiB")
        try:
            d = json.loads(text)
        except (ValueError, RecursionError):
            raise FormatError("the organization policy document is not JSON") from None
        if not isinstance(d, dict) or canonical_json(d) != text:
            raise FormatError("the organization policy document is not canonical JSON")
        if d.get("type") != POLICY_DOCUMENT_TYPE or not {"org", "seq", "type"} <= set(d):
            raise FormatError(f"not an organization policy document ({POLICY_DOCUMENT_TYPE})")
        org, seq = d.pop("org"), d.pop("seq")
        d.pop("type")
        if not isinstance(org, str) or not org or len(org) > 64:
            raise FormatError("the organization policy document has a bad organization ID")
        if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= MAX_SEQ:
            raise FormatError("the organization policy document has a bad sequence number")
        return cls(org, seq, OrgPolicy.from_json(d))


@dataclass(frozen=True)
class SendOptions:
    """What the sender asked for: an online policy, and an expiry as given (a time or a duration)."""

    online: bool = False
    expires: str | None = None


@dataclass(frozen=True)
class AddedKey:
    """A recovery key the rules added, and the organization it is for."""

    org: str
    key: PublicKey


@dataclass(frozen=True)
class RulesPlan:
    """The outcome: every recipient (given ones first, then added recovery keys), online, expiry."""

    recipients: tuple[PublicKey, ...]
    added: tuple[AddedKey, ...]
    online: bool
    online_required_by: tuple[str, ...]
    expires: str | None
    default_expiry_days: int | None  # the organization default that set `expires`, if one did

    def to_json(self) -> dict[str, Any]:
        """The form the vectors compare (key lines and fingerprints)."""
        return {
            "recipients": [k.fingerprint for k in self.recipients],
            "added_recovery_keys": [{"org": a.org, "fingerprint": a.key.fingerprint} for a in self.added],
            "online": self.online,
            "online_required_by": list(self.online_required_by),
            "expires": self.expires,
            "default_expiry_days": self.default_expiry_days,
        }


def apply(policies: Sequence[OrgPolicy], recipients: Sequence[PublicKey], options: SendOptions) -> RulesPlan:
    """The plan for `recipients` under `policies` (the sender's organization first, then the recipients'
    in the order they were looked up); raises UsageError when an expiry is asked for without online."""
    ordered: list[OrgPolicy] = []
    for p in policies:
        if p.name not in {o.name for o in ordered}:
            ordered.append(p)
    out: list[PublicKey] = []
    have: set[str] = set()
    for k in recipients:
        if k.fingerprint not in have:
            have.add(k.fingerprint)
            out.append(k)
    added: list[AddedKey] = []
    for p in ordered:
        for k in p.recovery_keys:
            if k.fingerprint not in have:
                have.add(k.fingerprint)
                out.append(k)
                added.append(AddedKey(p.name, k))
    required_by = tuple(p.name for p in ordered if p.require_online)
    online = options.online or bool(required_by)
    expires, default_days = options.expires, None
    if expires is not None and not online:
        raise UsageError("an expiry needs an online policy (the key server enforces it)")
    days = [p.default_expiry_days for p in ordered if p.default_expiry_days]
    if online and expires is None and days:
        default_days = min(days)
        expires = f"{default_days}d"
    return RulesPlan(tuple(out), tuple(added), online, required_by, expires, default_days)
