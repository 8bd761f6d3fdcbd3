"""Who signed, verified through the registry's transparency log (real server, real CLI): Alice's published
key is shown as hers, log-proven; an attacker's key labelled with her email is shown as a FALSE label;
a key she rotated away from still verifies old files, as a former key; offline, decrypt still works and
says the signer is unverified, within the short lookup timeout."""

from __future__ import annotations

import json
import shutil
import socket
import sys
import time
from pathlib import Path

import pytest
from regkit import Device, ok, signup_verified
from srvkit import PASSWORD

from c11 import files
from c11.client import Client, Credentials, CredentialsStore
from c11.client.sender import SenderVerifier
from c11.keys import keyfile
from c11.keys.identity import Identity


def _person(server, tag: str, folder: Path) -> tuple[Device, Identity]:
    """A verified account, logged in on a config dir of its own, with its key file and published key (made
    through the SDK: the CLI runs below are the behaviour under test)."""
    email = signup_verified(server, tag)
    identity = Identity.generate(email)
    with Client(server.url) as c:
        token = c.login(email, PASSWORD).token
        c.state_dir = folder
        c.registry.publish(identity)
    CredentialsStore(folder).save(Credentials(server.url, email, token))
    (folder / "keys").mkdir(mode=0o700)
    keyfile.write(folder / "keys" / identity.file_stem, identity, None)
    return Device(server, email, folder), identity


@pytest.fixture(scope="module")
def world(sender_server, tmp_path_factory):
    """Alice and Bob logged in with published keys; Alice's file for Bob, and a file an attacker signed
    with a key labelled with Alice's email."""
    tmp = tmp_path_factory.mktemp("world")
    alice, alice_id = _person(sender_server, "alice", tmp / "alice")
    bob, bob_id = _person(sender_server, "bob", tmp / "bob")
    (tmp / "real.c11").write_bytes(files.encrypt_bytes(b"quarterly numbers\n", [bob_id.public], alice_id))
    mallory = Identity.generate(alice.email)  # anyone can label a key with any email
    (tmp / "forged.c11").write_bytes(files.encrypt_bytes(b"send the money", [bob_id.public], mallory))
    return {"alice": alice, "bob": bob, "tmp": tmp, "mallory": mallory, "alice_id": alice_id}


def _signer_lines(r) -> list[str]:
    return [ln for ln in r.stderr.splitlines() if "sign" in ln]


def test_published_key_is_verified_log_proven(world):
    bob, alice, tmp = world["bob"], world["alice"], world["tmp"]
    r = ok(bob.run("decrypt", "-o", str(tmp / "real.txt"), str(tmp / "real.c11")))
    assert (tmp / "real.txt").read_text() == "quarterly numbers\n"
    [line] = _signer_lines(r)
    assert line.startswith(f"c11: signature verified: signed by {alice.email} (registry, log-proven: log entry ")
    assert bob.server.url in line and "UNVERIFIED" not in line
    info = json.loads(ok(bob.run("inspect", "--json", str(tmp / "real.c11"))).stdout)
    v = info["verified_sender"]
    assert v["status"] == "registry" and v["verified"] and v["email"] == alice.email and v["label_matches"]
    assert isinstance(v["log_index"], int) and v["source"] == bob.server.url
    text = ok(bob.run("inspect", str(tmp / "real.c11"))).stdout
    assert f"sender:       {alice.email} (registry, log-proven" in text


def test_attacker_key_with_alices_label_is_false(world):
    bob, alice, tmp = world["bob"], world["alice"], world["tmp"]
    r = ok(bob.run("decrypt", "-o", str(tmp / "forged.txt"), str(tmp / "forged.c11")))
    [line] = _signer_lines(r)
    assert "signature verified" not in line and f"signed by {alice.email}" not in line
    assert line.startswith(f"c11: signature valid, but the signer is UNVERIFIED: label '{alice.email}' is FALSE")
    assert "DIFFERENT key" in line and world["mallory"].public.sig_fingerprint in line
    summary = json.loads(ok(bob.run("decrypt", "--json", "-o", str(tmp / "f2.txt"), str(tmp / "forged.c11"))).stdout)
    v = summary["verified_sender"]
    assert v["status"] == "unverified" and not v["verified"] and v["conflict"] and v["email"] is None
    assert summary["sender"] == alice.email  # the label itself is still reported, as the label


def test_sdk_result_carries_the_verified_identity(world):
    bob, alice, tmp = world["bob"], world["alice"], world["tmp"]
    with bob.client() as c:
        v = SenderVerifier(None, c)
        real, forged = files.inspect(tmp / "real.c11"), files.inspect(tmp / "forged.c11")
        assert v.annotate(real).email == alice.email and real.verified_sender["status"] == "registry"
        check = v.annotate(forged)
        assert not check.verified and check.conflict and forged.verified_sender["conflict"]


def test_offline_decrypt_still_works_and_says_unverified_quickly(world, tmp_path):
    """The logged-in server does not answer (a socket that never accepts): the lookup gives up after its
    short timeout and decrypt succeeds, saying why the signer is unverified."""
    bob, tmp = world["bob"], world["tmp"]
    cfg = tmp_path / "bob-offline"
    shutil.copytree(bob.cfg, cfg)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        creds = json.loads((cfg / "credentials.json").read_text())
        creds["server"] = f"http://127.0.0.1:{silent.getsockname()[1]}"
        (cfg / "credentials.json").write_text(json.dumps(creds))
        offline = Device(bob.server, bob.email, cfg)
        start = time.monotonic()
        r = ok(offline.run("decrypt", "-i", str(bob.keys()[0]), "-o", str(tmp_path / "o.txt"), str(tmp / "real.c11")))
        took = time.monotonic() - start
    finally:
        silent.close()
    assert (tmp_path / "o.txt").read_text() == "quarterly numbers\n"
    [line] = _signer_lines(r)
    assert "UNVERIFIED" in line and "could not be reached" in line
    assert took < 20, f"decrypt took {took:.1f} s offline (the lookup timeout is 3 s)"


def test_trust_add_email_pins_the_registry_key(world, tmp_path):
    """`c11 trust add EMAIL` pins the key the registry proves for that email now: the pinned key then
    verifies offline (here: on a copy of Bob's config whose login was removed)."""
    bob, alice, tmp = world["bob"], world["alice"], world["tmp"]
    cfg = tmp_path / "bob-pins"
    shutil.copytree(bob.cfg, cfg)
    pinner = Device(bob.server, bob.email, cfg)
    ok(pinner.run("trust", "add", alice.email.upper()))
    [entry] = json.loads(ok(pinner.run("trust", "list", "--json")).stdout)
    with bob.client() as c:
        assert entry == {**entry, "email": alice.email, "public_key": c.registry.lookup(alice.email).line()}
    (cfg / "credentials.json").unlink()
    r = ok(pinner.run("decrypt", "-o", str(tmp_path / "p.txt"), str(tmp / "real.c11")))
    assert f"signature verified: signed by {alice.email} (trusted keys: {cfg / 'trusted-keys'})" in r.stderr


def test_protected_document_signer_is_verified_through_the_registry(world, tmp_path):
    """In-document protection (.docx): `unprotect` and `inspect` show the parts' signer as `decrypt` does."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "indoc_office"))
    from officekit import make_docx

    from c11.indoc import api

    bob, alice = world["bob"], world["alice"]
    (tmp_path / "orig").mkdir()
    src = make_docx(tmp_path / "orig" / "report.docx")
    bob_key = keyfile.load(bob.keys()[0]).public
    api.protect_document(src, ["table:1"], [bob_key], world["alice_id"], output=tmp_path / "report.protected.docx")
    r = ok(bob.run("unprotect", str(tmp_path / "report.protected.docx")))
    assert f"c11: parts of group 0: signature verified: signed by {alice.email} (registry, log-proven" in r.stderr
    [g] = json.loads(ok(bob.run("inspect", "--json", str(tmp_path / "report.protected.docx"))).stdout)["groups"]
    assert g["verified_sender"]["status"] == "registry" and g["verified_sender"]["email"] == alice.email


def test_rotated_key_still_verifies_old_files_as_former(world):
    """Run last: Alice replaces her key. Her old file is shown as signed with her FORMER key (logged)."""
    bob, alice, tmp = world["bob"], world["alice"], world["tmp"]
    with alice.client() as c:
        done = c.registry.publish(Identity.generate(alice.email))
    assert done.action == "change"
    r = ok(bob.run("decrypt", "-o", str(tmp / "old.txt"), str(tmp / "real.c11")))
    [line] = _signer_lines(r)
    assert line.startswith(
        f"c11: signature verified: signed by {alice.email} with a FORMER key (registry, log-proven: log entry "
    )
    assert f"replaced at log entry {done.log_index}" in line
    v = json.loads(ok(bob.run("inspect", "--json", str(tmp / "real.c11"))).stdout)["verified_sender"]
    assert v["status"] == "registry-former" and v["replaced_index"] == done.log_index and v["replaced_by"] == "change"
    r = ok(bob.run("decrypt", "-o", str(tmp / "forged2.txt"), str(tmp / "forged.c11")))
    assert "is FALSE" in _signer_lines(r)[0]  # a key she never published stays false
