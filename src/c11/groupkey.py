"""The group key envelope (docs/format.md §12): a group's private key wrapped to one member.

A wrap is an ordinary `.c11` file (header ‖ STREAM payload) encrypted to the member's public key only and
signed by whoever wrapped it; its plaintext is the canonical JSON `c11-group-key/v1` document below, so no
new cryptography or stanza type is involved. Files sent to a group are plain recipient stanzas to the
group's public key.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from c11 import files
from c11.crypto.kem import HYBRID, SEED_SIZE, kem_type
from c11.errors import FormatError, RecipientError
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey

FORMAT = "c11-group-key/v1"
MEDIA_TYPE = "application/vnd.c11.group-key+json"
_FIELDS = {"format", "group", "org", "public", "seeds", "version"}


def label(group: str) -> str:
    """The label of a group identity (`group:NAME`)."""
    return f"group:{group}"


def generate(group: str, kem: str = HYBRID) -> Identity:
    """A new group identity (X-Wing by default), made on an admin's device."""
    return Identity.generate(label(group), kem)


@dataclass(frozen=True)
class GroupKeyRef:
    """Which group key a wrap holds: organization ID, group name, key version."""

    org: str
    group: str
    version: int


def encode(identity: Identity, ref: GroupKeyRef) -> bytes:
    """The plaintext of a wrap: canonical JSON (sorted keys, no spaces, ASCII)."""
    doc = {
        "format": FORMAT,
        "group": ref.group,
        "org": ref.org,
        "public": identity.public.line(),
        "seeds": base64.b64encode(identity.enc_seed + identity.sig_seed).decode("ascii"),
        "version": ref.version,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def decode(plaintext: bytes, ref: GroupKeyRef, expected: PublicKey | None = None) -> Identity:
    """The group identity in a wrap's plaintext, checked against `ref` and the served public key."""
    try:
        doc = json.loads(plaintext)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise FormatError("the group key wrap is not JSON") from None
    if not isinstance(doc, dict) or set(doc) != _FIELDS or doc.get("format") != FORMAT:
        raise FormatError("the group key wrap is not a c11-group-key/v1 document")
    if json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii") != plaintext:
        raise FormatError("the group key wrap is not canonical JSON")
    if (doc["org"], doc["group"], doc["version"]) != (ref.org, ref.group, ref.version):
        raise FormatError(
            f"the wrap holds {doc['group']!r} version {doc['version']}, not {ref.group!r} version {ref.version}"
        )
    try:
        public = PublicKey.parse(doc["public"])
        seeds = base64.b64decode(doc["seeds"], validate=True)
    except (RecipientError, binascii.Error, ValueError, TypeError):
        raise FormatError("the group key wrap holds a malformed key") from None
    kem_type(public.kem)
    if len(seeds) != 2 * SEED_SIZE:
        raise FormatError("the group key wrap holds seeds of the wrong length")
    identity = Identity(label(ref.group), public.kem, seeds[:SEED_SIZE], seeds[SEED_SIZE:])
    if identity.public != public:
        raise FormatError("the group key wrap's seeds do not derive its public key")
    if expected is not None and expected.key_id != public.key_id:
        raise FormatError("the group key wrap holds another key than the group's (server answer inconsistent)")
    return identity


def wrap(identity: Identity, ref: GroupKeyRef, member: PublicKey, wrapper: Identity) -> str:
    """The wrap for `member`: base64 of a .c11 file to `member` only, signed by `wrapper`."""
    blob = files.encrypt_bytes(encode(identity, ref), [member], wrapper, include_sender=False, media_type=MEDIA_TYPE)
    return base64.b64encode(blob).decode("ascii")


def unwrap(
    wrapped: str,
    ref: GroupKeyRef,
    mine: list[Identity],
    expected: PublicKey | None = None,
    signers: frozenset[str] | None = None,
) -> Identity:
    """Open a wrap with the member's own identities; checks signature, media type, reference and key, and
    with `signers` (Ed25519 key IDs, hex) that one of those keys signed it (the authorized wrapper's)."""
    try:
        blob = base64.b64decode(wrapped, validate=True)
    except (binascii.Error, ValueError):
        raise FormatError("the group key wrap is not base64") from None
    result = files.decrypt_bytes(blob, mine)
    if signers is not None and (
        result.info.sender_fingerprint not in signers
        or getattr(result.info, "resharer_fingerprint", None) not in (None, *signers)
    ):
        raise FormatError("the group key wrap is not signed by the key of who the server says wrapped it")
    if result.info.media_type != MEDIA_TYPE:
        raise FormatError("this c11 file is not a group key wrap")
    return decode(result.plaintext or b"", ref, expected)


RECORD_TYPE = "c11-group-key-record/v1"
_RECORD_FIELDS = {"group", "name", "org", "public_key", "type", "version"}
#: Largest group key record read (bytes).
MAX_RECORD = 64 << 10


@dataclass(frozen=True)
class GroupKeyRecord:
    """What a `groupkey` log entry commits to (docs/organizations.md, "Group keys in the log"): key version
    `version` of the group with ID `group` and name `name` in organization `org` is `public_key`."""

    org: str
    group: str
    name: str
    version: int
    public_key: PublicKey

    def to_text(self) -> str:
        """Canonical JSON (sorted keys, no spaces, ASCII only)."""
        doc = {
            "group": self.group,
            "name": self.name,
            "org": self.org,
            "public_key": self.public_key.line(),
            "type": RECORD_TYPE,
            "version": self.version,
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)

    @classmethod
    def parse(cls, text: str) -> GroupKeyRecord:
        """A record from its canonical text, strictly; FormatError otherwise."""
        if not isinstance(text, str) or len(text) > MAX_RECORD:
            raise FormatError("a group key record is canonical JSON text of at most 64 KiB")
        try:
            d = json.loads(text)
        except (ValueError, RecursionError):
            raise FormatError("the group key record is not JSON") from None
        if not isinstance(d, dict) or set(d) != _RECORD_FIELDS or d.get("type") != RECORD_TYPE:
            raise FormatError(f"not a group key record ({RECORD_TYPE})")
        org, group, name, version, line = d["org"], d["group"], d["name"], d["version"], d["public_key"]
        if not all(isinstance(v, str) and 0 < len(v) <= 64 for v in (org, group)):
            raise FormatError("the group key record has a bad organization or group ID")
        if not isinstance(name, str) or not 0 < len(name) <= 200:
            raise FormatError("the group key record has a bad group name")
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 2**53 - 1:
            raise FormatError("the group key record has a bad key version")
        if not isinstance(line, str):
            raise FormatError("the group key record has a bad public key")
        try:
            record = cls(org, group, name, version, PublicKey.parse(line))
        except RecipientError as e:
            raise FormatError(f"the group key record has a bad public key: {e}") from None
        if record.to_text() != text:
            raise FormatError("the group key record is not canonical JSON")
        return record
