"""What c11's log entries contain, shared by the server that writes them and the clients that check them.

* Entries are canonical JSON: sorted keys, no spaces, ASCII only (`canonical_json`).
* People are named by `email_hash(email)`, never by a plain address.
* A registry entry (`kind` "key") is `{"action", "email_hash", "kind", "public_key", "time"}`.
* A registry publish carries a proof of possession: the identity's Ed25519 signature over
  `publish_message(email, public line, timestamp)`.
* An organization policy entry (`kind` "orgpolicy") is `{"digest", "kind", "org", "seq", "time"}`: `digest`
  is `org_policy_digest` of the organization's policy document number `seq` (docs/organizations.md).
* A group key entry (`kind` "groupkey") is `{"digest", "group", "kind", "org", "time", "version"}`: `digest` is
  `group_key_digest` of the group key record (`c11.groupkey.GroupKeyRecord`: organization, group ID and name,
  key version, public key line) that version `version` of group `group` of `org` has (docs/organizations.md).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from c11.errors import ProofError

PUBLISH_CONTEXT = b"c11/v1 registry publish\x00"
EMAIL_CONTEXT = b"c11/v1 email\x00"
ORG_POLICY_CONTEXT = b"c11/v1 org policy\x00"
#: The `kind` of an organization policy entry.
ORG_POLICY_KIND = "orgpolicy"
GROUP_KEY_CONTEXT = b"c11/v1 group key\x00"
#: The `kind` of a group key entry.
GROUP_KEY_KIND = "groupkey"
#: Largest policy sequence number (JavaScript's safe integers, so the browser reads it exactly).
MAX_SEQ = 2**53 - 1
#: How far a proof of possession's timestamp may be from the server's clock.
PUBLISH_WINDOW_SECONDS = 600
KEY_ACTIONS = ("publish", "change", "remove")


def email_hash(email: str) -> str:
    """SHA-256("c11/v1 email" 0x00 lowercased email), as 64 hex digits."""
    return hashlib.sha256(EMAIL_CONTEXT + email.strip().lower().encode("utf-8")).hexdigest()


def org_policy_digest(document: str) -> str:
    """SHA-256("c11/v1 org policy" 0x00 document bytes), as 64 hex digits (document: canonical JSON text)."""
    return hashlib.sha256(ORG_POLICY_CONTEXT + document.encode("ascii")).hexdigest()


def group_key_digest(record: str) -> str:
    """SHA-256("c11/v1 group key" 0x00 record bytes), as 64 hex digits (record: canonical JSON text)."""
    return hashlib.sha256(GROUP_KEY_CONTEXT + record.encode("ascii")).hexdigest()


def canonical_json(obj: Any) -> str:
    """The one encoding of an entry: sorted keys, no spaces, ASCII only."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def rfc3339(t: datetime, precise: bool = False) -> str:
    """UTC, whole seconds (2026-11-27T10:00:00Z) or, `precise`, microseconds (…T10:00:00.123456Z)."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ" if precise else "%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> datetime:
    """A timezone-aware datetime from an RFC 3339 timestamp; ValueError otherwise."""
    if not isinstance(text, str) or "T" not in text.upper():
        raise ValueError("not an RFC 3339 timestamp")
    t = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError("RFC 3339 timestamps need a time zone")
    return t


def publish_message(email: str, public_line: str, timestamp: str) -> bytes:
    """What the identity's signing key signs to publish `public_line` for `email` (lowercased)."""
    return (
        PUBLISH_CONTEXT
        + email.strip().lower().encode("utf-8")
        + b"\x00"
        + public_line.encode("ascii")
        + b"\x00"
        + timestamp.encode("ascii")
    )


def _entry_fields(text: str, kind: str, fields: set[str], what: str) -> dict[str, Any]:
    """The fields of an entry's text: canonical JSON of `kind` with exactly `fields`; raises ProofError."""
    try:
        d = json.loads(text)
    except (ValueError, RecursionError):
        raise ProofError("log entry is not JSON") from None
    if not isinstance(d, dict) or canonical_json(d) != text:
        raise ProofError("log entry is not canonical JSON")
    if d.get("kind") != kind or set(d) != fields:
        raise ProofError(f"log entry is not {what}")
    return d


def _entry_time(d: dict[str, Any]) -> datetime:
    try:
        return parse_rfc3339(d["time"])
    except (ValueError, TypeError):
        raise ProofError("log entry has a bad time") from None


def _entry_id(value: Any, error: str) -> str:
    """An organization or group ID: 1 to 64 characters."""
    if not isinstance(value, str) or not value or len(value) > 64:
        raise ProofError(error)
    return value


def _entry_seq(value: Any, error: str) -> int:
    """A sequence or version number: 1 to MAX_SEQ."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SEQ:
        raise ProofError(error)
    return value


def _entry_digest(value: Any, error: str) -> str:
    """64 lowercase hex digits."""
    if not isinstance(value, str) or len(value) != 64 or value.strip("0123456789abcdef"):
        raise ProofError(error)
    return value


@dataclass(frozen=True)
class KeyEntry:
    """A parsed registry entry of the log."""

    action: str
    email_hash: str
    public_key: str | None
    time: datetime
    text: str

    @classmethod
    def parse(cls, text: str) -> KeyEntry:
        """Parse and check a key entry's text (canonical JSON); raises ProofError."""
        d = _entry_fields(text, "key", {"action", "email_hash", "kind", "public_key", "time"}, "a key entry")
        if d["action"] not in KEY_ACTIONS or not isinstance(d["email_hash"], str):
            raise ProofError("log entry has a bad action or email hash")
        if (d["public_key"] is None) != (d["action"] == "remove") or not (
            d["public_key"] is None or isinstance(d["public_key"], str)
        ):
            raise ProofError("log entry has a bad public key")
        return cls(d["action"], d["email_hash"], d["public_key"], _entry_time(d), text)


@dataclass(frozen=True)
class OrgPolicyEntry:
    """A parsed organization policy entry of the log: policy document number `seq` of `org` has `digest`."""

    org: str
    seq: int
    digest: str
    time: datetime
    text: str

    @classmethod
    def parse(cls, text: str) -> OrgPolicyEntry:
        """Parse and check an `orgpolicy` entry's text (canonical JSON); raises ProofError."""
        what = "organization policy entry"
        d = _entry_fields(text, ORG_POLICY_KIND, {"digest", "kind", "org", "seq", "time"}, f"an {what}")
        org = _entry_id(d["org"], f"{what} has a bad organization ID")
        seq = _entry_seq(d["seq"], f"{what} has a bad sequence number")
        digest = _entry_digest(d["digest"], f"{what} has a bad digest")
        return cls(org, seq, digest, _entry_time(d), text)


@dataclass(frozen=True)
class GroupKeyEntry:
    """A parsed group key entry of the log: key version `version` of group `group` of `org` has the record
    whose digest is `digest`."""

    org: str
    group: str
    version: int
    digest: str
    time: datetime
    text: str

    @classmethod
    def parse(cls, text: str) -> GroupKeyEntry:
        """Parse and check a `groupkey` entry's text (canonical JSON); raises ProofError."""
        what = "group key entry"
        d = _entry_fields(text, GROUP_KEY_KIND, {"digest", "group", "kind", "org", "time", "version"}, f"a {what}")
        org = _entry_id(d["org"], f"{what} has a bad organization ID")
        group = _entry_id(d["group"], f"{what} has a bad group ID")
        version = _entry_seq(d["version"], f"{what} has a bad key version")
        digest = _entry_digest(d["digest"], f"{what} has a bad digest")
        return cls(org, group, version, digest, _entry_time(d), text)
