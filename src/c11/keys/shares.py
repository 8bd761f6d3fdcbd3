"""Threshold secret sharing (Shamir, k of n) of 32-byte secrets, with pycryptodome's maintained Shamir code.

pycryptodome shares 16-byte secrets over GF(2^128); a 32-byte secret is shared as its two 16-byte halves,
each with its own random polynomial, at the same indices 1..n: share i = y_i(first half) || y_i(second half).
Any k shares rebuild the secret; fewer reveal nothing about it. Byte-level details: docs/shards.md §2.
"""

from __future__ import annotations

from Crypto.Protocol.SecretSharing import Shamir

from c11.errors import FormatError

HALF = 16
SECRET_SIZE = 2 * HALF
SHARE_SIZE = 2 * HALF
MAX_SHARES = 255


def split(secret: bytes, threshold: int, count: int) -> list[tuple[int, bytes]]:
    """`count` shares (index 1..count, 32 bytes each) of a 32-byte `secret`; any `threshold` rebuild it."""
    if len(secret) != SECRET_SIZE:
        raise ValueError(f"the secret must be {SECRET_SIZE} bytes")
    if not 2 <= threshold <= count <= MAX_SHARES:
        raise ValueError("need 2 <= threshold <= count <= 255")
    low = Shamir.split(threshold, count, secret[:HALF])
    high = Shamir.split(threshold, count, secret[HALF:])
    return [(i, a + b) for (i, a), (j, b) in zip(low, high, strict=True) if i == j]


def combine(shares: list[tuple[int, bytes]], threshold: int) -> bytes:
    """The secret from at least `threshold` distinct shares (the first `threshold` are used).

    Wrong or mixed shares give a wrong secret, not an error: callers check the result (cloud keys open an
    AES-GCM seal with it)."""
    distinct: dict[int, bytes] = {}
    for index, share in shares:
        if not 1 <= index <= MAX_SHARES or len(share) != SHARE_SIZE:
            raise FormatError("a shard's share is malformed")
        distinct.setdefault(index, share)
    if len(distinct) < threshold:
        raise FormatError(f"{len(distinct)} distinct shard(s) given; {threshold} are needed")
    chosen = sorted(distinct.items())[:threshold]
    low = Shamir.combine([(i, s[:HALF]) for i, s in chosen])
    high = Shamir.combine([(i, s[HALF:]) for i, s in chosen])
    return low + high
