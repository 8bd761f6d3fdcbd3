"""The author's content signature of format version 2 (docs/format.md §5.1).

The author signs a statement over the header's lasting fields and the SHA-256 of every sealed payload
segment; the signature and the hash list travel in a trailer after the payload:

    trailer = h_0 || ... || h_(n-1) || n (u64) || Ed25519 signature (64)
"""

from __future__ import annotations

import hashlib
import struct
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from c11.errors import BadSignatureError, FormatError
from c11.format.header import Header

if TYPE_CHECKING:
    from c11.keys.identity import Identity

HASH_SIZE = 32
SIG_SIZE = 64
CONTEXT = b"c11/v2 content\x00"


def statement(header: Header, count: int, list_digest: bytes) -> bytes:
    """The bytes the author signs for `count` segments whose hash list hashes to `list_digest`."""
    if header.version < 2:
        raise FormatError("a version 1 header has no content statement")
    author = header.author_label.encode("utf-8")
    return b"".join(
        [
            CONTEXT,
            header.doc_id,
            struct.pack(">QI", header.created, header.segment_size),
            header.nonce,
            header.commitment,
            bytes([header.origin]),
            struct.pack(">H", len(author)),
            author,
            header.author_key,
            hashlib.sha256(header.metadata).digest(),
            struct.pack(">Q", count),
            list_digest,
        ]
    )


def sign(header: Header, hashes: bytes, signer: Identity) -> bytes:
    """The author's signature (`signer` is an Identity) over a complete hash list."""
    if signer.public.sig != header.author_key:
        raise FormatError("the content must be signed with the author signing key of the header")
    return signer.sign(statement(header, len(hashes) // HASH_SIZE, hashlib.sha256(hashes).digest()))


def trailer(header: Header, hashes: bytes, signer: Identity) -> bytes:
    """The whole trailer for a hash list, signed by the author."""
    return hashes + struct.pack(">Q", len(hashes) // HASH_SIZE) + sign(header, hashes, signer)


def verify(header: Header, count: int, list_digest: bytes, signature: bytes) -> None:
    """Check the author's signature; BadSignatureError names the claimed author if it fails."""
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(header.author_key).verify(
            signature, statement(header, count, list_digest)
        )
    except (InvalidSignature, ValueError):
        raise BadSignatureError(
            f"the author's signature over the content does not verify (claimed author {header.author_label!r}): "
            "the content is not what the author signed; do not trust this file"
        ) from None
