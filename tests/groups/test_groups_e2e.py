"""Groups as recipients on a real server (SQLite and PostgreSQL), through the CLI and the SDK: every member
opens what is sent to the group, a member added later opens older content once the key's custodian (the admin
who made it) or a group admin wraps it, a removed
member cannot open new content after the rotation, a non-member never can; admin actions are logged."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from grpkit import Person, admin_actions, fails, make_org, ok, person
from srvkit import authed

from c11 import files
from c11.errors import AuthError, NoMatchingKeyError, UsageError


@pytest.fixture(scope="module")
def team(grp_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("team")
    people = {t: person(grp_server, root, t) for t in ("alice", "bob", "carol", "dave", "erin", "mallory")}
    org_id = make_org(
        grp_server, f"ACME {root.name}", people["alice"], [people[t] for t in ("bob", "carol", "dave", "erin")]
    )
    return people, org_id, root


def _plain(root: Path, name: str, text: str) -> Path:
    p = root / name
    p.write_text(text)
    return p


def _opens(p: Person, file: Path, expected: str, out: Path) -> None:
    ok(p.run("decrypt", "-o", str(out), "--force", str(file)))
    assert out.read_text() == expected


def test_group_recipients_lifecycle(team, grp_server):
    people, org_id, root = team
    alice, bob, carol, dave, erin, mallory = (people[t] for t in ("alice", "bob", "carol", "dave", "erin", "mallory"))
    # the admin (not in the group herself) creates it; the key is made on her device and wrapped to members
    r = ok(alice.run("org", "groups", "create", "finance", "-m", bob.email, "-m", carol.email, "-m", erin.email))
    assert "finance: 3 member(s), key v1" in r.stdout
    shown = ok(bob.run("org", "groups", "show", "finance", "--json")).stdout
    assert '"has_key": true' in shown and '"version": 1' in shown

    # a file to the group: one ordinary recipient stanza for the group key; every member opens it
    before = _plain(root, "before.txt", "sent to finance before dave joined")
    ok(alice.run("encrypt", "-r", "group:finance", "-o", str(root / "before.c11"), str(before)))
    group_fp = alice.client().groups.group_key("finance").fingerprint
    assert group_fp in [x["fingerprint"] for x in files.inspect(root / "before.c11").recipients]
    for who in (bob, carol, erin):
        _opens(who, root / "before.c11", before.read_text(), root / f"out-{who.email}")

    # not in the group (dave, in the org) or not in the organization (mallory): no key, no wraps, no file
    fails(dave.run("decrypt", "-o", str(root / "x"), str(root / "before.c11")))
    r = fails(mallory.run("decrypt", "-o", str(root / "x"), str(root / "before.c11")))
    assert "none of your keys" in r.stderr
    with mallory.client() as c, pytest.raises(AuthError):
        c.groups.group_key("finance")
    fails(mallory.run("encrypt", "-r", "group:finance", "-o", str(root / "m.c11"), str(before)))

    # dave is added later by the admin, not in the group: she keeps custody of the key she made, so her
    # client wraps it for him at once; members cannot wrap (nothing pending for them)
    r = ok(alice.run("org", "groups", "add", "finance", dave.email))
    assert f"wrapped finance key v1 for {dave.email}" in r.stderr and "waits" not in r.stderr
    with bob.client() as c:
        assert c._core.request("GET", "/api/v1/org/group-pending")["wraps"] == []
    _opens(dave, root / "before.c11", before.read_text(), root / "out-dave")  # no re-encryption of the file
    assert "nothing to do" in ok(carol.run("org", "groups", "sync")).stderr
    with alice.client() as c:
        assert c.groups.get("finance").key_holders == [alice.email]
        with pytest.raises(UsageError):
            c.groups.open_group_identity("finance", alice.identity())  # custody is not membership

    # carol leaves: her wraps go and the key rotates at once; new content is for the new key only
    r = ok(alice.run("org", "groups", "remove", "finance", carol.email))
    assert "rotated the key of finance" in r.stderr
    new_fp = alice.client().groups.group_key("finance").fingerprint
    assert new_fp != group_fp
    after = _plain(root, "after.txt", "sent to finance after carol left")
    ok(bob.run("encrypt", "-r", "group:finance", "-o", str(root / "after.c11"), str(after)))
    for who in (dave, erin):
        _opens(who, root / "after.c11", after.read_text(), root / f"after-{who.email}")
    fails(carol.run("decrypt", "-o", str(root / "x"), str(root / "after.c11")))
    # members keep opening older content with the older version (each holds every version's wrap)
    _opens(erin, root / "before.c11", before.read_text(), root / "old-erin")
    with carol.client() as c:
        assert c.groups.wraps()["wraps"] == []  # the server no longer gives her any version

    assert {"group.create", "group.member.add", "group.key.create", "group.member.remove", "group.key.rotate"} <= set(
        admin_actions(grp_server, org_id)
    )


def test_group_sdk_and_member_added_by_scim_like_path(team, grp_server):
    """SDK: create with a key, a member added without wrapping (like SCIM) gets every version at sync;
    open_group_identity gives the group identity in memory; stale and foreign wraps are refused."""
    people, org_id, root = team
    alice, bob, dave, mallory = people["alice"], people["bob"], people["dave"], people["mallory"]
    me = alice.identity()
    with alice.client() as admin:
        g = admin.groups.create("ops", [bob.email], identity=me)
        assert g.key is not None and g.key.version == 1 and g.members[0]["has_key"]
        v1 = admin.groups.group_key("ops")
        blob = files.encrypt_bytes(b"ops v1", [v1], me, include_sender=False)
        admin.groups.rotate_key("ops", me)
        v2 = admin.groups.group_key("ops")
        blob2 = files.encrypt_bytes(b"ops v2", [v2], me, include_sender=False)
        admin.groups.add_members("ops", [dave.email])  # no identity: nobody wraps yet (as for SCIM adds)
        assert admin.groups.get("ops").pending_wraps == 2  # both versions, for dave
        assert [w["reason"] for w in admin.groups.get("ops").waiting] == ["not-wrapped"]
        with pytest.raises(UsageError):
            admin.groups.open_group_identity("ops", me)  # she is not in the group: only custody wraps
    with bob.client() as c:  # a member holding both versions may not wrap them
        assert c.groups.sync(bob.identity()).wrapped == []
    with alice.client() as admin:  # the creator (custodian of both versions) does
        report = admin.groups.sync(me)
        assert sorted((g, v, e) for g, v, e in report.wrapped) == [("ops", 1, dave.email), ("ops", 2, dave.email)]
    with bob.client() as c:
        ident = c.groups.open_group_identity("ops", bob.identity())
        assert ident.public == v2 and ident.label == "group:ops"
        old = c.groups.open_group_identity("ops", bob.identity(), version=1)
        assert old.public == v1
    with dave.client() as c:
        ids = c.groups.identities_for([v1.key_id, v2.key_id], dave.identity())
        assert files.decrypt_bytes(blob, ids).plaintext == b"ops v1"
        assert files.decrypt_bytes(blob2, ids).plaintext == b"ops v2"
        with pytest.raises(UsageError):
            c.groups.open_group_identity("ops", dave.identity(), version=7)
    # a non-member's identity cannot open a member's wrap, and a mallory client is refused the wraps
    with bob.client() as c:
        wrap = c.groups.wraps("ops")["wraps"][0]
    from c11 import groupkey

    with pytest.raises(NoMatchingKeyError):
        groupkey.unwrap(wrap["wrapped"], groupkey.GroupKeyRef(org_id, "ops", wrap["version"]), [mallory.identity()])
    with mallory.client() as c, pytest.raises(AuthError):
        c.groups.wraps()


def test_group_routes_refuse(team, grp_server):
    """Permissions and checks: members cannot administer groups, wraps must be to the member's key."""
    people, org_id, root = team
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    with bob.client() as c:
        token = c.token
    h = authed(grp_server, token)
    r = h.post("/api/v1/org/groups", json={"name": "bobs"})
    assert r.status_code == 403 and r.json()["permission"] == "crud:groups-org"
    assert h.put("/api/v1/org/groups/finance/key", json={"public_key": "c11:x", "wraps": []}).status_code == 403
    assert h.post("/api/v1/org/groups/finance/members", json={"emails": [carol.email]}).status_code == 403
    assert h.get("/api/v1/org/groups/nope/key").status_code == 404
    # a wrap encrypted to another key than the member's registry key is refused
    from c11 import groupkey

    with alice.client() as admin:
        admin.groups.create("legal", [bob.email])  # no key yet: admin sync makes it
        assert admin.groups.get("legal").key is None
        fails_key = h.get("/api/v1/org/groups/legal/key")
        assert fails_key.status_code == 404 and fails_key.json()["type"].endswith("no-group-key")
        report = admin.groups.sync(alice.identity())
        assert "legal" in report.created
        ident = groupkey.generate("legal")
        bad = groupkey.wrap(ident, groupkey.GroupKeyRef(org_id, "legal", 1), carol.identity().public, alice.identity())
    r = authed(grp_server, token).post(
        "/api/v1/org/groups/legal/wraps", json={"wraps": [{"email": bob.email, "version": 1, "wrapped": bad}]}
    )
    assert r.status_code == 403 and r.json()["type"].endswith("not-an-authorized-wrapper")  # bob: a member
    with alice.client() as admin:
        ha = authed(grp_server, admin.token)
        r = ha.post(
            "/api/v1/org/groups/legal/wraps", json={"wraps": [{"email": bob.email, "version": 1, "wrapped": bad}]}
        )
        assert r.status_code == 422 and r.json()["type"].endswith("bad-wrap")
        r = ha.post(
            "/api/v1/org/groups/legal/wraps",
            json={"wraps": [{"email": bob.email, "version": 1, "wrapped": "bm90IGEgZmlsZQ=="}]},
        )
        assert r.status_code == 422
    r = h.post("/api/v1/org/groups", json={"name": "a/b"})
    assert r.status_code == 403  # permission is checked before the body
    with alice.client() as admin:
        with pytest.raises(Exception) as e:
            admin.groups.create("a/b")
        assert getattr(e.value, "status", None) == 422
    assert httpx.get(f"{grp_server.url}/api/v1/org/groups").status_code == 401
