"""Group keys are log-backed (docs/organizations.md, "Group keys in the log"): a server that substitutes its own
key for a group's, forges the entry or the proof, drops the proof, or serves an older key version than the
device saw is refused by the SDK and by `c11 encrypt -r group:NAME` (one line, nothing written); an honest
answer is used. A key version set before the log entry existed gets one at its first lookup.

The attacker is a proxy in front of the real server that rewrites `GET /api/v1/org/groups/NAME/key` answers
(the server operator or anyone on the path); everything else passes through unchanged."""

from __future__ import annotations

import base64
import json
import re
import shutil
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from grpkit import Attacker, db_session, fails, make_org, ok, person
from srvkit import run_cli

from c11 import files, groupkey
from c11.client import Client
from c11.errors import ProofError
from c11.log.entries import GROUP_KEY_KIND, canonical_json, group_key_digest

Mutation = Callable[[dict[str, Any]], dict[str, Any]]
KEY_PATH = re.compile(r"^/api/v1/org/groups/[^/]+/key$")


@pytest.fixture(scope="module")
def world(grp_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("groupkeylog")
    alice, bob = person(grp_server, root, "alice"), person(grp_server, root, "bob")
    org_id = make_org(grp_server, f"Keylog-{root.name[-6:]}", alice, [bob])
    with alice.client() as a:
        a.groups.create("team", [bob.email], identity=alice.identity())
    attacker = Attacker(grp_server.url, KEY_PATH.match)
    cfg = root / "bob-via-attacker"
    shutil.copytree(bob.cfg / "keys", cfg / "keys")
    token = json.loads((bob.cfg / "credentials.json").read_text())["token"]
    plain = root / "plain.txt"
    plain.write_text("team notes")
    mallory = groupkey.generate("team")  # the server's own key pair
    yield {"alice": alice, "bob": bob, "attacker": attacker, "cfg": cfg, "token": token, "plain": plain,
           "root": root, "org_id": org_id, "mallory": mallory}  # fmt: skip
    attacker.close()


def _client(w: dict[str, Any]) -> Client:
    c = Client(w["attacker"].url, w["token"], timeout=30)
    c.state_dir = w["cfg"]
    return c


def _key(w: dict[str, Any]) -> groupkey.GroupKeyRecord:
    with _client(w) as c:
        return c.groups.proven_key("team")


def _encrypt(w: dict[str, Any], out: str) -> Any:
    env = {"C11_SERVER": w["attacker"].url, "C11_TOKEN": w["token"]}
    return run_cli(["encrypt", "-r", "group:team", "-o", str(w["root"] / out), str(w["plain"])], w["cfg"], env)


def _refused(w: dict[str, Any], mutate: Mutation, out: str, words: str) -> None:
    """The SDK raises ProofError (`words` in it) and `c11 encrypt` exits non-zero with one line, no file."""
    w["attacker"].mutate = mutate
    try:
        with pytest.raises(ProofError) as e:
            _key(w)
        assert words in str(e.value) and "group:team" in str(e.value), str(e.value)
        r = fails(_encrypt(w, out))
        assert len(r.stderr.strip().splitlines()) == 1 and words in r.stderr, r.stderr
        assert not (w["root"] / out).exists()
    finally:
        w["attacker"].mutate = None


def _substitute(w: dict[str, Any], *, entry: bool) -> Mutation:
    """The server's own key in the answer and in the record (and, with `entry`, an entry committing to it)."""

    def mutate(d: dict[str, Any]) -> dict[str, Any]:
        line = w["mallory"].public.line()
        record = json.loads(d["proof"]["record"])
        record["public_key"] = line
        proof = {**d["proof"], "record": canonical_json(record)}
        if entry:
            e = json.loads(proof["entry"])
            e["digest"] = group_key_digest(proof["record"])
            proof["entry"] = canonical_json(e)
        return {**d, "public_key": line, "fingerprint": w["mallory"].public.fingerprint, "proof": proof}

    return mutate


def _forge_proof(d: dict[str, Any]) -> dict[str, Any]:
    proof = list(d["proof"]["inclusion_proof"])
    proof[0] = base64.b64encode(bytes(32)).decode()
    return {**d, "proof": {**d["proof"], "inclusion_proof": proof}}


def _group_entries(server: Any, org_id: str) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from c11.server.logsrv.models import LogEntry

    db = db_session(server)
    try:
        with db.session() as s:
            q = select(LogEntry.data).where(LogEntry.kind == GROUP_KEY_KIND).order_by(LogEntry.idx)
            return [d for d in map(json.loads, s.scalars(q)) if d["org"] == org_id]
    finally:
        db.dispose()


def test_an_honest_answer_is_used(world, grp_server):
    rec = _key(world)
    with world["alice"].client() as a:
        g = a.groups.get("team")
    assert g.key is not None and rec.public_key == g.key.public_key and (rec.name, rec.version) == ("team", 1)
    assert [(e["group"], e["version"]) for e in _group_entries(grp_server, world["org_id"])] == [(g.id, 1)]
    ok(_encrypt(world, "honest.c11"))
    fps = {x["fingerprint"] for x in files.inspect(world["root"] / "honest.c11").recipients}
    assert g.key.fingerprint in fps


def test_a_substituted_key_a_forged_entry_or_proof_or_no_proof_is_refused(world):
    _refused(world, _substitute(world, entry=False), "subst.c11", "differs from the one its log entry commits to")
    _refused(world, _substitute(world, entry=True), "entry.c11", "does not verify")
    _refused(world, _forge_proof, "proof.c11", "does not verify")
    _refused(world, lambda d: {k: v for k, v in d.items() if k != "proof"}, "none.c11", "carries no log proof")


def test_an_older_key_is_refused_once_the_newer_was_seen(world, grp_server):
    _key(world)
    with _client(world) as c:
        before = c._core.request("GET", "/api/v1/org/groups/team/key")
    with world["alice"].client() as a:
        a.groups.rotate_key("team", world["alice"].identity())
    new = _key(world)
    assert new.version == before["version"] + 1
    assert [e["version"] for e in _group_entries(grp_server, world["org_id"])] == [1, 2]

    def serve_old(d: dict[str, Any]) -> dict[str, Any]:
        """The old, genuine entry, proven in today's genuine checkpoint: only the version tells it is stale."""
        p, old = d["proof"], before["proof"]
        proof = httpx.get(
            f"{grp_server.url}/api/v1/log/proof/inclusion", params={"index": old["log_index"], "size": p["tree_size"]}
        ).json()["proof"]
        keep = {k: v for k, v in p.items() if k not in ("record", "entry", "log_index", "inclusion_proof")}
        return {**before, "proof": {**keep, "record": old["record"], "entry": old["entry"],
                                    "log_index": old["log_index"], "inclusion_proof": proof}}  # fmt: skip

    _refused(world, serve_old, "old.c11", "rolled back")


def test_a_key_set_before_the_log_entry_gets_one_at_its_first_lookup(world, grp_server):
    from c11.server.groups.models import OrgGroupKey
    from c11.server.orgs.models import OrgGroup

    db = db_session(grp_server)
    legacy = groupkey.generate("legacy")
    try:
        with db.session() as s:
            g = OrgGroup(org_id=world["org_id"], name="legacy")
            s.add(g)
            s.flush()
            s.add(OrgGroupKey(group_id=g.id, version=1, public_key=legacy.public.line(),
                              fingerprint=legacy.public.fingerprint, rotation_due=False))  # fmt: skip
            gid = g.id
    finally:
        db.dispose()
    assert all(e["group"] != gid for e in _group_entries(grp_server, world["org_id"]))
    with _client(world) as c:
        assert c.groups.group_key("legacy") == legacy.public
        assert c.groups.group_key("legacy") == legacy.public  # the second lookup appends nothing
    assert [e["version"] for e in _group_entries(grp_server, world["org_id"]) if e["group"] == gid] == [1]
