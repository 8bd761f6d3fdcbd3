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
