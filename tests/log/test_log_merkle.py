"""Merkle hashing, proof generation over a hash store, and the verifiers' handling of bad input.

Generated proofs are checked against a literal RFC 9162 reference and against the verifiers.
"""

from __future__ import annotations

import hashlib
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from c11.errors import ProofError
from c11.log.merkle import (
    EMPTY_ROOT,
    MemoryHashStore,
    MerkleTree,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    root_from_leaf_hashes,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)

# The test data of RFC 6962 implementations (certificate-transparency, transparency-dev/merkle).
LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

BIG = 4099  # leaves in the shared tree: historical sizes 0..BIG are all exercised


# --- a literal transcription of RFC 9162 section 2.1, used as the reference ---


def _k(n: int) -> int:
    """Largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return ref_path(m, d[:k]) + [ref_mth(d[k:])]
    return ref_path(m - k, d[k:]) + [ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _k(n)
    if m <= k:
        return ref_subproof(m, d[:k], b) + [ref_mth(d[k:])]
    return ref_subproof(m - k, d[k:], False) + [ref_mth(d[:k])]


def ref_proof(m: int, d: list[bytes]) -> list[bytes]:
    return ref_subproof(m, d, True) if 0 < m < len(d) else []


# --- fixtures ---


def _entry(i: int) -> bytes:
    return f"entry {i}".encode()


@pytest.fixture(scope="module")
def big() -> tuple[MerkleTree, list[bytes]]:
    tree = MerkleTree(MemoryHashStore())
    entries = [_entry(i) for i in range(BIG)]
    pos = 0
    for batch in (1, 2, 5, 100, 1000, BIG):  # uneven batches
        tree.append(entries[pos : pos + batch])
        pos = min(pos + batch, BIG)
    assert tree.size == BIG
    return tree, entries


# --- hashing ---


def test_hashing_primitives() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    assert root_from_leaves([]) == EMPTY_ROOT


@pytest.mark.parametrize("size", range(1, 9))
def test_known_roots(size: int) -> None:
    assert root_from_leaves(LEAVES[:size]).hex() == ROOTS[size - 1]
    tree = MerkleTree(MemoryHashStore())
    tree.append(LEAVES)
    assert tree.root(size).hex() == ROOTS[size - 1]


def test_small_trees_match_reference_exhaustively() -> None:
    tree = MerkleTree(MemoryHashStore())
    entries = [_entry(i) for i in range(70)]
    for e in entries:
        tree.append([e])
    for n in range(71):
        root = tree.root(n)
        assert root == ref_mth(entries[:n]) == root_from_leaves(entries[:n])
        for i in range(n):
            proof = tree.inclusion_proof(i, n)
            assert proof == ref_path(i, entries[:n])
            verify_inclusion(leaf_hash(entries[i]), i, n, proof, root)
        for m in range(n + 1):
            proof = tree.consistency_proof(m, n)
            assert proof == ref_proof(m, entries[:n])
            verify_consistency(m, n, proof, tree.root(m), root)


# --- property tests on a tree of a few thousand leaves, at every historical size ---


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_inclusion_proofs_verify(big: tuple[MerkleTree, list[bytes]], data: st.DataObject) -> None:
    tree, entries = big
    size = data.draw(st.integers(1, BIG), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    root = tree.root(size)
    assert root == root_from_leaves(entries[:size])
    proof = tree.inclusion_proof(index, size)
    lh = leaf_hash(entries[index])
    verify_inclusion(lh, index, size, proof, root)
    assert len(proof) <= math.ceil(math.log2(size)) if size > 1 else proof == []
    _assert_inclusion_tampering_fails(lh, index, size, proof, root, data)


def _assert_inclusion_tampering_fails(
    lh: bytes, index: int, size: int, proof: list[bytes], root: bytes, data: st.DataObject
) -> None:
    with pytest.raises(ProofError):
        verify_inclusion(lh, index, size, proof + [root], root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(b"not in the log"), index, size, proof, root)
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1), label="tampered")
        bad = list(proof)
        bad[k] = bytes([bad[k][0] ^ 1]) + bad[k][1:]
        with pytest.raises(ProofError):
            verify_inclusion(lh, index, size, bad, root)
        with pytest.raises(ProofError):
            verify_inclusion(lh, index, size, proof[:-1], root)
    other = data.draw(st.integers(0, size - 1), label="other index")
    if other != index:
        with pytest.raises(ProofError):
            verify_inclusion(lh, other, size, proof, root)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_consistency_proofs_verify(big: tuple[MerkleTree, list[bytes]], data: st.DataObject) -> None:
    tree, _ = big
    size2 = data.draw(st.integers(0, BIG), label="size2")
    size1 = data.draw(st.integers(0, size2), label="size1")
    root1, root2 = tree.root(size1), tree.root(size2)
    proof = tree.consistency_proof(size1, size2)
    verify_consistency(size1, size2, proof, root1, root2)
    assert len(proof) <= 2 * math.ceil(math.log2(max(size2, 2)))
    if 0 < size1 < size2:
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, proof + [root1], root1, root2)
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, proof[1:], root1, root2)
        k = data.draw(st.integers(0, len(proof) - 1), label="tampered")
        bad = list(proof)
        bad[k] = bytes(32)
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, bad, root1, root2)
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, proof, root2, root1)
        if size1 + 1 < size2:
            with pytest.raises(ProofError):
                verify_consistency(size1, size2, proof, root1, tree.root(size2 - 1))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=12))
def test_batch_boundaries_do_not_matter(batches: list[int]) -> None:
    total = sum(batches)
    entries = [_entry(i) for i in range(total)]
    one, many = MerkleTree(MemoryHashStore()), MerkleTree(MemoryHashStore())
    one.append(entries)
    pos = 0
    for b in batches:
        assert many.append(entries[pos : pos + b]) == pos
        pos += b
    assert one.root() == many.root() == root_from_leaves(entries)
    # A fresh tree object over the same store (as after a server restart) keeps appending correctly.
    reopened = MerkleTree(many.store, many.size)
    reopened.append([b"one more"])
    one.append([b"one more"])
    assert reopened.root() == one.root()
    assert reopened.root(total) == root_from_leaves(entries)


# --- store access pattern: O(log n) reads, batched writes ---


class CountingStore(MemoryHashStore):
    def __init__(self) -> None:
        super().__init__()
        self.put_calls = 0

    def put_nodes(self, nodes):  # type: ignore[no-untyped-def]
        self.put_calls += 1
        super().put_nodes(nodes)


def test_reads_are_logarithmic_and_writes_batched() -> None:
    store = CountingStore()
    tree = MerkleTree(store)
    n = 3 * 2**14 + 77
    tree.append(_entry(i) for i in range(n))
    assert store.put_calls == 1
    assert store.level_size(0) == n
    fresh = MerkleTree(store, n)  # no cached frontier
    bound = 2 * n.bit_length()
    for call, args in [
        (fresh.root, (n - 5,)),
        (fresh.inclusion_proof, (12345, n)),
        (fresh.inclusion_proof, (n - 1, n)),
        (fresh.consistency_proof, (1000, n)),
        (fresh.consistency_proof, (n - 3, n)),
    ]:
        before_calls, before_reads = store.read_calls, store.reads
        call(*args)
        assert store.read_calls - before_calls == 1
        assert store.reads - before_reads <= bound


def test_generation_argument_errors() -> None:
    tree = MerkleTree(MemoryHashStore())
    assert tree.root() == EMPTY_ROOT
    assert tree.consistency_proof(0, 0) == []
    tree.append([b"a", b"b", b"c"])
    for call in (
        lambda: tree.inclusion_proof(3),
        lambda: tree.inclusion_proof(0, 4),
        lambda: tree.inclusion_proof(-1),
        lambda: tree.root(4),
        lambda: tree.consistency_proof(3, 2),
        lambda: tree.leaf_hash(3),
        lambda: tree.append_leaf_hashes([b"short"]),
    ):
        with pytest.raises(ValueError):
            call()
    assert tree.leaf_hash(1) == leaf_hash(b"b")
    assert root_from_leaf_hashes([leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c")]) == tree.root()


def test_missing_store_node_is_a_proof_error() -> None:
    with pytest.raises(ProofError):
        MerkleTree(MemoryHashStore(), 10).root()


def test_store_is_write_once() -> None:
    store = MemoryHashStore()
    store.put_nodes([(0, 0, bytes(32))])
    store.put_nodes([(0, 0, bytes(32))])  # same hash again is fine
    with pytest.raises(ValueError):
        store.put_nodes([(0, 0, b"\x01" * 32)])
    with pytest.raises(ValueError):
        store.put_nodes([(0, 5, bytes(32))])
    with pytest.raises(KeyError):
        store.get_nodes([(0, 1)])


# --- the verifiers never raise anything but ProofError ---

H = bytes(32)
GOOD_INCLUSION = (leaf_hash(b"x"), 0, 1, [], leaf_hash(b"x"))


@pytest.mark.parametrize(
    "args",
    [
        (H[:31], 0, 1, [], H),  # short leaf hash
        (H + b"\x00", 0, 1, [], H),  # long leaf hash
        ("00" * 32, 0, 1, [], H),  # str leaf hash
        (None, 0, 1, [], H),
        (H, -1, 1, [], H),  # negative index
        (H, 0, -1, [], H),
        (H, 0, 0, [], H),  # empty tree
        (H, 1, 1, [], H),  # index == size
        (H, True, 2, [H], H),  # bool is not an index
        (H, 0, 2**64, [H] * 64, H),  # beyond uint64
        (H, 0.0, 1, [], H),
        (H, "0", 1, [], H),
        (H, 0, 2, None, H),  # proof not a list
        (H, 0, 2, H, H),  # proof is bytes, not a list of bytes
        (H, 0, 2, ["00" * 32], H),  # wrong item type
        (H, 0, 2, [H[:16]], H),  # short item
        (H, 0, 2, [1], H),
        (H, 0, 2, [H, H], H),  # trailing hash
        (H, 0, 2, [], H),  # missing hash
        (H, 0, 1, [], None),  # root not bytes
        (H, 0, 1, [], H[:5]),
    ],
)
def test_inclusion_bad_input(args: tuple) -> None:  # type: ignore[type-arg]
    with pytest.raises(ProofError):
        verify_inclusion(*args)
    verify_inclusion(*GOOD_INCLUSION)


def test_inclusion_accepts_bytes_like_and_tuples() -> None:
    tree = MerkleTree(MemoryHashStore())
    tree.append(LEAVES)
    proof = tree.inclusion_proof(5)
    verify_inclusion(bytearray(leaf_hash(LEAVES[5])), 5, 8, tuple(memoryview(p) for p in proof), tree.root())
    assert root_from_inclusion_proof(leaf_hash(LEAVES[5]), 5, 8, proof) == tree.root()


@pytest.mark.parametrize(
    "args",
    [
        (2, 1, [], H, H),  # size1 > size2
        (-1, 1, [], EMPTY_ROOT, H),
        (1, -1, [], H, H),
        (1, 2**64, [H], H, H),
        (True, 2, [H], H, H),
        (1, 2.0, [H], H, H),
        (0, 0, [], H, H),  # size 0 must have the empty root
        (0, 0, [H], EMPTY_ROOT, EMPTY_ROOT),  # proof between equal sizes
        (3, 3, [H], H, H),
        (3, 3, [], H, b"\x01" * 32),  # equal sizes, different roots
        (0, 5, [H], EMPTY_ROOT, H),  # proof from the empty tree
        (0, 5, [], H, H),  # root1 is not the empty root
        (0, 5, [], EMPTY_ROOT, H[:7]),  # root2 is not a hash
        (1, 2, [], H, H),  # empty proof
        (1, 2, [H, H], H, H),  # trailing hash
        (3, 4, [H], H, H),  # missing hashes
        (3, 4, None, H, H),
        (3, 4, [H, H, "x"], H, H),
        (3, 4, [H, H, H[:31]], H, H),
        (3, 4, [H, H, H], "root", H),
        (3, 4, [H, H, H], H, None),
        (3, 4, [H, H, H], H[:31], H),
        (3, 4, [H, H, H], H, H),  # right shape, wrong hashes
    ],
)
def test_consistency_bad_input(args: tuple) -> None:  # type: ignore[type-arg]
    with pytest.raises(ProofError):
        verify_consistency(*args)


def test_consistency_trivial_cases_accepted() -> None:
    verify_consistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT)
    verify_consistency(0, 7, [], EMPTY_ROOT, H)
    verify_consistency(5, 5, [], H, H)
    verify_consistency(5, 5, (), H, bytearray(H))
