"""The committed vectors of v2 actor commitments (tests/vectors/log-actor, docs/log.md section 7): the
commitment, the entry's leaf hash and the opening check, and every way a forged opening is refused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from c11.errors import ProofError
from c11.log.entries import canonical_json, email_hash
from c11.log.merkle import leaf_hash
from c11.log.openings import ACTOR_CONTEXT, actor_commitment, verify_opening

VECTORS = json.loads((Path(__file__).parent.parent / "vectors" / "log-actor" / "vectors.json").read_text())
CASES = VECTORS["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_vector(case):
    nonce = bytes.fromhex(case["nonce"])
    assert ACTOR_CONTEXT.hex() == VECTORS["context_hex"]
    # the spec's formula, written out here, and the library agree with the committed value
    assert hashlib.sha256(ACTOR_CONTEXT + nonce + case["private"].encode()).hexdigest() == case["actor"]
    assert actor_commitment(nonce, case["private"]) == case["actor"]
    assert leaf_hash(case["entry"].encode()).hex() == case["leaf_hash"]
    opened = verify_opening(case["entry"], nonce, case["private"])
    assert opened.person == case["person"]
    if case["email"] is not None:
        assert case["person"] == email_hash(case["email"])
    assert json.loads(case["entry"])["actor"] == case["actor"]


@pytest.mark.parametrize("case", CASES[:2], ids=[c["name"] for c in CASES[:2]])
def test_forged_openings_are_refused(case):
    nonce, private, entry = bytes.fromhex(case["nonce"]), case["private"], case["entry"]
    d = json.loads(private)
    other = canonical_json({**d, "person": email_hash("mallory@example.com")})
    forged_entry = canonical_json({k: v for k, v in json.loads(entry).items() if k != "v"})
    for args in (
        (entry, bytes([nonce[0] ^ 1]) + nonce[1:], private),  # another nonce
        (entry, nonce, other),  # another person
        (entry, nonce, json.dumps(d)),  # not canonical
        (entry, nonce[:31], private),  # short nonce
        (forged_entry, nonce, private),  # not a v2 entry
        (entry, nonce, canonical_json({**d, "doc": "x"})),  # repeats a public field
        (entry, nonce, canonical_json({k: v for k, v in d.items() if k != "person"})),  # no person
        (entry, nonce, "[]"),
    ):
        with pytest.raises(ProofError):
            verify_opening(*args)
