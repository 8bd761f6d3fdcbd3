"""Organization policy documents and their `orgpolicy` log entries against tests/vectors/orgpolicy (written by
json and hashlib, not by c11): the same bytes, digest and leaf hash, and every malformed one refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from c11.errors import C11Error, ProofError
from c11.keys.publickey import PublicKey
from c11.log.entries import OrgPolicyEntry, org_policy_digest
from c11.log.merkle import leaf_hash
from c11.orgrules import OrgPolicy, PolicyDocument

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "orgpolicy" / "vectors.json").read_text("utf-8"))


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: f"{c['fields']['name']}-{c['fields']['seq']}")
def test_documents_and_entries_match_the_vectors(case):
    f = case["fields"]
    policy = OrgPolicy(
        f["name"], tuple(PublicKey.parse(k) for k in f["recovery_keys"]), f["require_online"], f["default_expiry_days"]
    )
    doc = PolicyDocument(f["org"], f["seq"], policy)
    assert doc.to_text() == case["document"]
    assert PolicyDocument.parse(case["document"]) == doc
    assert org_policy_digest(case["document"]) == case["digest"]
    entry = OrgPolicyEntry.parse(case["entry"])
    assert (entry.org, entry.seq, entry.digest) == (f["org"], f["seq"], case["digest"])
    assert leaf_hash(case["entry"].encode("ascii")).hex() == case["leaf_hash"]


@pytest.mark.parametrize("bad", VECTORS["bad_documents"], ids=lambda b: b["why"])
def test_bad_documents_are_refused(bad):
    with pytest.raises(C11Error):
        PolicyDocument.parse(bad["document"])


@pytest.mark.parametrize("bad", VECTORS["bad_entries"], ids=lambda b: b["why"])
def test_bad_entries_are_refused(bad):
    with pytest.raises(ProofError):
        OrgPolicyEntry.parse(bad["entry"])
