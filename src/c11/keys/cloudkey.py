"""Cloud-stored keys (docs/shards.md): an identity sealed under a random shard key K, and K split 2 of 3 into shards.

* `make_shards(identity, user_id)`: K (32 random bytes) seals the identity's seeds with AES-256-GCM under
  HKDF-SHA256(K, salt=split ID, info "c11/v2 cloud key"); the AAD binds the user ID, public key line, label
  and split. K is shared with `c11.keys.shares`; every shard carries one share and the same sealed seeds.
  New shards are version 2 (GF(2^8) shares, also made and read by the browser); version 1 shards (GF(2^128)
  shares, info "c11/v1 cloud key") still rebuild.
* `rebuild(shards, user_id)`: any two shards of one split give back the identity (in memory only).
* `armor` / `dearmor`: the text form of a recovery shard the user keeps offline.

Byte formats: docs/shards.md §2; known-answer vectors: tests/vectors/shares/.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from c11.crypto.kem import SEED_SIZE
from c11.errors import FormatError, IntegrityError, RecipientError
from c11.keys import shares
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey

MAGIC = b"c11-shard/v1\x00"
MAGICS = {shares.V1: MAGIC, shares.V2: b"c11-shard/v2\x00"}
KDF_INFOS = {shares.V1: b"c11/v1 cloud key", shares.V2: b"c11/v2 cloud key"}
KDF_INFO = KDF_INFOS[shares.V1]
AAD_PREFIX = KDF_INFO + b"\x00"
VERSION = shares.V2
THRESHOLD = 2
COUNT = 3
SPLIT_ID_SIZE = 16
NONCE_SIZE = 12
SEALED_SIZE = 2 * SEED_SIZE + 16
ARMOR_BEGIN = "-----BEGIN C11 RECOVERY SHARD-----"
ARMOR_END = "-----END C11 RECOVERY SHARD-----"
MAX_SHARD = 16_384


def _lp(data: bytes) -> bytes:
    if len(data) > 0xFFFF:
        raise ValueError("field too long")
    return struct.pack(">H", len(data)) + data


@dataclass(frozen=True, repr=False)
class Shard:
    """One shard of a cloud-stored key: a share of K and the sealed seeds (useless alone)."""

    index: int
    threshold: int
    count: int
    split_id: bytes
    share: bytes
    created: int
    label: str
    public_line: str
    user_id: str
    nonce: bytes
    sealed: bytes
    version: int = VERSION

    def __repr__(self) -> str:
        return f"Shard(v{self.version}, index={self.index}, of={self.threshold}/{self.count}, key={self.fingerprint})"

    @property
    def public(self) -> PublicKey:
        return PublicKey.parse(self.public_line)

    @property
    def fingerprint(self) -> str:
        return self.public.fingerprint

    def context(self) -> bytes:
        """What every shard of one split has in common (before the nonce and seal); the seal's AAD."""
        return (
            struct.pack(">BB", self.threshold, self.count)
            + self.split_id
            + struct.pack(">Q", self.created)
            + _lp(self.label.encode("utf-8"))
            + _lp(self.public_line.encode("ascii"))
            + _lp(self.user_id.encode("ascii"))
        )

    def encode(self) -> bytes:
        return (
            MAGICS[self.version]
            + struct.pack(">B", self.index)
            + self.share
            + self.context()
            + self.nonce
            + self.sealed
        )

    def b64(self) -> str:
        return base64.b64encode(self.encode()).decode("ascii")

    @classmethod
    def parse(cls, data: bytes) -> Shard:
        """Parse a shard's bytes; FormatError says what is wrong."""
        try:
            return cls._parse(data)
        except (struct.error, UnicodeDecodeError, IndexError):
            raise FormatError("not a c11 shard (truncated or malformed)") from None

    @classmethod
    def from_b64(cls, text: str) -> Shard:
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise FormatError("a shard is not base64") from None
        return cls.parse(raw)

    @classmethod
    def _parse(cls, data: bytes) -> Shard:
        version = next((v for v, m in MAGICS.items() if data.startswith(m)), None)
        if len(data) > MAX_SHARD or version is None:
            raise FormatError("not a c11 shard")
        pos = len(MAGICS[version])
        (index,) = struct.unpack_from(">B", data, pos)
        pos += 1
        share = data[pos : pos + shares.SHARE_SIZES[version]]
        pos += shares.SHARE_SIZES[version]
        threshold, count = struct.unpack_from(">BB", data, pos)
        pos += 2
        split_id = data[pos : pos + SPLIT_ID_SIZE]
        pos += SPLIT_ID_SIZE
        (created,) = struct.unpack_from(">Q", data, pos)
        pos += 8
        fields = []
        for _ in range(3):
            (n,) = struct.unpack_from(">H", data, pos)
            pos += 2
            if pos + n > len(data):
                raise FormatError("not a c11 shard (truncated)")
            fields.append(data[pos : pos + n])
            pos += n
        nonce = data[pos : pos + NONCE_SIZE]
        sealed = data[pos + NONCE_SIZE :]
        if (
            not shares.share_ok(share, version)
            or len(split_id) != SPLIT_ID_SIZE
            or len(nonce) != NONCE_SIZE
            or len(sealed) != SEALED_SIZE
        ):
            raise FormatError("not a c11 shard (bad field sizes)")
        if not (2 <= threshold <= count and 1 <= index <= count):
            raise FormatError("not a c11 shard (bad index or threshold)")
        shard = cls(
            index,
            threshold,
            count,
            split_id,
            share,
            created,
            fields[0].decode("utf-8"),
            fields[1].decode("ascii"),
            fields[2].decode("ascii"),
            nonce,
            sealed,
            version,
        )
        try:
            shard.public  # noqa: B018 - the line must parse
        except RecipientError as e:
            raise FormatError(f"a shard holds a malformed public key: {e}") from None
        return shard


def _aead_key(k: bytes, split_id: bytes, version: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=split_id, info=KDF_INFOS[version]).derive(k)


def make_shards(
    identity: Identity,
    user_id: str,
    threshold: int = THRESHOLD,
    count: int = COUNT,
    *,
    k: bytes | None = None,
    split_id: bytes | None = None,
    nonce: bytes | None = None,
    version: int = VERSION,
) -> list[Shard]:
    """Seal `identity` for `user_id` and split it into `count` shards (any `threshold` rebuild it), in shard
    format `version` (2; 1 only for test vectors).

    `k`, `split_id` and `nonce` are fresh random values unless given (test vectors)."""
    k = os.urandom(shares.SECRET_SIZE) if k is None else k
    split_id = os.urandom(SPLIT_ID_SIZE) if split_id is None else split_id
    nonce = os.urandom(NONCE_SIZE) if nonce is None else nonce
    template = Shard(
        0,
        threshold,
        count,
        split_id,
        b"",
        identity.created,
        identity.label,
        identity.public.line(),
        user_id,
        nonce,
        b"",
        version,
    )
    sealed = AESGCM(_aead_key(k, split_id, version)).encrypt(
        nonce, identity.enc_seed + identity.sig_seed, KDF_INFOS[version] + b"\x00" + template.context()
    )
    return [
        Shard(
            i,
            threshold,
            count,
            split_id,
            share,
            identity.created,
            identity.label,
            template.public_line,
            user_id,
            nonce,
            sealed,
            version,
        )
        for i, share in shares.split(k, threshold, count, version=version)
    ]


def rebuild(found: list[Shard], user_id: str | None = None) -> Identity:
    """The identity from `threshold` shards of one split (for `user_id` when given); IntegrityError if they
    do not open (wrong, mixed or tampered shards)."""
    if not found:
        raise FormatError("no shards")
    first = found[0]
    if any(
        s.version != first.version
        or s.context() != first.context()
        or s.nonce != first.nonce
        or s.sealed != first.sealed
        for s in found
    ):
        raise IntegrityError("the shards belong to different keys or splits")
    if user_id is not None and first.user_id != user_id:
        raise IntegrityError("the shards belong to another account")
    k = shares.combine([(s.index, s.share) for s in found], first.threshold, version=first.version)
    aad = KDF_INFOS[first.version] + b"\x00" + first.context()
    try:
        seeds = AESGCM(_aead_key(k, first.split_id, first.version)).decrypt(first.nonce, first.sealed, aad)
    except InvalidTag:
        raise IntegrityError("the shards do not rebuild the key (a shard is wrong or was modified)") from None
    public = first.public
    identity = Identity(first.label, public.kem, seeds[:SEED_SIZE], seeds[SEED_SIZE:], first.created)
    if identity.public != public:
        raise IntegrityError("the rebuilt key does not match the shards' public key")
    return identity


def armor(shard: Shard) -> str:
    """The recovery shard file's text: base64 between BEGIN/END lines, 64 characters a line."""
    text = shard.b64()
    return "\n".join([ARMOR_BEGIN, *(text[i : i + 64] for i in range(0, len(text), 64)), ARMOR_END]) + "\n"


def dearmor(text: str) -> Shard:
    """Parse a recovery shard file; FormatError if it is not one."""
    lines = [ln.strip() for ln in text.strip().splitlines()]
    if len(lines) < 3 or lines[0] != ARMOR_BEGIN or lines[-1] != ARMOR_END:
        raise FormatError("not a c11 recovery shard file")
    return Shard.from_b64("".join(lines[1:-1]))
