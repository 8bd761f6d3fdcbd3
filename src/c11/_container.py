"""The container of a c11 file: sealing and opening its header, writing and reading its payload, and what
a header tells (`FileInfo`). Shared by `c11.files`, `c11.rewrap` and `c11.indoc`; the public names are in `c11.files`."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

from c11.crypto import keyschedule as ks
from c11.errors import FormatError, NotC11FileError, UsageError
from c11.format import armor as _armor
from c11.format import content, envelope, stream
from c11.format import online as _online
from c11.format import temporary as _temporary
from c11.format.envelope import RECIPIENT_KEYS, Capability, Metadata
from c11.format.header import MAGIC, ORIGIN_ROTATED, V1, Header, Stanza
from c11.format.stream import Progress
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey, key_id


@dataclass
class FileInfo:
    """What a header tells: readable by anyone (no key), plus metadata once a key opened it.

    `sender` is who vouches for what you read: the author in format version 2 (content signed),
    the header signer in version 1 (content not signed). `resharer` is set when someone other than
    the author changed the recipients; `rotated` when the author re-encrypted an earlier version.
    Signing keys are hex of the raw 32-byte Ed25519 keys; fingerprints as in docs/format.md §3.
    """

    kind: str
    version: int
    doc_id: str
    created: int
    sender: str
    sender_fingerprint: str
    signature_valid: bool
    segment_size: int
    header_size: int
    recipients: list[dict] = field(default_factory=list)
    extensions: list[dict] = field(default_factory=list)
    name: str | None = None
    media_type: str | None = None
    size: int | None = None
    total_size: int | None = None
    entries: int | None = None  # bundles: number of encrypted files
    sender_key: str = ""
    content_signed: bool = False  # version 2 and the author's content signature verified
    author: str | None = None
    author_key: str | None = None
    author_fingerprint: str | None = None
    resharer: str | None = None
    resharer_key: str | None = None
    resharer_fingerprint: str | None = None
    rotated: bool = False
    #: Who the signer verifiably is (`sender` is only a self-asserted label): set by
    #: `c11.client.sender.SenderVerifier.annotate` (SenderCheck.to_dict()); None when not checked.
    verified_sender: dict | None = None
    #: The same for `resharer` (who changed the recipients), when there is one.
    verified_resharer: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Result:
    """The outcome of decrypting: the verified header info and where the plaintext went."""

    info: FileInfo
    output: Path | None = None
    plaintext: bytes | None = None


def file_info(header: Header, raw_len: int, kind: str) -> FileInfo:
    """What the header tells anyone, as a FileInfo (signature checked, no key needed)."""
    recipients, extensions = [], []
    temporary = _temporary.key_ids(header)
    for s in header.stanzas:
        kid = envelope.stanza_key_id(s)
        if kid is not None:
            recipients.append(
                {
                    "fingerprint": kid.hex(),
                    "type": s.type,
                    **({"temporary": True, "zero_trust": False} if kid in temporary else {}),
                }
            )
        elif s.type == _temporary.TEMPORARY:
            continue
        elif s.type == _online.ONLINE:
            extensions.append({"type": s.type, "critical": s.critical, **_online.describe(s)})
        elif s.type != RECIPIENT_KEYS:
            extensions.append({"type": s.type, "critical": s.critical})
    v2 = header.version != V1
    info = FileInfo(
        kind=kind,
        version=header.version,
        doc_id=str(uuid.UUID(bytes=header.doc_id)),
        created=header.created,
        sender=header.author_label if v2 else header.sender_label,
        sender_fingerprint=key_id("ed25519", header.author_key if v2 else header.sender_key).hex(),
        signature_valid=envelope.signature_valid(header),
        segment_size=header.segment_size,
        header_size=raw_len,
        recipients=recipients,
        extensions=extensions,
        sender_key=(header.author_key if v2 else header.sender_key).hex(),
    )
    if v2:
        info.author, info.author_key = header.author_label, header.author_key.hex()
        info.author_fingerprint, info.rotated = info.sender_fingerprint, header.origin == ORIGIN_ROTATED
        if header.reshared:
            info.resharer, info.resharer_key = header.sender_label, header.sender_key.hex()
            info.resharer_fingerprint = envelope.sender_fingerprint(header)
    return info


def _content_verified(info: FileInfo) -> FileInfo:
    info.content_signed = info.version != V1 and info.signature_valid
    return info


def _with_meta(info: FileInfo, meta: Metadata) -> FileInfo:
    info.name, info.media_type, info.size = meta.name, meta.type, meta.size
    return info


def _keys_stanza(recipients: Sequence[PublicKey], header_nonce: bytes, file_key: bytes, doc_id: bytes) -> Stanza:
    """Optional stanza listing the recipients' public keys, sealed under the file key (so the key can be rotated)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    key = ks.derive(file_key, header_nonce, b"recipient keys")
    lines = "\n".join(sorted({r.line() for r in recipients})).encode()
    return Stanza(RECIPIENT_KEYS, nonce + AESGCM(key).encrypt(nonce, lines, doc_id))


def _read_keys_stanza(header: Header, file_key: bytes) -> list[PublicKey]:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    for s in header.stanzas:
        if s.type == RECIPIENT_KEYS and len(s.body) > 12:
            key = ks.derive(file_key, header.nonce, b"recipient keys")
            try:
                text = AESGCM(key).decrypt(s.body[:12], s.body[12:], header.doc_id).decode()
            except (InvalidTag, UnicodeDecodeError):
                raise FormatError("the recipient key list does not authenticate") from None
            return [PublicKey.parse(line) for line in text.splitlines() if line]
    return []


def seal_header(recipients: list[PublicKey], sender: Identity, **kw) -> tuple[Header, bytes]:
    """Seal a header that also records its recipients' public keys (so the key can be rotated)."""
    file_key = kw.pop("file_key", None) or os.urandom(ks.FILE_KEY_SIZE)
    nonce = kw.pop("nonce", None) or os.urandom(ks.NONCE_SIZE)
    doc_id = kw.pop("doc_id", None) or uuid.uuid4().bytes
    extra = list(kw.pop("extra_stanzas", ()))
    extra.append(_keys_stanza(recipients, nonce, file_key, doc_id))
    return envelope.seal(
        recipients=recipients,
        sender=sender,
        file_key=file_key,
        nonce=nonce,
        doc_id=doc_id,
        extra_stanzas=extra,
        **kw,
    )


def write_payload(
    header: Header, file_key: bytes, author: Identity, src: BinaryIO, dst: BinaryIO, progress: Progress = None
) -> int:
    """Write the STREAM payload of `src` and the trailer with `author`'s content signature (§5, §5.1)."""
    hashes = bytearray()
    n = stream.encrypt(envelope.payload_key(header, file_key), src, dst, header.segment_size, progress, hashes)
    dst.write(content.trailer(header, bytes(hashes), author))
    return n


def read_payload(header: Header, file_key: bytes, src: BinaryIO, dst: BinaryIO, progress: Progress = None) -> int:
    """Decrypt the payload into `dst`: version 2 checks the author's content signature (§2.5), version 1
    only the STREAM authentication."""
    key = envelope.payload_key(header, file_key)
    if header.version == V1:
        return stream.decrypt(key, src, dst, header.segment_size, progress)
    return stream.decrypt_signed(key, src, dst, header.segment_size, envelope.content_check(header), progress)


def payload_reader(header: Header, file_key: bytes, src: BinaryIO) -> BinaryIO:
    """A file object of the verified plaintext of a payload (to re-encrypt it without plaintext on disk)."""
    key = envelope.payload_key(header, file_key)
    if header.version == V1:
        return stream.DecryptingReader(key, src, header.segment_size)
    return stream.signed_reader(key, src, header.segment_size, envelope.content_check(header))


def open_header(header: Header, identities: Sequence[Capability]) -> tuple[bytes, Metadata]:
    """Unwrap the file key, check MAC and signature, and read the metadata."""
    file_key = envelope.unwrap(header, list(identities))
    envelope.verify_signature(header)
    return file_key, envelope.read_metadata(header, file_key)


def sniff(path: Path) -> str:
    """'file', 'armor' or 'bundle' from the first bytes; NotC11FileError otherwise."""
    try:
        with open(path, "rb") as f:
            head = f.read(32)
    except IsADirectoryError:
        raise UsageError(f"{path} is a folder, not a protected file") from None
    if head.startswith(MAGIC[:4]):
        return "file"
    if head.startswith(b"PK\x03\x04"):
        return "bundle"
    if _armor.is_armored(head):
        return "armor"
    if not head:
        raise NotC11FileError(f"{path}: empty file, not a c11 file")
    raise NotC11FileError(f"{path}: not a c11 file")
