"""An identity: a person's private encryption key and Ed25519 signing key, with a label (email).

Private material is two 32-byte seeds; everything else derives from them (docs/format.md §3).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property

from cryptography.hazmat.primitives.asymmetric import ed25519

from c11.crypto.kem import HYBRID, SEED_SIZE, PrivateKey, kem_type
from c11.keys.publickey import PublicKey


@dataclass(frozen=True, repr=False)
class Identity:
    """Private keys of one person. `repr` never shows the seeds."""

    label: str
    kem: str
    enc_seed: bytes
    sig_seed: bytes
    created: int = 0

    @classmethod
    def generate(cls, label: str = "", kem: str = HYBRID, created: int = 0) -> Identity:
        kem_type(kem)
        return cls(label, kem, os.urandom(SEED_SIZE), os.urandom(SEED_SIZE), created)

    def __repr__(self) -> str:
        return f"Identity(label={self.label!r}, kem={self.kem!r}, fingerprint={self.fingerprint})"

    @cached_property
    def public(self) -> PublicKey:
        kt = kem_type(self.kem)
        sig = self.signing_key.public_key().public_bytes_raw()
        return PublicKey(self.kem, kt.public_bytes(self.enc_seed), sig)

    @property
    def fingerprint(self) -> str:
        return self.public.fingerprint

    @cached_property
    def kem_private(self) -> PrivateKey:
        return kem_type(self.kem).private_key(self.enc_seed)

    @cached_property
    def signing_key(self) -> ed25519.Ed25519PrivateKey:
        return ed25519.Ed25519PrivateKey.from_private_bytes(self.sig_seed)

    def sign(self, message: bytes) -> bytes:
        return self.signing_key.sign(message)

    @property
    def file_stem(self) -> str:
        """Default key file name without directory: c11_key_<first 16 hex of fingerprint>.key."""
        return f"c11_key_{self.fingerprint[:16]}.key"
