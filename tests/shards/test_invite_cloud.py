"""An invited person whose first login makes a cloud-stored key receives the temporary key into the key
archive (never onto the disk), and opens files made for the temporary key on any device with a login."""

from __future__ import annotations

import json

from srvkit import PASSWORD, confirm_email, new_email, outbox_messages, run_cli, text_body, verification_link

from c11.client import Client


def _ok(args, cfg, **kw):
    r = run_cli(args, cfg, {"C11_PASSWORD": PASSWORD}, **kw)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    return r


def test_invited_cloud_user_receives_the_temporary_key_in_the_archive(shard_env, tmp_path):
    server = shard_env.server
    alice, carol = new_email("alice"), new_email("carol")
    with Client(server.url) as c:
        c.signup(alice, PASSWORD)
    confirm_email(verification_link(outbox_messages(server.data_dir, alice)[0]))
    acfg = tmp_path / "alice"
    _ok(["login", "--server", server.url, "--email", alice], acfg)
    _ok(["invite", carol], acfg)
    src = tmp_path / "plan.txt"
    src.write_text("for carol, before she registered")
    r = _ok(["encrypt", "-r", carol, str(src)], acfg)
    assert "temporary key" in r.stderr
    enc = tmp_path / "plan.txt.c11"
    temp_fp = next(
        x["fingerprint"]
        for x in json.loads(_ok(["inspect", "--json", str(enc)], acfg).stdout)["recipients"]
        if x.get("temporary")
    )

    with Client(server.url) as c:
        c.signup(carol, PASSWORD)
    verify = [m for m in outbox_messages(server.data_dir, carol, 2) if "verify" in text_body(m)]
    confirm_email(verification_link(verify[0]))
    ccfg = tmp_path / "carol"
    r = _ok(["login", "--server", server.url, "--email", carol], ccfg)
    assert "created your cloud-stored key" in r.stderr and "received your temporary key" in r.stderr, r.stderr
    assert "kept with your cloud-stored key" in r.stderr
    assert f"c11 reencrypt -r {carol} --remove {temp_fp} FILE" in r.stderr  # a command one can paste
    assert not list(ccfg.rglob("*.key")), "neither the cloud key nor the temporary key is written to disk"
    status = json.loads(_ok(["keys", "status", "--json"], ccfg).stdout)
    assert status["kind"] == "cloud" and status["archive"] == status["fingerprint"]

    # another device, only a login: the file made for the temporary key opens
    other = tmp_path / "carol-laptop"
    _ok(["login", "--server", server.url, "--email", carol], other)
    out = tmp_path / "opened.txt"
    _ok(["decrypt", "-o", str(out), str(enc)], other)
    assert out.read_text() == "for carol, before she registered"
    # released once: a second claim gets nothing, and the server no longer holds the secret
    with Client(server.url, json.loads((other / "credentials.json").read_text())["token"]) as c:
        c.state_dir = tmp_path / "sdk"
        c.shards.password = PASSWORD
        me = c.shards.fetch_identity()
        assert c.invitations.claim(me) is None
        assert temp_fp in {k.fingerprint for k in c.shards.archived(me)}
