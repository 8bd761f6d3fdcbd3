"""The organization policy kept on the device (c11.client.org_policy.OrgPolicyStore): the signed document with
its log entry, inclusion proof and checkpoint, written 0600, bound to its server and account, verified again
with the pinned log key when read; a damaged or tampered copy is an error rather than "no organization"."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from c11.client.org_policy import CACHE, OrgPolicyStore, SignedPolicy, verify_signed
from c11.errors import FormatError, ProofError
from c11.keys.publickey import PublicKey
from c11.log.checkpoint import Checkpoint, NoteSigner, open_checkpoint, sign_checkpoint
from c11.log.entries import canonical_json, org_policy_digest
from c11.log.merkle import MemoryHashStore, MerkleTree
from c11.orgrules import OrgPolicy, PolicyDocument

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "orgrules" / "orgrules.json").read_text("utf-8"))
KEY = PublicKey.parse(VECTORS["keys"]["rec_acme"]["public_key"])
SERVER = "https://c11.example.com"
SIGNER = NoteSigner.generate("c11.example.com/log")
ORG = "8d1f3a0c9b2e4f6a8d1f3a0c9b2e4f6a"


def signed(policy: OrgPolicy, seq: int = 1, signer: NoteSigner = SIGNER) -> tuple[SignedPolicy, PolicyDocument]:
    """The policy as the server proves it: its entry as entry 1 of a 3-entry log, with a signed checkpoint."""
    doc = PolicyDocument(ORG, seq, policy)
    text = doc.to_text()
    entry = canonical_json(
        {"digest": org_policy_digest(text), "kind": "orgpolicy", "org": ORG, "seq": seq, "time": "2026-12-01T10:00:00Z"}
    )
    tree = MerkleTree(MemoryHashStore())
    tree.append([b"other", entry.encode(), b"more"])
    note = sign_checkpoint(Checkpoint(signer.name, tree.size, tree.root()), signer)
    return SignedPolicy(text, entry, 1, tuple(tree.inclusion_proof(1)), note), doc


def test_saved_policy_loads_verified_for_its_server_and_account_only(tmp_path):
    store = OrgPolicyStore(tmp_path)
    policy = OrgPolicy("ACME", (KEY,), True, 30)
    sp, doc = signed(policy, seq=3)
    store.save(SERVER + "/", "bob@example.com", sp, doc, now=1_700_000_000)
    path = store.path(SERVER)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    got = store.load(SERVER, "bob@example.com", SIGNER.verifier)
    assert got is not None and got.policy == policy and got.source == CACHE and got.fetched_at == 1_700_000_000
    assert (got.seq, got.org_id) == (3, ORG)
    assert store.load(SERVER, None, SIGNER.verifier) == got  # a token login (no stored account) takes the copy
    assert store.load(SERVER, "eve@example.com", SIGNER.verifier) is None
    assert store.load("https://other.example.com", "bob@example.com", SIGNER.verifier) is None
    store.save(SERVER, "bob@example.com", None, None)  # no longer a member: that is remembered too
    left = store.load(SERVER, "bob@example.com", SIGNER.verifier)
    assert left is not None and left.policy is None
    assert store.seen(SERVER, "bob@example.com") == {ORG: [3, "ACME"]}  # the highest number seen stays


def test_a_copy_of_an_older_c11_is_ignored_not_applied(tmp_path):
    store = OrgPolicyStore(tmp_path)
    path = store.path(SERVER)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"version": 1, "server": SERVER, "account": None, "fetched_at": 1, "policy": None}))
    assert store.load(SERVER, None, SIGNER.verifier) is None


def _tamper_document(d: dict) -> dict:
    doc = json.loads(d["policy"]["document"])
    doc["recovery_keys"] = []  # the recovery key dropped
    return {**d, "policy": {**d["policy"], "document": canonical_json(doc)}}


def _tamper_entry(d: dict) -> dict:
    entry = json.loads(d["policy"]["entry"])
    doc = json.loads(d["policy"]["document"])
    doc["recovery_keys"] = []
    text = canonical_json(doc)
    entry["digest"] = org_policy_digest(text)  # entry rewritten to match: no longer in the signed tree
    return {**d, "policy": {**d["policy"], "document": text, "entry": canonical_json(entry)}}


def _tamper_checkpoint(d: dict) -> dict:
    other = NoteSigner.generate("c11.example.com/log")
    sp, _ = signed(OrgPolicy("ACME", ()), signer=other)
    return {**d, "policy": sp.to_json()}


@pytest.mark.parametrize(
    ("damage", "error"),
    [
        (lambda d: "not json", FormatError),
        (lambda d: json.dumps({**d, "version": 3}), FormatError),
        (lambda d: json.dumps({**d, "fetched_at": "yesterday"}), FormatError),
        (lambda d: json.dumps({**d, "seen": {ORG: "many"}}), FormatError),
        (lambda d: json.dumps(_tamper_document(d)), ProofError),
        (lambda d: json.dumps(_tamper_entry(d)), ProofError),
        (lambda d: json.dumps(_tamper_checkpoint(d)), ProofError),
        (lambda d: json.dumps({**d, "policy": {**d["policy"], "inclusion_proof": []}}), ProofError),
        (lambda d: json.dumps({**d, "policy": {**d["policy"], "log_index": 2}}), ProofError),
    ],
    ids=["json", "version", "fetched_at", "seen", "document", "entry", "checkpoint", "proof", "index"],
)
def test_damaged_or_tampered_copy_is_an_error(tmp_path, damage, error):
    store = OrgPolicyStore(tmp_path)
    store.save(SERVER, "bob@example.com", *signed(OrgPolicy("ACME", (KEY,))))
    path = store.path(SERVER)
    path.write_text(damage(json.loads(path.read_text())))
    with pytest.raises(error) as e:
        store.load(SERVER, "bob@example.com", SIGNER.verifier)
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_no_pinned_key_no_cached_policy(tmp_path):
    store = OrgPolicyStore(tmp_path)
    store.save(SERVER, None, *signed(OrgPolicy("ACME", (KEY,))))
    with pytest.raises(ProofError, match="no log key is pinned"):
        store.load(SERVER, None, None)


def test_verify_signed_binds_the_organization(tmp_path):
    sp, _ = signed(OrgPolicy("ACME", (KEY,)))
    cp = open_checkpoint(sp.note, SIGNER.verifier)
    assert verify_signed(sp, cp, ORG).policy.name == "ACME"
    with pytest.raises(ProofError, match="another organization"):
        verify_signed(sp, cp, "another-org")
