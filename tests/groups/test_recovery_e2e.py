"""Recovery keys (F11) and organization policies in the client (F19) on a real server (SQLite and
PostgreSQL): made on the admin's device, only the public key uploaded, added by every client to what members
encrypt and to what is encrypted for members; rotation, `reencrypt --add-recovery`, removal; require_online
and default_expiry_days applied by `c11 encrypt`."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest
from grpkit import admin_actions, fails, make_org, ok, person, set_policies

from c11 import files
from c11.errors import AuthError, OutputExistsError


@pytest.fixture(scope="module")
def acme(grp_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("acme")
    people = {t: person(grp_server, root, t) for t in ("alice", "bob", "carol", "mallory")}
    name = f"ACME-{root.name[-6:]}"
    org_id = make_org(grp_server, name, people["alice"], [people["bob"], people["carol"]])
    return people, org_id, name, root


def _recipients(path: Path) -> set[str]:
    return {r["fingerprint"] for r in files.inspect(path).recipients}


def _public_fp(key_file: Path) -> str:
    return json.loads(key_file.read_text())["fingerprint"]


def test_recovery_keys_lifecycle(acme, grp_server):
    people, org_id, org_name, root = acme
    alice, bob, carol, mallory = (people[t] for t in ("alice", "bob", "carol", "mallory"))
    rec1 = root / "rec1.key"
    r = ok(alice.run("org", "recovery-key", "create", "-o", str(rec1), "--no-passphrase", "--name", "safe 1"))
    rec1_id = r.stdout.strip()
    assert stat.S_IMODE(rec1.stat().st_mode) == 0o600
    doc = json.loads(rec1.read_text())
    assert doc["secret"]["protection"] == "none" and doc["label"] == "recovery:safe 1"
    # written once: an existing file is never replaced, and nothing is uploaded then
    r = fails(alice.run("org", "recovery-key", "create", "-o", str(rec1), "--no-passphrase"))
    assert "exists" in r.stderr
    # only the public key reaches the server (what members read is the public line of the file)
    listed = json.loads(ok(bob.run("org", "recovery-key", "list", "--json")).stdout)
    assert [(k["id"], k["status"], k["public_key"]) for k in listed] == [(rec1_id, "current", doc["public"])]
    # members cannot manage recovery keys
    r = fails(bob.run("org", "recovery-key", "create", "-o", str(root / "bob-rec.key"), "--no-passphrase"))
    assert "crud:recovery-keys-org" in r.stderr and not (root / "bob-rec.key").exists()

    # encrypted BY a member (to a colleague, or to nobody else): the recovery key is a recipient
    plain = root / "memo.txt"
    plain.write_text("quarterly numbers")
    r = ok(bob.run("encrypt", "-r", carol.email, "-o", str(root / "memo.c11"), str(plain)))
    assert f"added recovery key of {org_name}" in r.stderr
    ok(bob.run("encrypt", "-o", str(root / "self.c11"), str(plain)))
    assert _public_fp(rec1) in _recipients(root / "self.c11")
    # encrypted FOR a member by an outsider: the lookup's `org` field brings the recovery key along
    r = ok(mallory.run("encrypt", "-r", bob.email, "-o", str(root / "from-outside.c11"), str(plain)))
    assert f"added recovery key of {org_name}" in r.stderr
    for f in ("memo.c11", "self.c11", "from-outside.c11"):
        out = root / f"{f}.recovered"
        ok(alice.run("decrypt", "-i", str(rec1), "-o", str(out), str(root / f)))
        assert out.read_text() == "quarterly numbers"
    # an outsider encrypting for an outsider adds nothing
    r = ok(mallory.run("encrypt", "-o", str(root / "mallory.c11"), str(plain)))
    assert "recovery" not in r.stderr and _public_fp(rec1) not in _recipients(root / "mallory.c11")

    # rotation: the new key (passphrase-protected this time) is current, the old one listed as retired
    rec2 = root / "rec2.key"
    r = ok(alice.run("org", "recovery-key", "rotate", rec1_id, "-o", str(rec2), C11_PASSPHRASE="vault words"))
    rec2_id = r.stdout.strip()
    assert json.loads(rec2.read_text())["secret"]["protection"] == "scrypt"
    listed = {k["id"]: k["status"] for k in json.loads(ok(carol.run("org", "recovery-key", "list", "--json")).stdout)}
    assert listed == {rec1_id: "retired", rec2_id: "current"}
    ok(bob.run("encrypt", "-r", carol.email, "-o", str(root / "new.c11"), str(plain)))
    assert _recipients(root / "new.c11") >= {_public_fp(rec2)} and _public_fp(rec1) not in _recipients(root / "new.c11")
    ok(
        alice.run(
            "decrypt", "-i", str(rec2), "-o", str(root / "new.out"), str(root / "new.c11"), C11_PASSPHRASE="vault words"
        )
    )
    fails(
        alice.run(
            "decrypt", "-i", str(rec2), "-o", str(root / "x"), str(root / "memo.c11"), C11_PASSPHRASE="vault words"
        )
    )
    # reencrypt --add-recovery brings old content along (and drops the retired key)
    r = ok(bob.run("reencrypt", "--add-recovery", str(root / "memo.c11")))
    assert "removed retired recovery key" in r.stderr
    assert _public_fp(rec2) in _recipients(root / "memo.c11") and _public_fp(rec1) not in _recipients(root / "memo.c11")
    ok(
        alice.run(
            "decrypt",
            "-i",
            str(rec2),
            "-o",
            str(root / "memo.out"),
            str(root / "memo.c11"),
            C11_PASSPHRASE="vault words",
        )
    )
    assert (root / "memo.out").read_text() == "quarterly numbers"
    ok(carol.run("decrypt", "-o", str(root / "memo.carol"), str(root / "memo.c11")))  # recipients kept

    # removal: no longer added to new content
    ok(alice.run("org", "recovery-key", "remove", rec2_id))
    ok(alice.run("org", "recovery-key", "remove", rec1_id))
    r = ok(bob.run("encrypt", "-r", carol.email, "-o", str(root / "late.c11"), str(plain)))
    assert "recovery" not in r.stderr
    assert {"recovery-key.create", "recovery-key.rotate", "recovery-key.remove"} <= set(
        admin_actions(grp_server, org_id)
    )


def test_recovery_sdk(acme, grp_server, tmp_path):
    people, org_id, org_name, root = acme
    alice, bob = people["alice"], people["bob"]
    with alice.client() as c:
        key, path = c.groups.recovery.create("sdk", tmp_path / "sdk.key")
        assert path.exists() and key.status == "current"
        with pytest.raises(OutputExistsError):
            c.groups.recovery.create("again", tmp_path / "sdk.key")
        assert [k.fingerprint for k in c.groups.recovery.list()].count(key.fingerprint) == 1
        info = c.groups.recovery.org_context()
        assert info is not None and info.name == org_name and key.public_key in info.recovery_keys
        with bob.client() as b:
            assert key.public_key in b.groups.recovery.current()
            with pytest.raises(AuthError):
                b.groups.recovery.remove(key.id)
        new, new_path = c.groups.recovery.rotate(key.id, "sdk 2", tmp_path / "sdk2.key")
        assert {k.id: k.status for k in c.groups.recovery.list()}[key.id] == "retired"
        c.groups.recovery.remove(new.id)
        c.groups.recovery.remove(key.id)
        assert c.groups.recovery.current() == []
    with people["mallory"].client() as m:
        assert m.groups.recovery.org_context() is None


def test_org_policies_applied_by_encrypt(acme, grp_server):
    """require_online acts as --online; default_expiry_days as --expires; the recovery key is in the online
    policy too, so its holder (logged in) gets the key server's part."""
    people, org_id, org_name, root = acme
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    rec = root / "policy-rec.key"
    ok(alice.run("org", "recovery-key", "create", "-o", str(rec), "--no-passphrase"))
    set_policies(grp_server, org_id, require_online=True, default_expiry_days=3)
    try:
        plain = root / "policy.txt"
        plain.write_text("under policy")
        r = ok(bob.run("encrypt", "-r", carol.email, "-o", str(root / "policy.c11"), str(plain)))
        assert f"online policy required by {org_name}" in r.stderr
        assert "expires in 3 days" in r.stderr
        ext = next(e for e in files.inspect(root / "policy.c11").extensions if e["type"] == "c11-online/v1")
        assert ext["expires"] and abs(ext["expires"] - (time.time() + 3 * 86400)) < 600, ext
        ok(carol.run("decrypt", "-o", str(root / "policy.out"), str(root / "policy.c11")))
        ok(alice.run("decrypt", "-i", str(rec), "-o", str(root / "policy.rec"), str(root / "policy.c11")))
        assert (root / "policy.rec").read_text() == "under policy"
        # an explicit --expires wins over the default
        r = ok(bob.run("encrypt", "-r", carol.email, "--expires", "1d", "-o", str(root / "p2.c11"), str(plain)))
        assert "expires in 3 days" not in r.stderr
    finally:
        set_policies(grp_server, org_id)
        with alice.client() as c:
            for k in c.groups.recovery.list():
                c.groups.recovery.remove(k.id)
