"""Threshold secret sharing (Shamir, k of n) of 32-byte secrets, with maintained libraries only. Two formats:

* version 1 (read only for new keys): pycryptodome's Shamir over GF(2^128); a 32-byte secret is shared as its
  two 16-byte halves, each with its own random polynomial, at the indices 1..n: share i = y_i(first half) ||
  y_i(second half) (32 bytes).
* version 2 (new keys): HashiCorp Vault's byte-wise scheme over GF(2^8) (polynomial x^8 + x^4 + x^3 + x + 1),
  with `horcrux` (module `shamir`, a Vault port with constant-time table arithmetic); the browser uses the npm
  package `shamir-secret-sharing`, which makes and reads the same shares. Share = 32 y bytes || 1 x byte (33
  bytes); the x coordinates are random, distinct and non-zero. The share's place in a list (1..n) is only the
  shard's index, not a field element.

Any k shares rebuild the secret; fewer reveal nothing about it, and combining fewer gives a wrong value, not an
error: callers authenticate the result (cloud keys open an AES-GCM seal with it). Byte details: docs/shards.md §2.1.
"""

from __future__ import annotations

import shamir
from Crypto.Protocol.SecretSharing import Shamir

from c11.errors import FormatError

V1 = 1
V2 = 2
VERSIONS = (V1, V2)
HALF = 16
SECRET_SIZE = 2 * HALF
SHARE_SIZE = 2 * HALF  # version 1
SHARE_SIZES = {V1: SHARE_SIZE, V2: SECRET_SIZE + 1}
MAX_SHARES = 255


def split(secret: bytes, threshold: int, count: int, *, version: int = V2) -> list[tuple[int, bytes]]:
    """`count` shares (index 1..count) of a 32-byte `secret` in share format `version`; any `threshold` rebuild it."""
    if len(secret) != SECRET_SIZE:
        raise ValueError(f"the secret must be {SECRET_SIZE} bytes")
    if not 2 <= threshold <= count <= MAX_SHARES:
        raise ValueError("need 2 <= threshold <= count <= 255")
    if version == V2:
        made = shamir.split(secret, count, threshold)
        out = [(i, bytes(s)) for i, s in enumerate(made, start=1)]
        for s in made:
            s[:] = bytes(len(s))
        return out
    if version != V1:
        raise ValueError(f"unknown share format version {version}")
    low = Shamir.split(threshold, count, secret[:HALF])
    high = Shamir.split(threshold, count, secret[HALF:])
    return [(i, a + b) for (i, a), (j, b) in zip(low, high, strict=True) if i == j]


def share_ok(share: bytes, version: int) -> bool:
    """Whether `share` has the size of format `version` (and, in version 2, a non-zero x byte)."""
    if version not in SHARE_SIZES or len(share) != SHARE_SIZES[version]:
        return False
    return version == V1 or share[-1] != 0


def combine(shares: list[tuple[int, bytes]], threshold: int, *, version: int = V1) -> bytes:
    """The secret from at least `threshold` distinct shares of format `version` (the first `threshold` are used).

    Wrong or mixed shares give a wrong secret, not an error: callers check the result (cloud keys open an
    AES-GCM seal with it)."""
    distinct: dict[int, bytes] = {}
    for index, share in shares:
        if not 1 <= index <= MAX_SHARES or not share_ok(share, version):
            raise FormatError("a shard's share is malformed")
        distinct.setdefault(index, share)
    if len(distinct) < threshold:
        raise FormatError(f"{len(distinct)} distinct shard(s) given; {threshold} are needed")
    chosen = sorted(distinct.items())[:threshold]
    if version == V2:
        if len({s[-1] for _, s in chosen}) != len(chosen):
            raise FormatError("two shards carry the same share coordinate")
        parts = [bytearray(s) for _, s in chosen]
        try:
            secret = shamir.combine(parts)
        except ValueError as e:
            raise FormatError(f"the shares do not combine: {e}") from None
        out = bytes(secret)
        secret[:] = bytes(len(secret))
        return out
    low = Shamir.combine([(i, s[:HALF]) for i, s in chosen])
    high = Shamir.combine([(i, s[HALF:]) for i, s in chosen])
    return low + high
