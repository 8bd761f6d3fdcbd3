"""The public log names nobody by a guessable email hash (issue 12 items 9 and 12), on SQLite and PostgreSQL.

An attacker who knows alice's address reads every entry through the public API and finds her only in
registry key entries (which must stay verifiable by anyone asking about her). Alice gets the openings of
the entries about her and verifies each (inclusion proof, commitment); her organization's admin gets
them too; another user does not. A release to a recipient named by key fingerprint is attributed to the
key holder, never to the account that asked.
"""

from __future__ import annotations

import io
import json
import uuid

import httpx
import pytest
from evkit import Person, make_org, verified

from c11 import files, online
from c11.errors import AccessRefusedError, AuthError
from c11.format import online as fmt
from c11.format.header import read_header
from c11.log.entries import email_hash


def _online(author: Person, recipients: list[tuple[str | None, object]]) -> bytes:
    seal = online.prepare(author.client, author.identity, recipients)
    out = io.BytesIO()
    keys = [k for _, k in recipients] + [author.identity.public]
    files.encrypt(io.BytesIO(b"board minutes"), out, keys, author.identity, options=seal.options())
    return out.getvalue()


def _doc(blob: bytes) -> str:
    return str(uuid.UUID(bytes=read_header(io.BytesIO(blob))[0].doc_id))


def _stanza(blob: bytes):  # type: ignore[no-untyped-def]
    return fmt.find_stanza(read_header(io.BytesIO(blob))[0])


@pytest.fixture(scope="module")
def scene(ev_server, tmp_path_factory):
    """alice (member of an organization whose admin is `admin`), bob (author, no organization), carol (another
    user); bob shares a document with alice by email and one with alice's key by fingerprint only."""
    tmp = tmp_path_factory.mktemp("privacy")
    p = {n: verified(ev_server, n, tmp) for n in ("alice", "bob", "carol", "admin")}
    make_org(ev_server, f"P-{uuid.uuid4().hex[:6]}", p["admin"].email, [p["alice"].email])
    alice, bob, carol = p["alice"], p["bob"], p["carol"]
    alice.client.registry.publish(alice.identity)  # a registry key entry: stays verifiable by email
    by_email = _online(bob, [(alice.email, alice.identity.public)])
    with online.releasing(alice.client) as release:
        assert files.decrypt_bytes(by_email, [alice.identity, release]).plaintext == b"board minutes"  # release
    own = _online(alice, [(bob.email, bob.identity.public)])  # policy register (alice is the author)
    alice.client.policies.record([{"email": bob.email}])  # encrypt entry (usage)
    alice.client.keyserver.revoke(_doc(own))  # policy revoke
    # item 12: a recipient named by key fingerprint only (alice's key); carol's account asks with that key
    by_key = _online(bob, [(None, alice.identity.public)])
    assert carol.client.keyserver.release(_stanza(by_key), alice.identity)  # allowed: the key is a recipient
    with pytest.raises(AccessRefusedError):  # carol with her own key: refused, and that is carol's attempt
        carol.client.keyserver.release(_stanza(by_key), carol.identity)
    yield {"p": p, "by_key": _doc(by_key), "by_email": _doc(by_email)}
    for person in p.values():
        person.client.close()


def _public_log(server) -> list[tuple[int, str]]:
    """Every entry, as an anonymous reader of the public API gets it."""
    out: list[tuple[int, str]] = []
    with httpx.Client(base_url=server.url, timeout=30) as h:
        size = h.get("/api/v1/log/entries", params={"start": 0, "end": 0}).json()["tree_size"]
        while len(out) < size:
            page = h.get("/api/v1/log/entries", params={"start": len(out), "end": min(size, len(out) + 1000)})
            out += [(e["index"], e["data"]) for e in page.json()["entries"]]
    return out


def test_attacker_knowing_the_address_finds_only_registry_entries(ev_server, scene):
    alice = scene["p"]["alice"]
    needles = (email_hash(alice.email), alice.identity.fingerprint, alice.email)
    log = _public_log(ev_server)
    hits = {i: json.loads(d)["kind"] for i, d in log for n in needles if n in d}
    assert set(hits.values()) == {"key"}  # her registry entry, and nothing else
    # her release, policy and encrypt entries are there, but say nothing the attacker can match
    mine = alice.client.log.openings(alice.email)
    assert {o.kind for o in mine} >= {"release", "policy", "encrypt"}
    text = dict(log)
    for o in mine:
        assert text[o.index] == o.entry and o.index not in hits and json.loads(o.entry)["v"] == 2


def test_alice_verifies_her_entries_the_admin_his_members_nobody_else(ev_server, scene):
    p = scene["p"]
    alice, carol, admin = p["alice"], p["carol"], p["admin"]
    mine = alice.client.log.openings(alice.email)  # each checked: inclusion proof + commitment
    assert mine and {o.person for o in mine} == {email_hash(alice.email)}
    release = [o for o in mine if o.kind == "release"]
    assert [(o.fields["doc"], o.fields["by"], o.fields["key"]) for o in release] == [
        (scene["by_email"], "account", alice.identity.fingerprint)
    ]
    members = admin.client.log.openings(org=True)
    assert {o.index for o in mine} <= {o.index for o in members}
    assert {o.person for o in members} <= {email_hash(alice.email), email_hash(admin.email)}
    theirs = carol.client.log.openings(carol.email)
    assert not {o.index for o in theirs} & {o.index for o in mine}
    with pytest.raises(AuthError) as e:
        carol.client.log.openings(org=True)
    assert e.value.status == 403
    assert httpx.get(f"{ev_server.url}/api/v1/log/openings").status_code == 401


def test_release_by_key_is_attributed_to_the_key_holder_not_the_account_that_asked(ev_server, scene):
    p = scene["p"]
    alice, bob, carol = p["alice"], p["bob"], p["carol"]
    accesses = bob.client.keyserver.accesses(scene["by_key"])  # verified against entries and openings
    assert [(a.result, a.by, a.email) for a in accesses] == [
        ("allowed", "key-holder", None),
        ("denied", "account", carol.email),
    ]
    allowed = accesses[0]
    assert carol.email not in json.dumps(allowed.to_dict()) and email_hash(carol.email) not in allowed.entry
    # nobody's opening names it: not carol's (she did not open it as herself), not anyone's by guess
    assert allowed.index not in {o.index for o in carol.client.log.openings(carol.email)}
    assert allowed.index not in {o.index for o in alice.client.log.openings(alice.email)}
    # a forged record naming carol as the reader does not verify against the entry
    check = bob.client.log.checkpoint()
    d = bob.client._core.request("GET", f"/api/v1/documents/{scene['by_key']}/accesses")
    item = d["accesses"][0]
    with pytest.raises(Exception, match="does not match"):
        bob.client.keyserver._verify_access(scene["by_key"], {**item, "email": carol.email}, check)


def test_cli_log_mine_lists_verified_entries(ev_server, scene, tmp_path):
    from srvkit import run_cli

    p = scene["p"]
    alice, carol = p["alice"], p["carol"]
    env = {"C11_SERVER": ev_server.url}
    r = run_cli(["log", "mine", "--json"], tmp_path / "a", {**env, "C11_TOKEN": alice.token})
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert {g["kind"] for g in got} >= {"release", "policy", "encrypt"}
    assert {g["person"] for g in got} == {email_hash(alice.email)}
    r = run_cli(["log", "mine"], tmp_path / "a", {**env, "C11_TOKEN": alice.token})
    assert r.returncode == 0 and "release" in r.stdout and "proven in the log" in r.stderr
    r = run_cli(["log", "mine", "--org"], tmp_path / "c", {**env, "C11_TOKEN": carol.token})
    assert r.returncode != 0 and "Traceback" not in r.stderr and "read:events-org" in r.stderr
    r = run_cli(["log", "mine", "--org", "--json"], tmp_path / "d", {**env, "C11_TOKEN": p["admin"].token})
    assert r.returncode == 0, r.stderr
    assert {g["index"] for g in got} <= {g["index"] for g in json.loads(r.stdout)}


def test_v1_entries_written_before_stay_verifiable(ev_server, scene):
    """An access logged in the v1 form (before migration 0090) is still checked against its entry."""
    import hashlib
    import os

    from evkit import database, server_ctx

    from c11.server.db import utcnow
    from c11.server.keyserver.models import OnlineAccess
    from c11.server.logsrv.service import append

    p = scene["p"]
    bob, carol = p["bob"], p["carol"]
    doc, salt = scene["by_email"], os.urandom(16)
    index = append(
        server_ctx(ev_server),
        "release",
        {
            "doc": doc,
            "result": "denied",
            "who": email_hash(carol.email),
            "key": carol.identity.fingerprint,
            "from": hashlib.sha256(salt + b"10.0.0.9").hexdigest(),
        },
        subject=doc,
    )
    with database(ev_server) as db, db.session() as s:
        s.add(
            OnlineAccess(
                log_index=index,
                doc_id=doc,
                user_id=None,
                email=carol.email,
                key_fp=carol.identity.fingerprint,
                result="denied",
                address="10.0.0.9",
                salt=salt.hex(),
                at=utcnow(),
            )
        )
    got = {a.index: a for a in bob.client.keyserver.accesses(doc)}
    assert got[index].email == carol.email and got[index].by == "account" and "v" not in json.loads(got[index].entry)
    assert any(json.loads(a.entry).get("v") == 2 for a in got.values())  # alice's release, v2


def test_admin_gets_openings_only_from_consent_not_from_invitation(ev_server, scene, tmp_path):
    """dave, invited by an admin (no verified domain covers him), acts before accepting: those entries stay
    his alone; after he accepts, the admin gets the openings of his new entries (issue 12: consent time)."""
    admin2, dave = verified(ev_server, "admin2", tmp_path), verified(ev_server, "dave", tmp_path)
    bob = scene["p"]["bob"]
    make_org(ev_server, f"C-{uuid.uuid4().hex[:6]}", admin2.email)
    try:
        assert [a.result for a in admin2.client.org.add_members([dave.email])] == ["invited-to-join"]
        dave.client.policies.record([{"email": bob.email}])  # an entry between invitation and acceptance
        before = {o.index for o in dave.client.log.openings(dave.email) if o.kind != "admin"}  # his own acts
        assert before and not before & {o.index for o in admin2.client.log.openings(org=True)}
        (inv,) = dave.client.org.join_invitations()
        dave.client.org.accept(inv["org_id"], [k["fingerprint"] for k in inv["recovery_keys"]])
        dave.client.policies.record([{"email": bob.email}])  # after acceptance
        after = {o.index for o in dave.client.log.openings(dave.email) if o.kind != "admin"} - before
        seen = {o.index: o for o in admin2.client.log.openings(org=True)}  # each verified by the client
        assert after and after <= set(seen) and not before & set(seen)
        assert {seen[i].person for i in after} == {email_hash(dave.email)}
    finally:
        admin2.client.close()
        dave.client.close()


def test_admin_entries_name_nobody_publicly_and_open_for_admins_and_the_person(ev_server, scene, tmp_path):
    """member.invite / accept / decline (and every other `admin` entry) are v2: the acting admin and the
    member acted on are in the opening, not in the public entry, so guessing an address links nothing."""
    admin3, erin, fay = (verified(ev_server, t, tmp_path) for t in ("admin3", "erin", "fay"))
    org = make_org(ev_server, f"A-{uuid.uuid4().hex[:6]}", admin3.email)
    try:
        assert {a.result for a in admin3.client.org.add_members([erin.email, fay.email])} == {"invited-to-join"}
        (inv,) = erin.client.org.join_invitations()
        erin.client.org.accept(inv["org_id"], [k["fingerprint"] for k in inv["recovery_keys"]])
        fay.client.org.decline(org)
        ours = [(i, json.loads(d)) for i, d in _public_log(ev_server)]
        ours = [(i, d) for i, d in ours if d["kind"] == "admin" and d.get("org") == org]
        assert {d["action"] for _, d in ours} == {"member.invite", "member.accept", "member.decline"}
        needles = [email_hash(p.email) for p in (admin3, erin, fay)] + [p.email for p in (admin3, erin, fay)]
        for _, d in ours:  # public: action, org, time, the commitment; nobody's hash
            assert d["v"] == 2 and set(d) == {"action", "actor", "kind", "org", "time", "v"}
            assert not any(n in json.dumps(d) for n in needles)
        seen = {o.index: o for o in admin3.client.log.openings(org=True) if o.kind == "admin"}
        assert {i for i, _ in ours} <= set(seen)  # the admin opens them all, each verified
        got = sorted((seen[i].fields["action"], seen[i].person, seen[i].fields["by"]) for i, _ in ours)
        h = email_hash
        assert got == sorted(
            [
                ("member.invite", h(erin.email), h(admin3.email)),
                ("member.invite", h(fay.email), h(admin3.email)),
                ("member.accept", h(erin.email), h(erin.email)),
                ("member.decline", h(fay.email), h(fay.email)),
            ]
        )
        assert {o.fields["action"] for o in erin.client.log.openings(erin.email) if o.kind == "admin"} == {
            "member.invite",
            "member.accept",
        }  # the person opens the entries about them
        assert not {i for i, _ in ours} & {
            o.index for o in scene["p"]["carol"].client.log.openings(scene["p"]["carol"].email)
        }
    finally:
        for p in (admin3, erin, fay):
            p.client.close()
