"""Organization encryption policies end to end (PostgreSQL), through the CLI: an admin adds one naming a member
and a group, a member without the permission is refused, another member encrypts with `--policy NAME` and the
recipients open the file; a member's own saved policy of the same name wins (`org:NAME` picks the
organization's); the server operator editing the stored list changes only what the sender is shown
(each recipient is still resolved with registry proofs), never whose key is used without the sender seeing it."""

from __future__ import annotations

import json

from grpkit import admin_actions, db_session, fails, make_org, ok, person

from c11 import files


def test_policy_from_admin_to_member_encryption(grp_server, tmp_path):
    people = {t: person(grp_server, tmp_path, t) for t in ("alice", "bob", "carol", "dave", "mallory")}
    alice, bob, carol, dave, mallory = people.values()
    org_id = make_org(grp_server, f"Policy Org {tmp_path.name}", alice, [bob, carol, dave])
    ok(alice.run("org", "groups", "create", "finance", "-m", carol.email))
    r = ok(alice.run("org", "encryption-policies", "add", "Board", "-e", bob.email, "-g", "Finance", "-d", "papers"))
    assert "added encryption policy 'Board'" in r.stdout and "group:finance" in r.stdout
    # a member without crud:config-org: one clear line, no traceback
    r = fails(dave.run("org", "encryption-policies", "add", "Mine", "-e", dave.email))
    assert "crud:config-org" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    listed = json.loads(ok(dave.run("org", "encryption-policies", "list", "--json")).stdout)
    assert [(p["name"], p["recipients"]) for p in listed] == [("Board", [bob.email, "group:finance"])]

    plain = tmp_path / "minutes.txt"
    plain.write_text("board minutes")
    out = tmp_path / "minutes.c11"
    r = ok(dave.run("encrypt", "--policy", "board", "-o", str(out), str(plain)))
    assert f"organization encryption policy 'Board': {bob.email}, group:finance" in r.stderr  # the sender sees it
    fps = {x["fingerprint"] for x in files.inspect(out).recipients}
    assert dave.client().groups.group_key("finance").fingerprint in fps
    assert bob.client().lookup(bob.email).fingerprint in fps
    for who in (bob, carol, dave):
        ok(who.run("decrypt", "-o", str(tmp_path / f"out-{who.email}"), str(out)))
        assert (tmp_path / f"out-{who.email}").read_text() == "board minutes"
    assert "none of your keys" in fails(mallory.run("decrypt", "-o", str(tmp_path / "x"), str(out))).stderr

    # an admin cannot shadow a member's own policy: your saved policy (by name or ID) wins over an organization
    # policy of the same name; `org:NAME` always means the organization's; an unknown one is one clear line
    mine = dave.client().policies.record([{"email": carol.email}], name="board")
    carol_fp, bob_fp = carol.client().lookup(carol.email).fingerprint, bob.client().lookup(bob.email).fingerprint
    for value in ("Board", mine.id):
        own = tmp_path / f"own-{value}.c11"
        r = ok(dave.run("encrypt", "--policy", value, "-o", str(own), str(plain)))
        assert "organization encryption policy" not in r.stderr
        fps = {x["fingerprint"] for x in files.inspect(own).recipients}
        assert carol_fp in fps and bob_fp not in fps
    r = ok(dave.run("encrypt", "--policy", "org:board", "-o", str(tmp_path / "org.c11"), str(plain)))
    assert f"organization encryption policy 'Board': {bob.email}, group:finance" in r.stderr
    assert bob_fp in {x["fingerprint"] for x in files.inspect(tmp_path / "org.c11").recipients}
    r = fails(dave.run("encrypt", "--policy", "org:Nope", "-o", str(tmp_path / "nope.c11"), str(plain)))
    assert "no encryption policy 'Nope'" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    dave.client().policies.delete(mine.id)  # without one of yours, `--policy Board` is the organization's again

    # the operator rewrites the stored list: the sender is shown the new recipient before anything is written
    from c11.server.orgs.models import OrgEncryptionPolicy

    db = db_session(grp_server)
    try:
        with db.session() as s:
            row = s.query(OrgEncryptionPolicy).filter_by(org_id=org_id).one()
            row.emails = json.dumps([bob.email, mallory.email])
    finally:
        db.dispose()
    r = ok(dave.run("encrypt", "--policy", "Board", "-o", str(tmp_path / "m2.c11"), str(plain)))
    assert mallory.email in r.stderr.split("organization encryption policy 'Board':")[1].splitlines()[0]

    # edits and removal by the admin are logged; a removed policy is a clear error for members
    ok(alice.run("org", "encryption-policies", "edit", "Board", "--no-groups", "-e", carol.email))
    ok(alice.run("org", "encryption-policies", "remove", "Board"))
    assert [a for a in admin_actions(grp_server, org_id) if a.startswith("encpolicy.")] == [
        "encpolicy.add",
        "encpolicy.edit",
        "encpolicy.remove",
    ]
    r = fails(dave.run("encrypt", "--policy", "Board", "-o", str(tmp_path / "m3.c11"), str(plain)))
    assert "Traceback" not in r.stderr
