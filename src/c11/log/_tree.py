"""Append-only Merkle tree over a pluggable hash store, with proofs for any historical size.

Every perfect subtree is stored once at (level, index); roots and proofs need O(log n) reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from c11.errors import ProofError
from c11.log._hashing import HASH_SIZE, fold_subtrees, leaf_hash, node_hash

#: A node of the tree: (level, index). Level 0 holds leaf hashes; node (k, i) is the root of the
#: perfect subtree over leaves [i * 2**k, (i + 1) * 2**k).
NodeID = tuple[int, int]


@runtime_checkable
class HashStore(Protocol):
    """Where a ``MerkleTree`` keeps its node hashes; a server backs it with an SQL table.

    Nodes are write-once: a node is never rewritten with a different hash.
    """

    def get_nodes(self, ids: Sequence[NodeID]) -> list[bytes]:
        """Return the hashes of these nodes, in order; raise KeyError if one is missing."""
        ...

    def put_nodes(self, nodes: Sequence[tuple[int, int, bytes]]) -> None:
        """Store (level, index, hash) triples, all at once (one transaction for a database)."""
        ...


class MemoryHashStore:
    """In-memory ``HashStore``: one contiguous bytearray of 32-byte hashes per level.

    Writes must fill each level in order (as ``MerkleTree`` does); rewriting a node with another hash fails.
    """

    def __init__(self) -> None:
        self._levels: list[bytearray] = []
        #: Number of ``get_nodes`` calls and of node reads so far (for tests and benchmarks).
        self.read_calls = 0
        self.reads = 0

    def get_nodes(self, ids: Sequence[NodeID]) -> list[bytes]:
        """Return the hashes of these nodes, in order; raise KeyError if one is missing."""
        self.read_calls += 1
        self.reads += len(ids)
        out = []
        for level, index in ids:
            start = index * HASH_SIZE
            if not 0 <= level < len(self._levels) or index < 0 or start + HASH_SIZE > len(self._levels[level]):
                raise KeyError((level, index))
            out.append(bytes(self._levels[level][start : start + HASH_SIZE]))
        return out

    def put_nodes(self, nodes: Sequence[tuple[int, int, bytes]]) -> None:
        """Store (level, index, hash) triples; each level must be filled in order."""
        levels = self._levels
        for level, index, h in nodes:
            if len(h) != HASH_SIZE:
                raise ValueError("node hashes must be 32 bytes")
            while len(levels) <= level:
                levels.append(bytearray())
            buf = levels[level]
            start = index * HASH_SIZE
            if start == len(buf):
                buf += h
            elif 0 <= start < len(buf):
                if buf[start : start + HASH_SIZE] != h:
                    raise ValueError(f"node ({level}, {index}) is already stored with another hash")
            else:
                raise ValueError(f"node ({level}, {index}) would leave a gap in level {level}")

    def level_size(self, level: int) -> int:
        """Number of nodes stored at ``level``."""
        return len(self._levels[level]) // HASH_SIZE if level < len(self._levels) else 0


class MerkleTree:
    """An RFC 9162 append-only Merkle tree whose node hashes live in a ``HashStore``.

    ``size`` is the number of leaves already in the store; one ``MerkleTree`` must be the only writer.
    """

    def __init__(self, store: HashStore, size: int = 0) -> None:
        if type(size) is not int or size < 0:
            raise ValueError("tree size must be a non-negative integer")
        self._store = store
        self._size = size
        self._frontier: list[bytes] | None = None

    @property
    def size(self) -> int:
        """Number of leaves in the tree."""
        return self._size

    @property
    def store(self) -> HashStore:
        """The hash store behind this tree."""
        return self._store

    def append(self, entries: Iterable[bytes]) -> int:
        """Append log entries (hashed with ``leaf_hash``) in one batch; return the index of the first.

        All new nodes are written with a single ``put_nodes`` call.
        """
        return self.append_leaf_hashes([leaf_hash(e) for e in entries])

    def append_leaf_hashes(self, hashes: Iterable[bytes]) -> int:
        """Append precomputed leaf hashes in one batch; return the index of the first."""
        first = self._size
        stack = list(self._load_frontier())
        writes: list[tuple[int, int, bytes]] = []
        put = writes.append
        n = first
        for h in hashes:
            acc = bytes(h)
            if len(acc) != HASH_SIZE:
                raise ValueError("leaf hashes must be 32 bytes")
            put((0, n, acc))
            level, index = 0, n
            while index & 1:
                acc = node_hash(stack.pop(), acc)
                level += 1
                index >>= 1
                put((level, index, acc))
            stack.append(acc)
            n += 1
        if writes:
            self._store.put_nodes(writes)
        self._frontier = stack
        self._size = n
        return first

    def leaf_hash(self, index: int) -> bytes:
        """Stored leaf hash at ``index``."""
        self._check_index(index, self._size)
        return self._get([(0, index)])[0]

    def root(self, size: int | None = None) -> bytes:
        """Root hash of the tree when it had ``size`` leaves (default: now)."""
        size = self._check_size(size)
        if size == self._size and self._frontier is not None:
            return fold_subtrees(self._frontier)
        return fold_subtrees(self._get(_perfect_subtrees(0, size)))

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size`` leaves (default: now)."""
        size = self._check_size(size)
        self._check_index(index, size)
        return self._resolve(_path_plan(0, index, size))

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        """RFC 9162 consistency proof from the tree of ``size1`` leaves to that of ``size2`` (default: now)."""
        size2 = self._check_size(size2)
        if type(size1) is not int or not 0 <= size1 <= size2:
            raise ValueError(f"size1 must be between 0 and {size2}")
        if size1 in (0, size2):
            return []
        level = (size1 & -size1).bit_length() - 1
        index = (size1 - 1) >> level
        plan = _path_plan(level, index, size2)
        if index != 0:
            plan.insert(0, [(level, index)])
        return self._resolve(plan)

    def _load_frontier(self) -> list[bytes]:
        """Roots of the perfect subtrees that make up the current tree, biggest first."""
        if self._frontier is None:
            self._frontier = self._get(_perfect_subtrees(0, self._size)) if self._size else []
        return self._frontier

    def _resolve(self, plan: list[list[NodeID]]) -> list[bytes]:
        """Read every node a proof needs in one store call and fold each proof element."""
        ids = [node for element in plan for node in element]
        hashes = iter(self._get(ids))
        return [fold_subtrees([next(hashes) for _ in element]) for element in plan]

    def _get(self, ids: Sequence[NodeID]) -> list[bytes]:
        """Read nodes from the store; a missing node means the store is corrupt."""
        if not ids:
            return []
        try:
            return self._store.get_nodes(ids)
        except KeyError as exc:
            raise ProofError(f"hash store is missing node {exc.args[0] if exc.args else ''}") from None

    def _check_size(self, size: int | None) -> int:
        """Default a size to the current one and check it is not in the future."""
        if size is None:
            return self._size
        if type(size) is not int or not 0 <= size <= self._size:
            raise ValueError(f"tree size must be between 0 and {self._size}")
        return size

    @staticmethod
    def _check_index(index: int, size: int) -> None:
        """Check a leaf index is inside a tree of ``size`` leaves."""
        if type(index) is not int or not 0 <= index < size:
            raise ValueError(f"leaf index must be between 0 and {size - 1}")


def _perfect_subtrees(start: int, length: int) -> list[NodeID]:
    """Perfect subtrees covering leaves [start, start + length), biggest first.

    ``start`` must be a multiple of the largest power of two not above ``length``.
    """
    out = []
    offset = start
    for level in range(length.bit_length() - 1, -1, -1):
        if (length >> level) & 1:
            out.append((level, offset >> level))
            offset += 1 << level
    return out


def _path_plan(level: int, index: int, size: int) -> list[list[NodeID]]:
    """Nodes proving node (level, index) is in the tree of ``size`` leaves, bottom up.

    Each element is one proof hash: a stored node, or (on the right border) the fold of several.
    """
    plan = []
    while not (index == 0 and (1 << level) >= size):
        sibling = index ^ 1
        start = sibling << level
        if start < size:
            if start + (1 << level) <= size:
                plan.append([(level, sibling)])
            else:
                plan.append(_perfect_subtrees(start, size - start))
        index >>= 1
        level += 1
    return plan
