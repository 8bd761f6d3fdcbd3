"""RFC 9162 Merkle tree hashing and proof verification for the c11 transparency log.

Verifiers raise ``c11.errors.ProofError`` on any failure, bad input included; proof generation lives in ``MerkleTree``.
"""

from __future__ import annotations

from collections.abc import Sequence

from c11.errors import ProofError
from c11.log._hashing import (
    EMPTY_ROOT,
    HASH_SIZE,
    fold_subtrees,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    root_from_leaves,
)
from c11.log._tree import HashStore, MemoryHashStore, MerkleTree, NodeID

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_TREE_SIZE",
    "HashStore",
    "MemoryHashStore",
    "MerkleTree",
    "NodeID",
    "fold_subtrees",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion_proof",
    "root_from_leaf_hashes",
    "root_from_leaves",
    "verify_consistency",
    "verify_inclusion",
]

#: Largest tree size or index accepted (RFC 9162 sizes are uint64).
MAX_TREE_SIZE = 2**64 - 1


def verify_inclusion(leaf_hash: bytes, index: int, tree_size: int, proof: list[bytes], root: bytes) -> None:
    """Check that ``leaf_hash`` is leaf number ``index`` of the tree of ``tree_size`` leaves with ``root``.

    RFC 9162 section 2.1.3.2; raises ProofError if it is not, or if any argument is malformed.
    """
    calculated = root_from_inclusion_proof(leaf_hash, index, tree_size, proof)
    if _as_bytes(root, "root") != calculated:
        raise ProofError("inclusion proof does not lead to the expected root hash")


def root_from_inclusion_proof(leaf_hash: bytes, index: int, tree_size: int, proof: list[bytes]) -> bytes:
    """Root hash that an inclusion proof leads to, after checking its shape.

    Raises ProofError for an index out of range, a proof of the wrong length, or malformed hashes.
    """
    index = _as_size(index, "index")
    tree_size = _as_size(tree_size, "tree size")
    if index >= tree_size:
        raise ProofError(f"leaf index {index} is out of range for a tree of size {tree_size}")
    seed = _as_hash(leaf_hash, "leaf hash")
    hashes = _as_proof(proof)
    inner, border = _decompose(index, tree_size)
    if len(hashes) != inner + border:
        raise ProofError(f"inclusion proof has {len(hashes)} hashes, expected {inner + border}")
    acc = _chain_inner(seed, hashes[:inner], index)
    return _chain_border_right(acc, hashes[inner:])


def verify_consistency(size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes) -> None:
    """Check that the tree of ``size2`` leaves with ``root2`` extends the tree of ``size1`` with ``root1``.

    RFC 9162 section 2.1.4.2, plus the trivial cases (equal sizes, empty first tree); raises ProofError.
    """
    size1 = _as_size(size1, "size1")
    size2 = _as_size(size2, "size2")
    hashes = _as_proof(proof)
    r1 = _as_bytes(root1, "root1")
    r2 = _as_bytes(root2, "root2")
    if size1 > size2:
        raise ProofError(f"size1 ({size1}) is larger than size2 ({size2})")
    if size1 == size2:
        _verify_same_size(size1, hashes, r1, r2)
        return
    if size1 == 0:
        _verify_from_empty(hashes, r1, r2)
        return
    _check_root_length(r1, "root1")
    _check_root_length(r2, "root2")
    if not hashes:
        raise ProofError("consistency proof is empty")
    inner, border = _decompose(size1 - 1, size2)
    shift = _trailing_zeros(size1)
    inner -= shift
    if size1 == 1 << shift:
        seed, rest = r1, hashes
    else:
        seed, rest = hashes[0], hashes[1:]
    if len(rest) != inner + border:
        want = inner + border + len(hashes) - len(rest)
        raise ProofError(f"consistency proof has {len(hashes)} hashes, expected {want}")
    mask = (size1 - 1) >> shift
    hash1 = _chain_border_right(_chain_inner_right(seed, rest[:inner], mask), rest[inner:])
    if hash1 != r1:
        raise ProofError("consistency proof does not lead to the first root hash")
    hash2 = _chain_border_right(_chain_inner(seed, rest[:inner], mask), rest[inner:])
    if hash2 != r2:
        raise ProofError("consistency proof does not lead to the second root hash")


def _verify_same_size(size: int, proof: list[bytes], root1: bytes, root2: bytes) -> None:
    """Equal sizes: the proof must be empty and the roots equal (the empty tree's root if size is 0)."""
    if proof:
        raise ProofError("consistency proof between equal sizes must be empty")
    if size == 0 and (root1 != EMPTY_ROOT or root2 != EMPTY_ROOT):
        raise ProofError("root hash of the empty tree is not SHA-256 of the empty string")
    if root1 != root2:
        raise ProofError("trees of equal size have different root hashes")


def _verify_from_empty(proof: list[bytes], root1: bytes, root2: bytes) -> None:
    """Every tree extends the empty tree: the proof must be empty and root1 the empty root."""
    if proof:
        raise ProofError("consistency proof from the empty tree must be empty")
    if root1 != EMPTY_ROOT:
        raise ProofError("root hash of the empty tree is not SHA-256 of the empty string")
    _check_root_length(root2, "root2")


def _decompose(index: int, size: int) -> tuple[int, int]:
    """Split an inclusion proof length into (inner, border) parts, as in transparency-dev/merkle."""
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner, border


def _trailing_zeros(n: int) -> int:
    """Number of trailing zero bits of a positive integer."""
    return (n & -n).bit_length() - 1


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    """Hash up the path below the right border; bit i of index says which side proof[i] is on."""
    for i, h in enumerate(proof):
        seed = node_hash(seed, h) if (index >> i) & 1 == 0 else node_hash(h, seed)
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    """Like ``_chain_inner`` but only with left siblings: the root of the older, smaller tree."""
    for i, h in enumerate(proof):
        if (index >> i) & 1:
            seed = node_hash(h, seed)
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    """Hash up along the right border, where every proof hash is a left sibling."""
    for h in proof:
        seed = node_hash(h, seed)
    return seed


def _as_size(value: object, what: str) -> int:
    """Validate a tree size or index: a plain non-negative int that fits in 64 bits."""
    if type(value) is not int:
        raise ProofError(f"{what} must be an integer")
    if not 0 <= value <= MAX_TREE_SIZE:
        raise ProofError(f"{what} {value} is out of range")
    return value


def _as_bytes(value: object, what: str) -> bytes:
    """Validate a bytes-like value and return it as bytes."""
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise ProofError(f"{what} must be bytes")
    return bytes(value)


def _as_hash(value: object, what: str) -> bytes:
    """Validate a SHA-256 hash: bytes of exactly 32 bytes."""
    b = _as_bytes(value, what)
    _check_root_length(b, what)
    return b


def _check_root_length(value: bytes, what: str) -> None:
    """Refuse a hash that is not 32 bytes long."""
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def _as_proof(proof: object) -> list[bytes]:
    """Validate a proof: a list (or tuple) of 32-byte hashes."""
    if not isinstance(proof, (list, tuple)):
        raise ProofError("proof must be a list of hashes")
    return [_as_hash(h, f"proof hash {i}") for i, h in enumerate(proof)]
