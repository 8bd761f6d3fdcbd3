"""Actor commitments of v2 log entries: who did something, hidden from the public log's readers.

A v2 entry (`"v": 2`) keeps its public fields and replaces the fields that name a person (an email hash, a
key fingerprint, a policy digest...) by one hiding commitment, `actor` (docs/log.md section 7):

    actor = hex(SHA-256("c11-log-actor/v2" || 0x00 || nonce || canonical_json(private)))

`nonce` is 32 fresh random bytes per entry; `private` is a JSON object whose `person` member is the email
hash of the person the entry is about (or null). The pair (nonce, private) is the entry's *opening*: the
server keeps it and gives it only to that person and their organization's admins (and, for a release, to
the document's author), who check it against the entry with `verify_opening`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

from c11.errors import ProofError
from c11.log.entries import canonical_json

ACTOR_CONTEXT = b"c11-log-actor/v2\x00"
NONCE_SIZE = 32
ENTRY_VERSION = 2
#: Longest private object accepted when verifying (an entry's private part is small).
MAX_PRIVATE = 64_000
_HEX64 = re.compile(r"[0-9a-f]{64}")


def actor_commitment(nonce: bytes, private_text: str) -> str:
    """hex SHA-256("c11-log-actor/v2" 0x00 || nonce || private_text); `private_text` is canonical JSON."""
    if not isinstance(nonce, bytes) or len(nonce) != NONCE_SIZE:
        raise ValueError(f"an actor nonce is {NONCE_SIZE} bytes")
    return hashlib.sha256(ACTOR_CONTEXT + nonce + private_text.encode("ascii")).hexdigest()


def private_text(person: str | None, details: dict[str, Any]) -> str:
    """The canonical private object `{"person": person, **details}` of a v2 entry."""
    if person is not None and not _HEX64.fullmatch(person):
        raise ValueError("person must be an email hash (64 lowercase hex digits) or None")
    if "person" in details:
        raise ValueError("private details may not be named person")
    return canonical_json({**details, "person": person})


#: Public fields of an `admin` entry that are never moved to its private part.
_ADMIN_PUBLIC = frozenset({"action", "org"})
#: Where an `admin` entry's person is found, first match wins (the admin who acted comes last).
_ADMIN_PERSON = ("target", "member", "renamed_to", "by")


def admin_parts(fields: dict[str, Any]) -> tuple[dict[str, Any], str | None, dict[str, Any]]:
    """An `admin` entry's v1 fields split into (public fields, person, private fields) (docs/log.md 7).

    The actor (renamed `by`) and every other value that is an email hash go private; `person` is the
    person acted on (`target`, `member`, `renamed_to`) when one is named, else the acting admin, else None."""
    public: dict[str, Any] = {}
    private: dict[str, Any] = {}
    for k, v in fields.items():
        if k == "actor":
            private["by"] = v
        elif k not in _ADMIN_PUBLIC and isinstance(v, str) and _HEX64.fullmatch(v):
            private[k] = v
        else:
            public[k] = v
    person = next(
        (private[k] for k in _ADMIN_PERSON if isinstance(private.get(k), str) and _HEX64.fullmatch(private[k])), None
    )
    return public, person, private


@dataclass(frozen=True)
class Opened:
    """A v2 entry checked against its opening: public fields, private fields and the person."""

    entry: dict[str, Any]
    private: dict[str, Any]

    @property
    def person(self) -> str | None:
        return self.private.get("person")

    @property
    def kind(self) -> str:
        return str(self.entry.get("kind"))


def _canonical_object(text: str, what: str) -> dict[str, Any]:
    try:
        d = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        raise ProofError(f"{what} is not JSON") from None
    if not isinstance(d, dict) or canonical_json(d) != text:
        raise ProofError(f"{what} is not a canonical JSON object")
    return d


def is_v2(entry: dict[str, Any]) -> bool:
    """True for a v2 entry (one with an actor commitment)."""
    return entry.get("v") == ENTRY_VERSION and isinstance(entry.get("actor"), str)


def verify_opening(entry_text: str, nonce: bytes, private: str) -> Opened:
    """Check that (nonce, private) opens the `actor` of the v2 entry `entry_text`; ProofError otherwise."""
    if not isinstance(entry_text, str) or not isinstance(private, str) or len(private) > MAX_PRIVATE:
        raise ProofError("malformed opening")
    entry = _canonical_object(entry_text, "log entry")
    if not is_v2(entry) or not _HEX64.fullmatch(entry["actor"]):
        raise ProofError("log entry has no actor commitment")
    fields = _canonical_object(private, "opening")
    person = fields.get("person")
    if "person" not in fields or not (person is None or (isinstance(person, str) and _HEX64.fullmatch(person))):
        raise ProofError("opening names no person")
    if set(fields) & set(entry):
        raise ProofError("opening repeats a public field")
    try:
        expected = actor_commitment(nonce, private)
    except (ValueError, UnicodeEncodeError):
        raise ProofError("malformed opening") from None
    if not hmac.compare_digest(expected, entry["actor"]):
        raise ProofError("the opening does not match the entry's actor commitment")
    return Opened(entry, fields)
