"""End to end, with the real server and the real CLI: two users log in for the first time (keys are
generated and published), alice encrypts to bob's email, bob decrypts on a second device; the saved
policy is reused; history flags a key published elsewhere; the log is checked from the CLI."""

from __future__ import annotations

import json
import shutil

from regkit import PASSPHRASE, Device, ok, signup_verified
from srvkit import PASSWORD, confirm_email, new_email, outbox_message, verification_link

from c11.keys import keyfile


def test_encrypt_to_email_and_decrypt_on_second_device(reg_server, tmp_path):
    alice = Device(reg_server, signup_verified(reg_server, "alice"), tmp_path / "alice")
    bob = Device(reg_server, signup_verified(reg_server, "bob"), tmp_path / "bob")
    for dev in (alice, bob):
        r = dev.login()
        assert "created your key" in r.stderr and "published your key" in r.stderr, r.stderr
        [key] = dev.keys()
        assert key.name.startswith("c11_key_") and len(key.stem) == len("c11_key_") + 16
        kf = keyfile.load(key)
        assert kf.encrypted and kf.label == dev.email
        assert key.stem[len("c11_key_") :] == kf.public.fingerprint[:16]

    # a second login creates nothing new and publishes nothing
    r = alice.login()
    assert "created" not in r.stderr and "published" not in r.stderr and len(alice.keys()) == 1

    secret = tmp_path / "plan.txt"
    secret.write_text("the plan, for bob only\n")
    out = tmp_path / "plan.txt.c11"
    ok(alice.run("encrypt", "-r", bob.email, "-o", str(out), str(secret)))

    lookup = json.loads(ok(alice.run("registry", "lookup", bob.email, "--json")).stdout)
    assert lookup["fingerprint"] == keyfile.load(bob.keys()[0]).public.fingerprint and lookup["verified"]

    # bob's second device: a fresh config dir with only his key file, and a fresh login
    bob2 = Device(reg_server, bob.email, tmp_path / "bob-laptop")
    (bob2.cfg / "keys").mkdir(parents=True)
    shutil.copy(bob.keys()[0], bob2.cfg / "keys")
    r = bob2.login()
    assert "created" not in r.stderr and "published" not in r.stderr, r.stderr
    plain = tmp_path / "plain.txt"
    ok(bob2.run("decrypt", "-o", str(plain), str(out)))
    assert plain.read_text() == "the plan, for bob only\n"

    # the recipient set was saved as a policy (alice included), and can be reused
    [policy] = json.loads(ok(alice.run("policies", "--json")).stdout)
    assert {m.get("email") for m in policy["members"]} == {alice.email, bob.email}
    assert policy["use_count"] == 1
    again = tmp_path / "again.c11"
    ok(alice.run("encrypt", "--policy", policy["id"], "-o", str(again), str(secret)))
    [policy] = json.loads(ok(alice.run("policies", "--json")).stdout)
    assert policy["use_count"] == 2
    ok(bob2.run("decrypt", "-o", str(tmp_path / "again.txt"), str(again)))
    assert "c11: error" in alice.run("encrypt", "--policy", "0" * 32, "-o", str(tmp_path / "x.c11"), str(secret)).stderr

    # history: nothing flagged for keys published or kept here
    hist = json.loads(ok(bob2.run("registry", "history", "--json")).stdout)
    assert [e["action"] for e in hist["entries"]] == ["publish"] and hist["flagged"] == 0

    # the log from the CLI
    ok(alice.run("log", "verify"))
    cp = json.loads(ok(alice.run("log", "checkpoint", "--json")).stdout)
    assert cp["size"] >= 2 and cp["origin"].endswith("/log")
    proved = json.loads(ok(alice.run("log", "prove", str(lookup["log_index"]), "--json")).stdout)
    assert json.loads(proved["entry"])["public_key"] == lookup["public"]
    if cp["size"] > lookup["log_index"] + 1:
        ok(alice.run("log", "prove", str(lookup["log_index"]), "--size", str(lookup["log_index"] + 1)))
    assert "@" not in proved["entry"]


def test_history_flags_a_key_not_published_from_this_device(reg_server, tmp_path):
    from c11.keys.identity import Identity

    carol = Device(reg_server, signup_verified(reg_server, "carol"), tmp_path / "carol")
    carol.login()
    with carol.client() as c:  # someone with carol's session publishes another key
        c.state_dir = tmp_path / "elsewhere"
        done = c.registry.publish(Identity.generate(carol.email))
        assert done.action == "change"
    hist = json.loads(ok(carol.run("registry", "history", "--json")).stdout)
    assert [e["action"] for e in hist["entries"]] == ["publish", "change"]
    assert [e["flagged"] for e in hist["entries"]] == [False, True] and hist["flagged"] == 1
    text = carol.run("registry", "history")
    assert "NOT PUBLISHED FROM THIS DEVICE" in text.stdout and "warning" in text.stderr
    # carol puts her own key back
    r = ok(carol.run("registry", "publish"))
    assert "changed" in r.stderr
    assert (
        json.loads(ok(carol.run("registry", "lookup", carol.email, "--json")).stdout)["fingerprint"]
        == keyfile.load(carol.keys()[0]).public.fingerprint
    )


def test_first_login_before_verification_publishes_later(reg_server, tmp_path):
    from c11.client import Client

    addr = new_email("dave")
    with Client(reg_server.url) as c:
        c.signup(addr, PASSWORD)
    dave = Device(reg_server, addr, tmp_path / "dave")
    r = dave.login()
    assert "created your key" in r.stderr and "verify your email" in r.stderr
    assert "c11: error" in dave.run("registry", "lookup", addr).stderr

    confirm_email(verification_link(outbox_message(reg_server.data_dir, addr)))
    r = dave.login()  # the next login publishes the key made at the first one
    assert "published your key" in r.stderr and "created" not in r.stderr


def test_unprotected_key_in_scripts_and_offline_encryption(reg_server, tmp_path):
    erin = Device(reg_server, signup_verified(reg_server, "erin"), tmp_path / "erin")
    r = ok(erin.run("login", "--server", reg_server.url, "--email", erin.email, C11_PASSPHRASE=""))
    assert "not protected by a passphrase" in r.stderr
    assert not keyfile.load(erin.keys()[0]).encrypted
    # offline (no login): key lines and key files work with no server at all
    offline = Device(reg_server, "", tmp_path / "offline")
    me = tmp_path / "me.key"
    ok(offline.run("keygen", "-o", str(me), "--no-passphrase"))
    line = ok(offline.run("pubkey", str(erin.keys()[0]))).stdout.strip()
    msg = tmp_path / "m.txt"
    msg.write_text("hi")
    ok(
        offline.run(
            "encrypt",
            "-i",
            str(me),
            "-r",
            line,
            "-o",
            str(tmp_path / "m.c11"),
            str(msg),
            C11_SERVER="http://127.0.0.1:9",
        )
    )
    r = offline.run("encrypt", "-i", str(me), "-r", "someone@example.com", str(msg))
    assert r.returncode != 0 and "c11 login" in r.stderr
    ok(erin.run("decrypt", "-o", str(tmp_path / "m.out"), str(tmp_path / "m.c11")))
    assert (tmp_path / "m.out").read_text() == "hi"
    assert PASSPHRASE  # (used by the other devices)


def test_second_device_without_key_file_does_not_replace_the_published_key(reg_server, tmp_path):
    dave = Device(reg_server, signup_verified(reg_server, "dave"), tmp_path / "dave")
    dave.login()
    first = keyfile.load(dave.keys()[0]).public.fingerprint
    laptop = Device(reg_server, dave.email, tmp_path / "dave-laptop")
    r = laptop.login()
    assert "already has a key published from another device" in r.stderr and first in r.stderr
    assert "--new-key" in r.stderr and not (laptop.cfg / "keys").exists()
    lookup = json.loads(ok(dave.run("registry", "lookup", dave.email, "--json")).stdout)
    assert lookup["fingerprint"] == first  # unchanged
    r = ok(laptop.run("login", "--server", reg_server.url, "--email", dave.email, "--new-key"))
    assert "created your key" in r.stderr and "published your key" in r.stderr
    lookup = json.loads(ok(laptop.run("registry", "lookup", dave.email, "--json")).stdout)
    assert lookup["fingerprint"] == keyfile.load(laptop.keys()[0]).public.fingerprint != first
