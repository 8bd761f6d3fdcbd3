"""The verifiers agree with the step-by-step algorithms of RFC 9162 sections 2.1.3.2 and 2.1.4.2.

Those algorithms are transcribed here as written (they are also what docs/log.md tells auditors to implement).
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c11.errors import ProofError
from c11.log.merkle import MemoryHashStore, MerkleTree, leaf_hash, verify_consistency, verify_inclusion

N = 600


def _h(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def rfc_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _h(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _h(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def rfc_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes, path: list[bytes]) -> bool:
    if not path:
        return False
    if first & (first - 1) == 0:
        path = [first_hash, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = _h(c, fr), _h(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = _h(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


@pytest.fixture(scope="module")
def tree() -> MerkleTree:
    t = MerkleTree(MemoryHashStore())
    t.append(b"%d" % i for i in range(N))
    return t


def _accepts(fn, *args) -> bool:  # type: ignore[no-untyped-def]
    try:
        fn(*args)
    except ProofError:
        return False
    return True


def _mutations(proof: list[bytes], other: bytes) -> list[list[bytes]]:
    out = [proof, proof + [other], [other] + proof, proof[1:], proof[:-1]]
    out += [proof[:i] + [other] + proof[i + 1 :] for i in range(len(proof))]
    if len(proof) > 1:
        out.append(proof[::-1])
    return out


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_inclusion_agrees_with_rfc(tree: MerkleTree, data: st.DataObject) -> None:
    size = data.draw(st.integers(1, N))
    index = data.draw(st.integers(0, size - 1))
    claimed = data.draw(st.integers(0, size))  # sometimes the wrong index, or out of range
    root, leaf = tree.root(size), leaf_hash(b"%d" % index)
    for proof in _mutations(tree.inclusion_proof(index, size), tree.root(size // 2)):
        assert _accepts(verify_inclusion, leaf, claimed, size, proof, root) == rfc_inclusion(
            leaf, claimed, size, proof, root
        )


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_consistency_agrees_with_rfc(tree: MerkleTree, data: st.DataObject) -> None:
    second = data.draw(st.integers(2, N))
    first = data.draw(st.integers(1, second - 1))
    r1, r2 = tree.root(first), tree.root(second)
    proof = tree.consistency_proof(first, second)
    assert rfc_consistency(first, second, r1, r2, proof)
    for bad in _mutations(proof, tree.root(second - 1))[1:]:
        assert _accepts(verify_consistency, first, second, bad, r1, r2) == rfc_consistency(first, second, r1, r2, bad)
    assert not _accepts(verify_consistency, first, second, proof, r2, r1)
