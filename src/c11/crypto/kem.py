"""The two recipient key types: post-quantum hybrid ML-KEM-768+X25519 (X-Wing) and classic X25519.

Both keep a 32-byte private seed. File keys are wrapped with single-shot HPKE (RFC 9180, base mode,
HKDF-SHA256, AES-256-GCM); see docs/format.md §4 for the exact encodings.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache, lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from c11.errors import IntegrityError, RecipientError

#: an HPKE private key object of either KEM
PrivateKey = x25519.X25519PrivateKey | hpke.MLKEM768X25519PrivateKey
#: an HPKE public key object of either KEM
PublicKeyObject = x25519.X25519PublicKey | hpke.MLKEM768X25519PublicKey

HYBRID = "mlkem768x25519"
CLASSIC = "x25519"
SEED_SIZE = 32


@dataclass(frozen=True)
class KemType:
    """One recipient key type: its name, sizes and HPKE suite."""

    name: str
    public_size: int
    enc_size: int  # HPKE encapsulated key size

    @property
    def suite(self) -> hpke.Suite:
        return _suite(self.name)

    def private_key(self, seed: bytes) -> PrivateKey:
        """The HPKE private key object for a 32-byte seed."""
        if len(seed) != SEED_SIZE:
            raise RecipientError(f"a {self.name} private seed must be {SEED_SIZE} bytes")
        if self.name == CLASSIC:
            return x25519.X25519PrivateKey.from_private_bytes(seed)
        # X-Wing key expansion (draft-connolly-cfrg-xwing-kem): SHAKE256(seed, 96) gives the
        # ML-KEM-768 seed (d || z) and the X25519 private key.
        expanded = hashlib.shake_256(seed).digest(96)
        return hpke.MLKEM768X25519PrivateKey(
            mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64]),
            x25519.X25519PrivateKey.from_private_bytes(expanded[64:]),
        )

    def public_bytes(self, seed: bytes) -> bytes:
        """The encoded public key for a seed: X25519 32 bytes; hybrid ML-KEM ek (1184) || X25519 (32)."""
        if self.name == CLASSIC:
            return x25519.X25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
        expanded = hashlib.shake_256(seed).digest(96)
        m = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64])
        x = x25519.X25519PrivateKey.from_private_bytes(expanded[64:])
        return m.public_key().public_bytes_raw() + x.public_key().public_bytes_raw()

    def public_key(self, raw: bytes) -> PublicKeyObject:
        """The HPKE public key object for encoded public key bytes."""
        if len(raw) != self.public_size:
            raise RecipientError(f"a {self.name} public key must be {self.public_size} bytes")
        try:
            if self.name == CLASSIC:
                return x25519.X25519PublicKey.from_public_bytes(raw)
            return hpke.MLKEM768X25519PublicKey(
                mlkem.MLKEM768PublicKey.from_public_bytes(raw[:1184]),
                x25519.X25519PublicKey.from_public_bytes(raw[1184:]),
            )
        except ValueError as e:
            raise RecipientError(f"invalid {self.name} public key") from e

    def validate(self, raw: bytes) -> None:
        """Refuse a public key that cannot make a shared secret (docs/format.md §3): the X25519 part must not
        be a low-order point (all-zero included)."""
        point = raw if self.name == CLASSIC else raw[-32:]
        try:
            _PROBE.exchange(x25519.X25519PublicKey.from_public_bytes(point))
        except ValueError:
            raise RecipientError(f"invalid {self.name} public key (a low-order X25519 point)") from None
        self.public_key(raw)

    def seal(self, public_raw: bytes, plaintext: bytes, info: bytes) -> bytes:
        """HPKE single-shot seal: returns enc || ciphertext. A public key that makes no shared secret (an
        all-zero or low-order X25519 point) is a RecipientError."""
        try:
            return self.suite.encrypt(plaintext, _public_cached(self.name, public_raw), info=info)
        except ValueError:
            raise RecipientError(f"invalid {self.name} public key (it cannot make a shared secret)") from None

    def open(self, private_key: PrivateKey, sealed: bytes, info: bytes) -> bytes:
        """HPKE single-shot open; raises IntegrityError if the ciphertext does not verify."""
        try:
            return self.suite.decrypt(sealed, private_key, info=info)
        except (InvalidTag, ValueError) as e:
            raise IntegrityError("a recipient stanza does not decrypt: the header was modified") from e


_PROBE = x25519.X25519PrivateKey.from_private_bytes(bytes([9]) * 32)


@cache
def _suite(name: str) -> hpke.Suite:
    kem = hpke.KEM.X25519 if name == CLASSIC else hpke.KEM.MLKEM768_X25519
    return hpke.Suite(kem, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


@lru_cache(maxsize=4096)
def _public_cached(name: str, raw: bytes) -> PublicKeyObject:
    return KEM_TYPES[name].public_key(raw)


KEM_TYPES: dict[str, KemType] = {
    HYBRID: KemType(HYBRID, 1216, 1120),
    CLASSIC: KemType(CLASSIC, 32, 32),
}


def kem_type(name: str) -> KemType:
    """Look up a recipient key type by name, or raise RecipientError."""
    try:
        return KEM_TYPES[name]
    except KeyError:
        raise RecipientError(f"unknown key type {name!r} (known: {', '.join(KEM_TYPES)})") from None
