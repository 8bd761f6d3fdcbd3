"""The organization's policy is log-backed (docs/organizations.md, "The signed policy"): a server that drops a
recovery key, forges the proof or the entry, or serves an older policy than the device saw is refused by the
SDK and by `c11 encrypt` (one line, nothing written); an honest answer is applied and cached with its proof.

The attacker is a proxy in front of the real server that rewrites `GET /api/v1/org` answers (the server
operator or anyone on the path); everything else passes through unchanged."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from grpkit import Attacker, db_session, fails, make_org, ok, person
from srvkit import run_cli

from c11 import files
from c11.client import Client
from c11.client.org_policy import OrgPolicyStore, own_policy
from c11.errors import ProofError
from c11.log.entries import canonical_json, org_policy_digest

Mutation = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]


@pytest.fixture(scope="module")
def world(grp_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("orgpolicylog")
    alice, bob = person(grp_server, root, "alice"), person(grp_server, root, "bob")
    name = f"Logco-{root.name[-6:]}"
    org_id = make_org(grp_server, name, alice, [bob])
    rec1 = root / "rec1.key"
    ok(alice.run("org", "recovery-key", "create", "-o", str(rec1), "--no-passphrase"))
    attacker = Attacker(grp_server.url, "/api/v1/org".__eq__)
    cfg = root / "bob-via-attacker"
    shutil.copytree(bob.cfg / "keys", cfg / "keys")
    token = json.loads((bob.cfg / "credentials.json").read_text())["token"]
    plain = root / "plain.txt"
    plain.write_text("quarterly numbers")
    yield {"alice": alice, "bob": bob, "name": name, "rec1": rec1, "attacker": attacker, "cfg": cfg,
           "token": token, "plain": plain, "root": root, "org_id": org_id}  # fmt: skip
    attacker.close()


def _client(w: dict[str, Any]) -> Client:
    c = Client(w["attacker"].url, w["token"], timeout=30)
    c.state_dir = w["cfg"]
    return c


def _own(w: dict[str, Any]) -> Any:
    with _client(w) as c:
        return own_policy(c, OrgPolicyStore(w["cfg"]), None)


def _encrypt(w: dict[str, Any], out: str) -> Any:
    env = {"C11_SERVER": w["attacker"].url, "C11_TOKEN": w["token"]}
    key_line = json.loads(w["bob"].key_path().read_text())["public"]
    return run_cli(["encrypt", "-r", key_line, "-o", str(w["root"] / out), str(w["plain"])], w["cfg"], env)


def _fp(key_file: Any) -> str:
    return json.loads(key_file.read_text())["fingerprint"]


def _refused(w: dict[str, Any], mutate: Mutation, out: str, words: str) -> None:
    """The SDK raises ProofError (`words` in it) and `c11 encrypt` exits non-zero with one line, no file."""
    w["attacker"].mutate = mutate
    try:
        with pytest.raises(ProofError) as e:
            _own(w)
        assert words in str(e.value), str(e.value)
        r = fails(_encrypt(w, out))
        assert len(r.stderr.strip().splitlines()) == 1 and words in r.stderr, r.stderr
        assert not (w["root"] / out).exists()
    finally:
        w["attacker"].mutate = None


def _drop_keys(d: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    doc = json.loads(d["policy"]["document"])
    doc["recovery_keys"] = []
    return 200, {**d, "recovery_keys": [], "policy": {**d["policy"], "document": canonical_json(doc)}}


def _drop_keys_and_entry(d: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    _, d2 = _drop_keys(d)
    entry = json.loads(d2["policy"]["entry"])
    entry["digest"] = org_policy_digest(d2["policy"]["document"])
    return 200, {**d2, "policy": {**d2["policy"], "entry": canonical_json(entry)}}


def _forge_proof(d: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    proof = list(d["policy"]["inclusion_proof"])
    proof[0] = base64.b64encode(bytes(32)).decode()
    return 200, {**d, "policy": {**d["policy"], "inclusion_proof": proof}}


def test_an_honest_answer_is_applied_and_cached_with_its_proof(world):
    got = _own(world)
    assert got.policy is not None and got.policy.name == world["name"] and got.seq is not None
    assert _fp(world["rec1"]) in {k.fingerprint for k in got.policy.recovery_keys}
    cached = json.loads(OrgPolicyStore(world["cfg"]).path(world["attacker"].url).read_text())
    assert set(cached["policy"]) == {"document", "entry", "log_index", "inclusion_proof", "checkpoint"}
    r = ok(_encrypt(world, "honest.c11"))
    assert f"added recovery key of {world['name']}" in r.stderr
    assert _fp(world["rec1"]) in {x["fingerprint"] for x in files.inspect(world["root"] / "honest.c11").recipients}


def test_a_dropped_recovery_key_or_forged_proof_is_refused(world):
    _own(world)
    _refused(world, _drop_keys, "drop.c11", "differs from the one its log entry commits to")
    _refused(world, _drop_keys_and_entry, "entry.c11", "does not verify")
    _refused(world, _forge_proof, "proof.c11", "does not verify")


def test_an_older_policy_is_refused_once_the_newer_was_seen(world, grp_server):
    old = _own(world)
    with _client(world) as c:
        before = c.groups.recovery.org_answer()
    assert before is not None
    rec2 = world["root"] / "rec2.key"
    ok(world["alice"].run("org", "recovery-key", "create", "--name", "second", "-o", str(rec2), "--no-passphrase"))
    new = _own(world)  # the device sees the newer policy (and both keys)
    assert new.seq is not None and old.seq is not None and new.seq > old.seq
    assert {_fp(world["rec1"]), _fp(rec2)} <= {k.fingerprint for k in new.policy.recovery_keys}

    def serve_old(d: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The old, genuine entry, proven in today's genuine checkpoint: only the number tells it is stale."""
        p = d["policy"]
        index = before["policy"]["log_index"]
        proof = httpx.get(
            f"{grp_server.url}/api/v1/log/proof/inclusion", params={"index": index, "size": p["tree_size"]}
        ).json()["proof"]
        keep = {k: v for k, v in p.items() if k not in ("document", "entry", "log_index", "inclusion_proof")}
        old_p = before["policy"]
        return 200, {**before, "policy": {**keep, "document": old_p["document"], "entry": old_p["entry"],
                                          "log_index": index, "inclusion_proof": proof}}  # fmt: skip

    _refused(world, serve_old, "old.c11", "rolled back")


def test_not_a_member_after_membership_is_a_warning(world):
    _own(world)

    def not_member(d: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 403, {"type": "urn:c11:problem:not-a-member", "title": "Forbidden", "status": 403}

    world["attacker"].mutate = not_member
    try:
        r = ok(_encrypt(world, "left.c11"))
        assert f"no longer a member of {world['name']}" in r.stderr
    finally:
        world["attacker"].mutate = None


def _policy_entries(server: Any, org_id: str) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from c11.log.entries import ORG_POLICY_KIND
    from c11.server.logsrv.models import LogEntry

    db = db_session(server)
    try:
        with db.session() as s:
            q = select(LogEntry.data).where(LogEntry.kind == ORG_POLICY_KIND, LogEntry.subject == org_id)
            return [json.loads(d) for d in s.scalars(q.order_by(LogEntry.idx))]
    finally:
        db.dispose()


def test_each_change_clients_apply_appends_one_numbered_entry(world, grp_server):
    _own(world)
    before = _policy_entries(grp_server, world["org_id"])
    assert [e["seq"] for e in before] == list(range(1, len(before) + 1))  # 1, 2, ... with no gap
    with world["alice"].client() as a:
        a.org.set_policies({"allow_member_listing": True})  # not something clients apply: no entry
        assert _policy_entries(grp_server, world["org_id"]) == before
        a.org.set_policies({"require_online": True})
        after = _policy_entries(grp_server, world["org_id"])
        assert len(after) == len(before) + 1 and after[-1]["seq"] == before[-1]["seq"] + 1
        got = _own(world)
        assert got.policy.require_online and got.seq == after[-1]["seq"]
        a.org.set_policies({"require_online": False, "allow_member_listing": False})
    assert _policy_entries(grp_server, world["org_id"])[-1]["seq"] == after[-1]["seq"] + 1
