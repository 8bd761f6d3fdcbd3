"""Sealing and opening a header: wrap the file key for recipients, MAC it, sign it; and back.

This is where a header meets keys. Decryption takes what it may use as arguments (as age's identities):
identities, `IdentitySource`s asked for more of them, and the key server's `online.Release`. Every stanza
type it knows is listed here; nothing is registered by importing a module.
"""

from __future__ import annotations

import hmac
import json
import os
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from c11.crypto import keyschedule as ks
from c11.crypto.kem import KEM_TYPES, kem_type
from c11.errors import (
    BadSignatureError,
    FormatError,
    IntegrityError,
    NoMatchingKeyError,
    UnsupportedVersionError,
    UsageError,
)
from c11.format import content
from c11.format import online as _online
from c11.format import temporary as _temporary
from c11.format.header import ORIGIN_WRITTEN, V1, Header, Stanza
from c11.format.labels import check_label
from c11.format.stream import DEFAULT_SEGMENT
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey, key_id

KEY_ID_SIZE = 16
#: The stanza listing the recipients' public keys, sealed under the file key (docs/format.md §2.1).
RECIPIENT_KEYS = "recipient-keys"
#: Critical stanza types that turn the recipient key into the file key (docs/format.md §2.1, §2.6).
KEY_TRANSFORMS = frozenset({_online.ONLINE})
#: The critical flag of each known non-recipient, non-transform stanza type.
_FLAGS = {RECIPIENT_KEYS: False, _temporary.TEMPORARY: False}


def stanza_info(stanza_type: str, doc_id: bytes) -> bytes:
    """HPKE `info` for a recipient stanza: binds the wrapped key to its type and document."""
    return b"c11/v1 stanza\x00" + stanza_type.encode("ascii") + b"\x00" + doc_id


def wrap(recipient: PublicKey, file_key: bytes, doc_id: bytes) -> Stanza:
    """A recipient stanza: key ID (16 bytes) || HPKE enc || sealed file key."""
    kt = kem_type(recipient.kem)
    sealed = kt.seal(recipient.enc, file_key, stanza_info(recipient.kem, doc_id))
    return Stanza(recipient.kem, recipient.key_id + sealed)


def stanza_key_id(stanza: Stanza) -> bytes | None:
    """The key ID of a recipient stanza, or None for other stanza types."""
    if stanza.type in KEM_TYPES and len(stanza.body) >= KEY_ID_SIZE:
        return stanza.body[:KEY_ID_SIZE]
    return None


def header_mac(file_key: bytes, header: Header) -> bytes:
    h = crypto_hmac.HMAC(ks.derive(file_key, header.nonce, ks.HEADER), hashes.SHA256())
    h.update(header.core())
    return h.finalize()


class IdentitySource(ABC):
    """More identities on demand (e.g. the group keys wrapped for the caller), passed to `unwrap` next to the
    identities: asked only when none of those is a recipient."""

    @abstractmethod
    def identities_for(self, header: Header, wanted: list[bytes]) -> list[Identity]:
        """The identities this source can give among `wanted` (the header's recipient key IDs)."""


class StanzaOpener(ABC):
    """A recipient key held elsewhere (an organization's enterprise key server, docs/enterprise.md): it opens its
    own stanza of a header and returns the file key, which `unwrap` checks against the header's MAC."""

    key_id: bytes
    kem: str

    @abstractmethod
    def open_header(self, header: Header) -> bytes:
        """The file key of `header` (whose stanza for `key_id` this opener can open), or a C11Error."""


#: What decryption may use, always passed as an argument: identities (key files, cloud-stored, archived,
#: group, recovery and temporary keys), sources of more identities, a key server's release, and openers of
#: stanzas whose key stays on an enterprise key server.
Capability = Identity | IdentitySource | _online.Release | StanzaOpener


def known_stanza_type(name: str) -> bool:
    return name in KEM_TYPES or name in KEY_TRANSFORMS or name in _FLAGS


def has_key_transform(name: str) -> bool:
    """Whether `name` is a key-transform stanza type (recipients then hold another key than the file key)."""
    return name in KEY_TRANSFORMS


@dataclass
class Metadata:
    """What the header keeps encrypted about the original: name, media type, size, mtime."""

    name: str | None = None
    type: str | None = None
    size: int | None = None
    mtime: int | None = None
    kind: str = "file"  # "file", "bundle" or "message"

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Metadata:
        """Parse the metadata JSON (docs/format.md §2.2): a UTF-8 object with members of the right types."""
        try:
            d = json.loads(data.decode("utf-8"))
        except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError: UTF-16 is refused
            raise FormatError("malformed metadata (not a UTF-8 JSON object)") from e
        if not isinstance(d, dict):
            raise FormatError("malformed metadata (not a JSON object)")
        meta = cls(**{k: d.get(k) for k in ("name", "type", "size", "mtime")}, kind=d.get("kind", "file"))
        for k in ("name", "type"):
            if getattr(meta, k) is not None and not isinstance(getattr(meta, k), str):
                raise FormatError(f"malformed metadata ({k} is not a string or null)")
        for k in ("size", "mtime"):
            v = getattr(meta, k)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 1 << 63):
                raise FormatError(f"malformed metadata ({k} is not an integer from 0 to 2^63-1 or null)")
        if meta.kind not in KINDS:
            raise FormatError(f"malformed metadata (unknown kind {str(meta.kind)[:20]!r})")
        return meta


KINDS = ("file", "message", "bundle", "parts")
_META_NONCE = bytes(12)


def seal(
    *,
    recipients: Iterable[PublicKey],
    sender: Identity,
    metadata: Metadata | None = None,
    segment_size: int = DEFAULT_SEGMENT,
    file_key: bytes | None = None,
    nonce: bytes | None = None,
    doc_id: bytes | None = None,
    created: int | None = None,
    metadata_ct: bytes | None = None,
    extra_stanzas: Iterable[Stanza] = (),
    recipient_key: bytes | None = None,
    origin: int = ORIGIN_WRITTEN,
) -> tuple[Header, bytes]:
    """Build and sign a version 2 header; return it and the file key. Duplicated recipients are merged.

    `sender` is author and header signer; the content signature goes into the trailer
    (`content.trailer`). Recipient stanzas wrap `recipient_key` (default: the file key itself); a
    critical extension stanza in `extra_stanzas` then says how readers turn it into the file key (§2.1).
    """
    file_key = file_key or os.urandom(ks.FILE_KEY_SIZE)
    nonce = nonce or os.urandom(ks.NONCE_SIZE)
    doc_id = doc_id or uuid.uuid4().bytes
    unique: dict[bytes, PublicKey] = {}
    for r in recipients:
        unique.setdefault(r.key_id, r)
    wrapped = recipient_key if recipient_key is not None else file_key
    stanzas = [wrap(r, wrapped, doc_id) for r in unique.values()] + list(extra_stanzas)
    if not stanzas:
        raise FormatError("no recipients")
    if metadata_ct is None:
        meta_key = ks.derive(file_key, nonce, ks.METADATA)
        metadata_ct = AESGCM(meta_key).encrypt(_META_NONCE, (metadata or Metadata()).to_json(), doc_id)
    header = Header(
        doc_id=doc_id,
        created=int(time.time()) if created is None else created,
        segment_size=segment_size,
        nonce=nonce,
        sender_label=_label(sender.label),
        sender_key=sender.public.sig or b"",
        metadata=metadata_ct,
        stanzas=stanzas,
        commitment=commitment(file_key, nonce),
        origin=origin,
        author_label=sender.label,
        author_key=sender.public.sig or b"",
    )
    header.mac = header_mac(file_key, header)
    header.signature = sender.sign(header.signed_message())
    return header, file_key


def _label(label: str) -> str:
    try:
        return check_label(label)
    except ValueError as e:
        raise FormatError(f"the identity label {label[:40]!r} {e}: choose a plain label (an email address)") from None


def commitment(file_key: bytes, nonce: bytes) -> bytes:
    """The key commitment of a version 2 header (docs/format.md §2.3)."""
    return ks.derive(file_key, nonce, ks.COMMITMENT)


def reshare(header: Header, file_key: bytes, signer: Identity, stanzas: list[Stanza]) -> Header:
    """A new header with other recipient stanzas, signed by `signer`; author fields and content kept.

    Version 2 keeps the author's content signature valid; version 1 stays version 1 (§9).
    """
    new = Header(
        header.doc_id,
        header.created,
        header.segment_size,
        header.nonce,
        _label(signer.label),
        signer.public.sig or b"",
        header.metadata,
        stanzas,
        version=header.version,
        commitment=header.commitment,
        origin=header.origin,
        author_label=header.author_label,
        author_key=header.author_key,
        content_signature=header.content_signature,
    )
    new.mac = header_mac(file_key, new)
    new.signature = signer.sign(new.signed_message())
    return new


def content_check(header: Header) -> Callable[[int, bytes, bytes], None]:
    """The trailer check of a version 2 header: the author's signature over the segment hashes."""
    return lambda count, digest, signature: content.verify(header, count, digest, signature)


def _expected_flag(name: str) -> bool | None:
    if name in KEM_TYPES:
        return False
    if name in KEY_TRANSFORMS:
        return True
    return _FLAGS.get(name)


def check_critical(header: Header) -> None:
    """Refuse unknown critical stanzas (UnsupportedVersionError) and known ones with the wrong flag (FormatError)."""
    for s in header.stanzas:
        expected = _expected_flag(s.type)
        if expected is not None and s.critical != expected:
            raise FormatError(f"malformed header: a {s.type!r} stanza must {'' if expected else 'not '}be critical")
        if s.critical and not known_stanza_type(s.type):
            raise UnsupportedVersionError(
                f"the file needs a feature this c11 does not know (critical stanza {s.type!r}); upgrade c11"
            )


def recipient_fingerprints(header: Header) -> list[str]:
    return [kid.hex() for s in header.stanzas if (kid := stanza_key_id(s)) is not None]


def unwrap(header: Header, identities: Sequence[Capability]) -> bytes:
    """Find the caller's stanza, unwrap the file key and check the header MAC with it. `identities` holds
    what the caller may use (`Capability`): sources are asked only when no identity is a recipient."""
    check_critical(header)
    keys = [c for c in identities if isinstance(c, Identity)]
    sources = [c for c in identities if isinstance(c, IdentitySource)]
    releases = [c for c in identities if isinstance(c, _online.Release)]
    openers = [c for c in identities if isinstance(c, StanzaOpener)]
    if len(keys) + len(sources) + len(releases) + len(openers) != len(identities):
        odd = next(c for c in identities if not isinstance(c, (Identity, IdentitySource, _online.Release)))
        raise UsageError(f"cannot decrypt with a {type(odd).__name__}: pass identities, identity sources or a release")
    opened = _open_stanza(header, keys)
    if opened is None and openers:
        for op in openers:
            if any(stanza_key_id(s) == op.key_id and s.type == op.kem for s in header.stanzas):
                return _checked(header, op.open_header(header))
    if opened is None and sources:
        wanted = [kid for s in header.stanzas if (kid := stanza_key_id(s)) is not None]
        held = {i.public.key_id for i in keys}
        more = [i for src in sources for i in src.identities_for(header, wanted) if i.public.key_id not in held]
        opened = _open_stanza(header, more)
    if opened is None:
        fps = recipient_fingerprints(header)
        mine = ", ".join(i.fingerprint for i in keys) or "none"
        raise NoMatchingKeyError(
            f"none of your keys ({mine}) is a recipient; the file is for: {', '.join(fps) or 'no key'}",
            fps,
        )
    identity, key = opened
    for s in header.stanzas:
        if s.critical and s.type == _online.ONLINE:
            key = _online.file_key(s, header, key, identity, releases)
    return _checked(header, key)


def _open_stanza(header: Header, identities: list[Identity]) -> tuple[Identity, bytes] | None:
    """The first recipient stanza (in header order) one of `identities` opens: that identity and the key."""
    by_id = {i.public.key_id: i for i in identities}
    for s in header.stanzas:
        kid = stanza_key_id(s)
        ident = by_id.get(kid) if kid else None
        if ident is None or ident.kem != s.type:
            continue
        kt = kem_type(s.type)
        return ident, kt.open(ident.kem_private, s.body[KEY_ID_SIZE:], stanza_info(s.type, header.doc_id))
    return None


def unwrap_recipient_key(header: Header, identities: list[Identity]) -> bytes:
    """The key the caller's recipient stanza carries, before any key transform (no MAC check)."""
    by_id = {i.public.key_id: i for i in identities}
    for s in header.stanzas:
        kid = stanza_key_id(s)
        ident = by_id.get(kid) if kid else None
        if ident is not None and ident.kem == s.type:
            return kem_type(s.type).open(ident.kem_private, s.body[KEY_ID_SIZE:], stanza_info(s.type, header.doc_id))
    raise NoMatchingKeyError("none of your keys is a recipient", recipient_fingerprints(header))


def _checked(header: Header, file_key: bytes) -> bytes:
    if len(file_key) != ks.FILE_KEY_SIZE or not hmac.compare_digest(header_mac(file_key, header), header.mac):
        raise IntegrityError("the header does not authenticate: the file was modified")
    if header.version != V1 and not hmac.compare_digest(commitment(file_key, header.nonce), header.commitment):
        raise IntegrityError("the header's key commitment does not match its file key: the file was modified")
    return file_key


def verify_signature(header: Header) -> None:
    """Check the header signer's Ed25519 signature over the header; raise BadSignatureError if it fails."""
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(header.sender_key).verify(header.signature, header.signed_message())
    except (InvalidSignature, ValueError):
        who = "header signer" if header.version != V1 else "sender"
        raise BadSignatureError(
            f"the {who}'s signature does not verify (claimed {who} {header.sender_label!r}): do not trust this file"
        ) from None


def signature_valid(header: Header) -> bool:
    try:
        verify_signature(header)
        return True
    except BadSignatureError:
        return False


def sender_fingerprint(header: Header) -> str:
    return key_id("ed25519", header.sender_key).hex()


def read_metadata(header: Header, file_key: bytes) -> Metadata:
    meta_key = ks.derive(file_key, header.nonce, ks.METADATA)
    try:
        return Metadata.from_json(AESGCM(meta_key).decrypt(_META_NONCE, header.metadata, header.doc_id))
    except InvalidTag:
        raise IntegrityError("the encrypted metadata does not authenticate") from None


def payload_key(header: Header, file_key: bytes) -> bytes:
    return ks.derive(file_key, header.nonce, ks.PAYLOAD)
