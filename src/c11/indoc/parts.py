"""The envelope of an in-document protection: encrypted parts bound to their document and place.

Parts that share a recipient set share one signed c11 header (a "group"). Each part is sealed with
AES-256-GCM under a key derived from its group's file key; the associated data binds it to the
document ID, its location, its placeholder and the cleartext note, so a part moved, duplicated,
swapped, or a placeholder or note edited, is refused (docs/indoc.md §2). The group's author signs
the parts' ciphertexts (format version 2), so a co-recipient cannot replace them under the
author's name.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from c11 import files
from c11.crypto import keyschedule as ks
from c11.errors import BadSignatureError, C11Error, FormatError, IntegrityError, NoMatchingKeyError
from c11.format import content
from c11.format.envelope import Capability, Metadata, stanza_key_id
from c11.format.header import V1, Header, read_header
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey

FORMAT = "c11-parts/v2"  # groups have version 2 headers and the author's content signatures
FORMAT_V1 = "c11-parts/v1"
FORMAT_V3 = "c11-parts/v3"  # as v2, and some part holds an entry an older reader would drop (Word's OOXML)
PART_LABEL = b"part"
MEDIA_TYPE = "application/vnd.c11.parts"


@dataclass
class Part:
    """A piece of a document to protect, where it sits, and what stands in its place."""

    location: str
    plaintext: bytes
    placeholder: bytes = b""
    recipients: Sequence[PublicKey] | None = None  # None: the document's default recipients


@dataclass
class SealedPart:
    location: str
    group: int
    nonce: bytes
    ciphertext: bytes
    placeholder_sha256: bytes


@dataclass
class Envelope:
    """Everything a protected document carries: group headers, sealed parts and the note."""

    doc_id: bytes
    headers: list[Header]
    parts: list[SealedPart]
    note: str = ""
    header_bytes: list[bytes] = field(default_factory=list)
    ooxml: bool = False  # format version 3: parts may hold `ooxml` entries (docs/indoc.md §5.1)

    def to_json(self) -> bytes:
        v1 = any(h.version == V1 for h in self.headers)
        if v1 and self.ooxml:
            raise FormatError("OOXML parts need version 2 headers")
        return json.dumps(
            {
                "format": FORMAT_V1 if v1 else FORMAT_V3 if self.ooxml else FORMAT,
                "doc_id": str(uuid.UUID(bytes=self.doc_id)),
                "note": self.note,
                "groups": [_b64(h.encode()) for h in self.headers],
                **({} if v1 else {"content": [_b64(h.content_signature) for h in self.headers]}),
                "parts": [
                    {
                        "loc": p.location,
                        "group": p.group,
                        "nonce": _b64(p.nonce),
                        "ct": _b64(p.ciphertext),
                        "ph": p.placeholder_sha256.hex(),
                    }
                    for p in self.parts
                ],
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Envelope:
        try:
            d = json.loads(data)
            if d.get("format") not in (FORMAT, FORMAT_V1, FORMAT_V3):
                raise FormatError(f"unsupported protected-parts format {d.get('format')!r}")
            doc_id = uuid.UUID(d["doc_id"]).bytes
            raws = [base64.b64decode(g, validate=True) for g in d["groups"]]
            headers = [read_header(io.BytesIO(r))[0] for r in raws]
            want = V1 if d["format"] == FORMAT_V1 else 2
            if any(h.version != want for h in headers):
                raise FormatError("malformed protected-parts envelope (header version)")
            if want != V1:
                sigs = [base64.b64decode(c, validate=True) for c in d["content"]]
                if len(sigs) != len(headers) or any(len(c) != content.SIG_SIZE for c in sigs):
                    raise FormatError("malformed protected-parts envelope (content signatures)")
                for h, c in zip(headers, sigs, strict=True):
                    h.content_signature = c
            parts = [
                SealedPart(
                    str(p["loc"]),
                    int(p["group"]),
                    base64.b64decode(p["nonce"], validate=True),
                    base64.b64decode(p["ct"], validate=True),
                    bytes.fromhex(p["ph"]),
                )
                for p in d["parts"]
            ]
        except C11Error:
            raise
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            raise FormatError("malformed protected-parts envelope") from None
        env = cls(doc_id, headers, parts, str(d.get("note", "")), raws, d["format"] == FORMAT_V3)
        env._check()
        return env

    def _check(self) -> None:
        seen = set()
        for p in self.parts:
            if not 0 <= p.group < len(self.headers):
                raise FormatError("malformed protected-parts envelope (group index)")
            if len(p.nonce) != 12 or len(p.placeholder_sha256) != 32:
                raise FormatError("malformed protected-parts envelope (nonce or placeholder hash length)")
            if p.location in seen:
                raise IntegrityError(f"protected part {p.location!r} appears twice (duplicated part)")
            seen.add(p.location)
        for h in self.headers:
            if h.doc_id != self.doc_id:
                raise IntegrityError("a protected part's header belongs to another document")

    def recipients(self) -> list[dict[str, Any]]:
        """Per group: recipient fingerprints and the locations it protects (for `inspect`)."""
        out = []
        for i, h in enumerate(self.headers):
            info = files.file_info(h, len(h.encode()), "parts")
            signed = h.version != V1 and info.signature_valid and _content_valid(self, i)
            out.append(
                {
                    "group": i,
                    "sender": info.sender,
                    "sender_fingerprint": info.sender_fingerprint,
                    "signature_valid": info.signature_valid and (h.version == V1 or signed),
                    "content_signed": signed,
                    "author": info.author,
                    "resharer": info.resharer,
                    "resharer_fingerprint": info.resharer_fingerprint,
                    "recipients": info.recipients,
                    "locations": [p.location for p in self.parts if p.group == i],
                }
            )
        return out


def part_hashes(env: Envelope, group: int) -> bytes:
    """The hash list the author signs for a group: SHA-256(nonce || ciphertext) per part, in envelope order."""
    return b"".join(hashlib.sha256(p.nonce + p.ciphertext).digest() for p in env.parts if p.group == group)


def _check_content(env: Envelope, group: int) -> None:
    """Version 2: the author's signature over the group's parts (BadSignatureError if it fails)."""
    h = env.headers[group]
    hashes = part_hashes(env, group)
    if len(h.content_signature) != content.SIG_SIZE:
        raise BadSignatureError("a protected group has no content signature: do not trust this document")
    content.verify(h, len(hashes) // content.HASH_SIZE, hashlib.sha256(hashes).digest(), h.content_signature)


def _content_valid(env: Envelope, group: int) -> bool:
    try:
        _check_content(env, group)
        return True
    except C11Error:
        return False


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _aad(doc_id: bytes, location: str, placeholder_sha256: bytes, note: str) -> bytes:
    return b"".join(
        [
            b"c11/v1 part\x00",
            doc_id,
            location.encode("utf-8"),
            b"\x00",
            placeholder_sha256,
            hashlib.sha256(note.encode("utf-8")).digest(),
        ]
    )


def seal(
    parts: Iterable[Part],
    recipients: Sequence[PublicKey],
    sender: Identity,
    *,
    note: str = "",
    doc_id: bytes | None = None,
    include_sender: bool = True,
    ooxml: bool = False,
) -> Envelope:
    """Encrypt parts, grouping those with the same recipients under one signed header."""
    doc_id = doc_id or uuid.uuid4().bytes
    groups: dict[frozenset[bytes], int] = {}
    headers: list[Header] = []
    keys: list[bytes] = []
    sealed: list[SealedPart] = []
    parts = list(parts)
    counts: dict[frozenset[bytes], int] = {}
    for part in parts:
        rs = list(part.recipients if part.recipients is not None else recipients)
        if include_sender:
            rs.append(sender.public)
        k = frozenset(r.key_id for r in rs)
        counts[k] = counts.get(k, 0) + 1
    for part in parts:
        rs = list(part.recipients if part.recipients is not None else recipients)
        if include_sender:
            rs.append(sender.public)
        k = frozenset(r.key_id for r in rs)
        if k not in groups:
            meta = Metadata(type=MEDIA_TYPE, size=counts[k], kind="parts")
            h, fk = files.seal_header(rs, sender, metadata=meta, doc_id=doc_id)
            groups[k] = len(headers)
            headers.append(h)
            keys.append(fk)
        g = groups[k]
        ph = hashlib.sha256(part.placeholder).digest()
        nonce = os.urandom(12)
        key = ks.derive(keys[g], headers[g].nonce, PART_LABEL)
        ct = AESGCM(key).encrypt(nonce, part.plaintext, _aad(doc_id, part.location, ph, note))
        sealed.append(SealedPart(part.location, g, nonce, ct, ph))
    if len({p.location for p in sealed}) != len(sealed):
        raise FormatError("two parts share one location")
    env = Envelope(doc_id, headers, sealed, note, [h.encode() for h in headers], ooxml)
    for g, h in enumerate(headers):
        h.content_signature = content.sign(h, part_hashes(env, g), sender)
    return env


@dataclass
class Opened:
    """The result of opening an envelope: plaintexts by location, and what stayed closed."""

    plaintexts: dict[str, bytes]
    closed: list[str]
    senders: list[dict[str, Any]]


def open_parts(
    env: Envelope,
    identities: Sequence[Identity],
    placeholders: dict[str, bytes] | None = None,
) -> Opened:
    """Decrypt every part the caller may open. `placeholders`, when given, are the placeholders
    found in the document now, by location: each must be present and unedited."""
    file_keys: dict[int, bytes] = {}
    senders = []
    for i, h in enumerate(env.headers):
        try:
            file_keys[i], meta = files.open_header(h, identities)
        except NoMatchingKeyError:
            continue
        if meta.size is not None and meta.size != sum(1 for p in env.parts if p.group == i):
            raise IntegrityError("protected parts were added to or removed from the document")
        info = files.file_info(h, 0, "parts")
        senders.append(
            {
                "group": i,
                "sender": info.sender,
                "fingerprint": info.sender_fingerprint,
                "content_signed": h.version != V1,
                "author": info.author,
                "resharer": info.resharer,
                "resharer_fingerprint": info.resharer_fingerprint,
            }
        )
    if not file_keys:
        fps = sorted({r["fingerprint"] for g in env.recipients() for r in g["recipients"]})
        raise NoMatchingKeyError(f"none of your keys can open any protected part; they are for: {', '.join(fps)}", fps)
    out: dict[str, bytes] = {}
    closed: list[str] = []
    for p in env.parts:
        if placeholders is not None:
            current = placeholders.get(p.location)
            if current is None:
                raise IntegrityError(f"protected part {p.location!r} is missing from the document (moved or deleted)")
            if hashlib.sha256(current).digest() != p.placeholder_sha256:
                raise IntegrityError(f"the placeholder of protected part {p.location!r} was edited")
        if p.group not in file_keys:
            closed.append(p.location)
            continue
        key = ks.derive(file_keys[p.group], env.headers[p.group].nonce, PART_LABEL)
        try:
            out[p.location] = AESGCM(key).decrypt(
                p.nonce, p.ciphertext, _aad(env.doc_id, p.location, p.placeholder_sha256, env.note)
            )
        except InvalidTag:
            raise IntegrityError(
                f"protected part {p.location!r} does not authenticate: it was moved, swapped, or the note was edited"
            ) from None
    if placeholders is not None:
        extra = set(placeholders) - {p.location for p in env.parts}
        if extra:
            raise IntegrityError(f"the document has placeholders with no protected part: {sorted(extra)[:3]}")
    for i in file_keys:  # version 2: the parts must be the ones the group's author signed
        if env.headers[i].version != V1:
            _check_content(env, i)
    return Opened(out, closed, senders)


def remaining(env: Envelope, opened: Opened) -> Envelope | None:
    """The envelope left after the groups the caller opened were restored (None: nothing left).

    Opening is per group (all of a group's parts or none), so the groups kept are those with no
    opened part, renumbered in order; their header bytes are kept exactly as they were.
    """
    opened_groups = {p.group for p in env.parts if p.location in opened.plaintexts}
    keep = [i for i in range(len(env.headers)) if i not in opened_groups]
    if not keep:
        return None
    remap = {old: new for new, old in enumerate(keep)}
    parts = [
        SealedPart(p.location, remap[p.group], p.nonce, p.ciphertext, p.placeholder_sha256)
        for p in env.parts
        if p.group in remap
    ]
    headers = [env.headers[i] for i in keep]
    raws = [env.header_bytes[i] if i < len(env.header_bytes) else env.headers[i].encode() for i in keep]
    return Envelope(env.doc_id, headers, parts, env.note, raws, env.ooxml)


def reencrypt(
    env: Envelope,
    identity: Identity,
    *,
    add: Sequence[PublicKey] = (),
    remove: Iterable[str] = (),
    using: Sequence[Capability] = (),
) -> Envelope:
    """Add or remove recipients in every group the caller can open (parts unchanged); `using` is what opening
    may use besides `identity` (group keys: see `c11.format.envelope.Capability`)."""
    remove = list(remove)
    new_headers = []
    changed = False
    for h in env.headers:
        try:
            file_key, _ = files.open_header(h, [identity, *using])
        except NoMatchingKeyError:
            new_headers.append(h)
            continue
        ids = files.match_fingerprints(h, [f for f in remove if _in_header(h, f)])
        nh, _ = files.rewrap_header(h, file_key, identity, add, ids, False)
        new_headers.append(nh)
        changed = True
    if not changed:
        raise NoMatchingKeyError("you are not a recipient of any protected part of this document")
    return Envelope(env.doc_id, new_headers, env.parts, env.note, [h.encode() for h in new_headers], env.ooxml)


def _in_header(h: Header, fp: str) -> bool:
    clean = fp.replace(":", "").replace(" ", "").lower()
    return any(kid.hex().startswith(clean) for s in h.stanzas if (kid := stanza_key_id(s)))
