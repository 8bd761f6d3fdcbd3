"""Public keys: the one-line text form people paste, key IDs and fingerprints.

A line looks like `c11:mlkem768x25519:<base64url>`; the base64url payload is the encryption key,
optionally the Ed25519 signing key, and a 4-byte checksum (docs/format.md §3).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from c11.crypto.kem import KEM_TYPES, kem_type
from c11.errors import RecipientError

PREFIX = "c11:"
SIG_SIZE = 32
CHECKSUM_SIZE = 4


def key_id(kem: str, raw: bytes) -> bytes:
    """16-byte key ID of a public key: SHA-256("c11/v1 key id" 0x00 kem 0x00 raw)[:16]."""
    return hashlib.sha256(b"c11/v1 key id\x00" + kem.encode() + b"\x00" + raw).digest()[:16]


def _checksum(kem: str, body: bytes) -> bytes:
    return hashlib.sha256(b"c11/v1 public key\x00" + kem.encode() + b"\x00" + body).digest()[:CHECKSUM_SIZE]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    pad = "=" * (-len(text) % 4)
    try:
        data = base64.urlsafe_b64decode(text + pad)
    except (binascii.Error, ValueError) as e:
        raise RecipientError("invalid base64 in public key") from e
    if b64url(data) != text:
        raise RecipientError("non-canonical base64 in public key")
    return data


@dataclass(frozen=True)
class PublicKey:
    """A recipient's public encryption key, with their signing key when known."""

    kem: str
    enc: bytes
    sig: bytes | None = None

    @property
    def key_id(self) -> bytes:
        return key_id(self.kem, self.enc)

    @property
    def fingerprint(self) -> str:
        """32 lowercase hex digits naming the encryption key (what stanzas and `inspect` show)."""
        return self.key_id.hex()

    @property
    def sig_fingerprint(self) -> str | None:
        return key_id("ed25519", self.sig).hex() if self.sig else None

    def line(self) -> str:
        """The one-line text form."""
        body = self.enc + (self.sig or b"")
        return f"{PREFIX}{self.kem}:{b64url(body + _checksum(self.kem, body))}"

    def __str__(self) -> str:
        return self.line()

    @classmethod
    def parse(cls, text: str) -> PublicKey:
        """Parse a public key line; raises RecipientError naming what is wrong."""
        text = text.strip()
        if not text.startswith(PREFIX) or text.count(":") != 2:
            raise RecipientError(f"not a c11 public key (expected {PREFIX}<type>:<key>): {_short(text)}")
        _, kem, b64 = text.split(":")
        kt = kem_type(kem)
        data = unb64url(b64)
        body, check = data[:-CHECKSUM_SIZE], data[-CHECKSUM_SIZE:]
        if len(data) < CHECKSUM_SIZE or _checksum(kem, body) != check:
            raise RecipientError(f"public key checksum mismatch (copied incompletely?): {_short(text)}")
        if len(body) not in (kt.public_size, kt.public_size + SIG_SIZE):
            raise RecipientError(f"public key has the wrong length for {kem}: {_short(text)}")
        kt.validate(body[: kt.public_size])
        return cls(kem, body[: kt.public_size], body[kt.public_size :] or None)


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:24] + "…" + text[-8:]


def parse_recipients(text: str, source: str = "recipients file") -> list[PublicKey]:
    """Parse a recipients file: one public key line each; blank lines and `#` comments ignored."""
    keys = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            keys.append(PublicKey.parse(line))
        except RecipientError as e:
            raise RecipientError(f"{source}, line {n}: {e}") from None
    return keys


def known_kems() -> list[str]:
    return list(KEM_TYPES)
