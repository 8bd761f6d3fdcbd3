"""Keys derived from a file key: one HKDF-SHA256 call per purpose, salted with the header nonce."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FILE_KEY_SIZE = 32
NONCE_SIZE = 16

HEADER = b"header"
PAYLOAD = b"payload"
METADATA = b"metadata"
BUNDLE_ENTRY = b"bundle entry"
COMMITMENT = b"commitment"


def derive(file_key: bytes, salt: bytes, label: bytes, context: bytes = b"") -> bytes:
    """HKDF-SHA256(ikm=file_key, salt=salt, info="c11/v1 " || label || context), 32 bytes."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"c11/v1 " + label + context).derive(file_key)
