"""RFC 9162 section 2.1 hashing: domain-separated SHA-256 for leaves and interior nodes.

Shared by the verifiers in ``merkle`` and the proof generator in ``_tree``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

#: Size in bytes of every hash in the tree (SHA-256).
HASH_SIZE = 32
#: Root hash of the empty tree: SHA-256 of the empty string.
EMPTY_ROOT = hashlib.sha256(b"").digest()

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(entry: bytes) -> bytes:
    """Hash one log entry as a leaf: SHA-256(0x00 || entry)."""
    return hashlib.sha256(_LEAF_PREFIX + bytes(entry)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash two child hashes into their parent: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE_PREFIX + bytes(left) + bytes(right)).digest()


def fold_subtrees(hashes: Sequence[bytes]) -> bytes:
    """Combine perfect-subtree roots, ordered left to right and shrinking, into one root.

    This is how RFC 9162 MTH splits a tree: the last (smallest) subtree is hashed in first.
    """
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def root_from_leaf_hashes(hashes: Iterable[bytes]) -> bytes:
    """Root hash (RFC 9162 MTH) of the tree whose leaves have these leaf hashes.

    Runs in one pass with O(log n) memory, like an append-only log would.
    """
    stack: list[bytes] = []
    for n, h in enumerate(hashes):
        acc = bytes(h)
        while n & 1:
            acc = node_hash(stack.pop(), acc)
            n >>= 1
        stack.append(acc)
    return fold_subtrees(stack)


def root_from_leaves(entries: Iterable[bytes]) -> bytes:
    """Root hash (RFC 9162 MTH) of the tree of these entries (hashed with ``leaf_hash``)."""
    return root_from_leaf_hashes(leaf_hash(e) for e in entries)
