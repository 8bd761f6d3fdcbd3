"""The browser core's check of registry answers (docs/registry.md §4) inside Chromium, on answers built with the
Python log (c11.log): a good answer is accepted and forged ones — another key served, another person's entry, a bad
inclusion proof, a checkpoint not signed by the pinned key, a fork or a rolled-back log — are refused (ProofError)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from _harness import harness_page, serve_harness

from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey
from c11.log.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
from c11.log.entries import canonical_json, email_hash
from c11.log.merkle import MemoryHashStore, MerkleTree

ORIGIN = "c11.test/log"


@pytest.fixture(scope="module")
def page(chromium):  # type: ignore[no-untyped-def]
    with serve_harness() as base, harness_page(chromium, base) as p:
        yield p


def _entry(email: str, line: str | None, action: str = "publish") -> str:
    return canonical_json(
        {
            "action": action,
            "email_hash": email_hash(email),
            "kind": "key",
            "public_key": line,
            "time": "2026-12-03T10:00:00Z",
        }
    )


class Log:
    """A registry log: key entries for a few people, signed checkpoints, proofs (c11.log, as the server does)."""

    def __init__(self) -> None:
        self.signer = NoteSigner.generate(ORIGIN)
        self.tree = MerkleTree(MemoryHashStore())
        self.entries: list[str] = []
        self.keys = {e: Identity.generate(e).public.line() for e in ("bob@example.com", "eve@example.com")}

    def add(self, text: str) -> int:
        self.entries.append(text)
        return self.tree.append([text.encode()])

    def note(self, size: int | None = None, signer: NoteSigner | None = None) -> str:
        size = self.tree.size if size is None else size
        return sign_checkpoint(Checkpoint(ORIGIN, size, self.tree.root(size)), signer or self.signer).decode()

    def answer(self, index: int, known: int | None = None) -> dict[str, Any]:
        size = self.tree.size
        d = {
            "entry": self.entries[index],
            "log_index": index,
            "tree_size": size,
            "checkpoint": self.note(),
            "public_key": json.loads(self.entries[index])["public_key"],
            "inclusion_proof": [base64.b64encode(h).decode() for h in self.tree.inclusion_proof(index, size)],
        }
        if known is not None:
            d["known_size"] = known
            d["consistency_proof"] = [base64.b64encode(h).decode() for h in self.tree.consistency_proof(known, size)]
        return d


@pytest.fixture()
def log() -> Log:
    lg = Log()
    lg.add(_entry("eve@example.com", lg.keys["eve@example.com"]))
    lg.bob = lg.add(_entry("bob@example.com", lg.keys["bob@example.com"]))  # type: ignore[attr-defined]
    for i in range(5):
        lg.add(canonical_json({"kind": "release", "n": i, "time": "2026-12-03T10:00:00Z"}))
    return lg


def verify(page: Any, answer: dict, email: str, log: Log, stored: str | None = None) -> dict:
    return page.evaluate(
        "([a]) => window.c11harness.call('verifyKeyLookup', a)",
        [{"answer": answer, "email": email, "logKey": str(log.signer.verifier), "storedNote": stored}],
    )


def test_a_good_answer_is_accepted_and_gives_the_logged_key(page: Any, log: Log) -> None:
    stored = log.note(3)
    r = verify(page, log.answer(log.bob, known=3), " Bob@Example.com ", log, stored)  # type: ignore[attr-defined]
    assert r["ok"], r
    assert r["result"]["publicLine"] == log.keys["bob@example.com"] and r["result"]["treeSize"] == str(log.tree.size)
    assert r["result"]["note"] == log.note()
    first = verify(page, log.answer(log.bob), "bob@example.com", log)  # type: ignore[attr-defined]
    assert first["ok"], first


def forged(log: Log) -> dict[str, tuple[dict, str | None, str]]:
    bob = log.bob  # type: ignore[attr-defined]
    good = log.answer(bob, known=3)
    other = Log()
    other.add(_entry("bob@example.com", log.keys["bob@example.com"]))
    out: dict[str, tuple[dict, str | None, str]] = {}
    out["another key served"] = ({**good, "public_key": log.keys["eve@example.com"]}, log.note(3), "bob@example.com")
    out["another person's entry"] = (log.answer(0, known=3), log.note(3), "bob@example.com")
    flipped = list(good["inclusion_proof"])
    h = bytearray(base64.b64decode(flipped[0]))
    h[0] ^= 1
    flipped[0] = base64.b64encode(bytes(h)).decode()
    out["bad inclusion proof"] = ({**good, "inclusion_proof": flipped}, log.note(3), "bob@example.com")
    out["short inclusion proof"] = (
        {**good, "inclusion_proof": good["inclusion_proof"][:-1]},
        log.note(3),
        "bob@example.com",
    )
    out["checkpoint signed by another key"] = (
        {**good, "checkpoint": log.note(signer=NoteSigner.generate(ORIGIN))},
        log.note(3),
        "bob@example.com",
    )
    out["tree size differs"] = ({**good, "tree_size": good["tree_size"] - 1}, log.note(3), "bob@example.com")
    # A stored checkpoint of size 3 whose root is another tree's: no consistency proof can join them.
    out["fork: stored checkpoint of another tree"] = (
        good,
        sign_checkpoint(Checkpoint(ORIGIN, 3, other.tree.root(1)), log.signer).decode(),
        "bob@example.com",
    )
    out["rolled back: smaller than stored"] = (log.answer(bob), _bigger(log), "bob@example.com")
    out["a removal entry"] = (_removal(log), None, "bob@example.com")
    return out


def _bigger(log: Log) -> str:
    """A stored checkpoint of a later tree than the one the answer shows (the log went back)."""
    extra = Log()
    extra.signer = log.signer
    extra.tree = MerkleTree(MemoryHashStore())
    for t in log.entries:
        extra.tree.append([t.encode()])
    extra.tree.append([b"later"])
    return extra.note()


def _removal(log: Log) -> dict:
    i = log.add(_entry("bob@example.com", None, "remove"))
    a = log.answer(i)
    a["public_key"] = log.keys["bob@example.com"]
    return a


@pytest.mark.parametrize(
    "case",
    [
        "another key served",
        "another person's entry",
        "bad inclusion proof",
        "short inclusion proof",
        "checkpoint signed by another key",
        "tree size differs",
        "fork: stored checkpoint of another tree",
        "rolled back: smaller than stored",
        "a removal entry",
    ],
)
def test_a_forged_answer_is_refused(page: Any, log: Log, case: str) -> None:
    answer, stored, email = forged(log)[case]
    r = verify(page, answer, email, log, stored)
    assert not r["ok"] and r["error"] == "ProofError", r


def _history(log: Log, email: str, indices: list[int]) -> dict[str, Any]:
    size = log.tree.size
    return {
        "checkpoint": log.note(),
        "tree_size": size,
        "entries": [
            {
                "index": i,
                "entry": log.entries[i],
                "inclusion_proof": [base64.b64encode(h).decode() for h in log.tree.inclusion_proof(i, size)],
            }
            for i in indices
        ],
    }


def test_a_key_history_is_verified_entry_by_entry(page: Any, log: Log) -> None:
    """Every published key of bob, in log order, each proven; another person's entry or a reordering is refused."""
    new = Identity.generate("bob@example.com").public.line()
    change = log.add(_entry("bob@example.com", new, "change"))
    args = {
        "answer": _history(log, "bob@example.com", [log.bob, change]),
        "email": "bob@example.com",  # type: ignore[attr-defined]
        "logKey": str(log.signer.verifier),
        "storedNote": None,
    }
    r = page.evaluate("([a]) => window.c11harness.call('verifyKeyHistory', a)", [args])
    assert r["ok"], r
    assert [(i["action"], i["publicLine"]) for i in r["result"]["items"]] == [
        ("publish", log.keys["bob@example.com"]),
        ("change", new),
    ]
    for bad in ([0, change], [change, log.bob]):  # type: ignore[attr-defined]
        r = page.evaluate(
            "([a]) => window.c11harness.call('verifyKeyHistory', a)",
            [{**args, "answer": _history(log, "bob@example.com", bad)}],
        )
        assert not r["ok"] and r["error"] == "ProofError", r


def test_a_temporary_key_lookup_is_verified_and_a_claimed_key_opens(page: Any, log: Log) -> None:
    """keyserver.md, invitations: the tempkey create entry proves the temporary key served; the claim answer (seeds
    sealed to the invitee's published key) opens in the worker to that temporary identity; a wrong one does not."""
    from c11.crypto.kem import kem_type

    temp = Identity.generate("carol@example.com (temporary)")
    text = canonical_json(
        {
            "action": "create",
            "email_hash": email_hash("carol@example.com"),
            "kind": "tempkey",
            "public_key": temp.public.line(),
            "time": "2026-12-03T10:00:00Z",
            "v": 1,
        }
    )
    index = log.add(text)
    answer = {**log.answer(index), "expires_at": "2027-01-02T10:00:00Z"}
    args = {"answer": answer, "email": "carol@example.com", "logKey": str(log.signer.verifier), "storedNote": None}
    r = page.evaluate("([a]) => window.c11harness.call('verifyTemporaryKeyLookup', a)", [args])
    assert r["ok"] and r["result"]["fingerprint"] == temp.fingerprint, r
    forged = {**args, "answer": {**answer, "public_key": log.keys["eve@example.com"]}}
    r = page.evaluate("([a]) => window.c11harness.call('verifyTemporaryKeyLookup', a)", [forged])
    assert not r["ok"] and r["error"] == "ProofError"
    me = page.evaluate(
        "() => window.c11harness.call('generateKey', {label: 'carol@example.com', kem: 'mlkem768x25519'})"
    )
    mine = PublicKey.parse(me["result"]["publicLine"])
    info = b"c11/v1 temporary key release\x00" + email_hash("carol@example.com").encode() + mine.key_id
    sealed = kem_type(mine.kem).seal(mine.enc, temp.enc_seed + temp.sig_seed, info)
    claim = {
        "email": "carol@example.com",
        "sealed": base64.b64encode(sealed).decode(),
        "public_key": temp.public.line(),
    }
    r = page.evaluate(
        "([a]) => window.c11harness.call('claimTemporaryKey', a)", [{"answer": claim, "me": me["result"]["handle"]}]
    )
    assert r["ok"] and r["result"]["fingerprint"] == temp.fingerprint, r
    wrong = {**claim, "public_key": Identity.generate("x").public.line()}
    r = page.evaluate(
        "([a]) => window.c11harness.call('claimTemporaryKey', a)", [{"answer": wrong, "me": me["result"]["handle"]}]
    )
    assert not r["ok"] and r["error"] == "IntegrityError"
