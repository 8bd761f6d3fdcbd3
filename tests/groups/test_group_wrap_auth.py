"""Issue 12 item 8 and issue 11 item 2 on a real server (SQLite and PostgreSQL).

* A member holding a group key version cannot overwrite another member's wrap (the attack, reproduced): the
  server stores only wraps signed by an authorized wrapper's published key (a group admin, or the version's
  creator), and a recipient refuses a wrap whose signer is not who the server says wrapped it.
* The README's flow works: an admin not in the group runs `c11 org groups create hr` then `c11 org groups add
  hr BOB`; Bob opens files sent to `group:hr`. A member without a published key waits, and the CLI says why.
"""

from __future__ import annotations

import pytest
from grpkit import db_session, make_org, ok, person
from srvkit import authed

from c11 import files, groupkey
from c11.errors import FormatError


@pytest.fixture(scope="module")
def crew(grp_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("crew")
    people = {t: person(grp_server, root, t) for t in ("admin", "bob", "mel")}
    org_id = make_org(grp_server, f"Crew {root.name}", people["admin"], [people["bob"], people["mel"]])
    return people, org_id, root


def test_member_cannot_replace_a_wrap(crew, grp_server):
    people, org_id, _ = crew
    admin, bob, mel = people["admin"], people["bob"], people["mel"]
    with admin.client() as a:
        a.groups.create("vault", [bob.email, mel.email], identity=admin.identity())
    with mel.client() as m:
        group_key = m.groups.group_key("vault")
        mine = m.groups.open_group_identity("vault", mel.identity())  # mel holds v1
        # the attack: mel (a holder of v1) replaces bob's wrap with one she made and signed
        forged = groupkey.wrap(mine, groupkey.GroupKeyRef(org_id, "vault", 1), bob.identity().public, mel.identity())
        res = authed(grp_server, m.token).post(
            "/api/v1/org/groups/vault/wraps", json={"wraps": [{"email": bob.email, "version": 1, "wrapped": forged}]}
        )
        assert res.status_code == 403 and res.json()["type"].endswith("not-an-authorized-wrapper")
    # an admin may wrap, but only under her own signature: a wrap signed by someone else is refused
    with admin.client() as a:
        res = authed(grp_server, a.token).post(
            "/api/v1/org/groups/vault/wraps", json={"wraps": [{"email": bob.email, "version": 1, "wrapped": forged}]}
        )
        assert res.status_code == 422 and res.json()["type"].endswith("wrap-not-signed-by-you")
    with bob.client() as b:
        assert b.groups.open_group_identity("vault", bob.identity()).public == group_key

    # were such a wrap stored anyway (a tampered database), bob's client refuses it: signer is not the wrapper
    from sqlalchemy import select

    from c11.server.groups.models import OrgGroupKeyWrap
    from c11.server.orgs.models import OrgMember

    db = db_session(grp_server)
    try:
        with db.session() as s:
            bob_id = s.scalar(select(OrgMember.id).where(OrgMember.email == bob.email))
            row = s.scalar(select(OrgGroupKeyWrap).where(OrgGroupKeyWrap.member_id == bob_id))
            row.wrapped = forged
    finally:
        db.dispose()
    blob = files.encrypt_bytes(b"for the vault", [group_key], admin.identity(), include_sender=False)
    with bob.client() as b:
        with pytest.raises(FormatError, match="not signed by"):
            b.groups.open_group_identity("vault", bob.identity())
        assert b.groups.identities_for([group_key.key_id], bob.identity()) == []  # skipped, not used
    with admin.client() as a:  # a new version, wrapped and signed by the admin, reaches bob again
        a.groups.rotate_key("vault", admin.identity())
        new_key = a.groups.group_key("vault")
    with bob.client() as b:
        assert b.groups.open_group_identity("vault", bob.identity()).public == new_key
    assert files.decrypt_bytes(blob, [mine]).plaintext == b"for the vault"


def test_readme_group_flow(crew, grp_server, tmp_path):
    people, _, root = crew
    admin, bob = people["admin"], people["bob"]
    # exactly the README line: the admin is not in the group
    r = ok(admin.run("org", "groups", "create", "hr"))
    assert "hr: 0 member(s), key v1" in r.stdout
    r = ok(admin.run("org", "groups", "add", "hr", bob.email))
    assert f"wrapped hr key v1 for {bob.email}" in r.stderr and "waits" not in r.stderr
    assert "nothing to do" in ok(admin.run("org", "groups", "sync")).stderr
    plain = tmp_path / "pay.txt"
    plain.write_text("salaries")
    ok(admin.run("encrypt", "-r", "group:hr", "-o", str(tmp_path / "pay.c11"), str(plain)))
    ok(bob.run("decrypt", "-o", str(tmp_path / "out.txt"), str(tmp_path / "pay.c11")))
    assert (tmp_path / "out.txt").read_text() == "salaries"

    # someone without a published key waits, and the CLI says why and what completes it
    from srvkit import PASSWORD, confirm_email, new_email, outbox_message, verification_link

    from c11.client import Client
    from c11.server.orgs import service
    from c11.server.orgs.models import Organization

    late = new_email("late")
    with Client(grp_server.url) as c:
        c.signup(late, PASSWORD)
    assert confirm_email(verification_link(outbox_message(grp_server.data_dir, late))).status_code == 200
    db = db_session(grp_server)
    try:
        with db.session() as s:
            service.add_member(s, s.get(Organization, crew[1]), late, added_by=admin.email)
    finally:
        db.dispose()
    r = ok(admin.run("org", "groups", "add", "hr", late))
    assert f"{late} waits for the hr key: no published key yet" in r.stderr and admin.email in r.stderr
    assert f"{late} waits" in ok(admin.run("org", "groups", "sync")).stderr
