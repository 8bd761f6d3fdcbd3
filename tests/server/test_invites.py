"""Invitations and temporary keys (F9, F20), end to end through the real CLI and SDK on SQLite and PostgreSQL:
invite, encrypt for the invitee at once, register, receive the temporary key once, decrypt, re-encrypt."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from srvkit import (
    PASSWORD,
    confirm_email,
    new_email,
    outbox_message,
    outbox_messages,
    run_cli,
    text_body,
    verification_link,
)

from c11.client import Client
from c11.errors import ServerError
from c11.keys import keyfile
from c11.keys.identity import Identity


def _signup(server, tag):
    addr = new_email(tag)
    with Client(server.url) as c:
        c.signup(addr, PASSWORD)
    confirm_email(verification_link(outbox_message(server.data_dir, addr)))
    return addr


def _login(server, cfg, addr):
    r = run_cli(["login", "--server", server.url, "--email", addr], cfg, {"C11_PASSWORD": PASSWORD})
    assert r.returncode == 0, r.stderr
    return r


def test_invite_flow_end_to_end(server, tmp_path):
    alice = _signup(server, "alice")
    acfg = tmp_path / "alice"
    _login(server, acfg, alice)
    carol = new_email("carol")
    r = run_cli(["invite", carol], acfg)
    assert r.returncode == 0 and f"{carol}: pending" in r.stdout and "not zero-trust" in r.stdout, r.stderr
    mail = outbox_message(server.data_dir, carol)
    assert "invites you to c11" in mail["Subject"] and server.url in text_body(mail)
    # anyone logged in can encrypt for Carol at once, to the temporary key
    src = tmp_path / "plan.txt"
    src.write_text("for carol")
    r = run_cli(["encrypt", "-r", carol, str(src)], acfg)
    assert r.returncode == 0 and "temporary key" in r.stderr, r.stderr
    enc = tmp_path / "plan.txt.c11"
    info = json.loads(run_cli(["inspect", "--json", str(enc)], acfg).stdout)
    temp = [x for x in info["recipients"] if x.get("temporary")]
    assert len(temp) == 1 and temp[0]["zero_trust"] is False
    assert "TEMPORARY KEY: not zero-trust" in run_cli(["inspect", str(enc)], acfg).stdout
    # invited twice: the same invitation, no second email; --resend sends again
    r = run_cli(["invite", "--json", carol], acfg)
    assert json.loads(r.stdout)[0]["sent"] == 1
    r = run_cli(["invite", "--resend", carol], acfg)
    assert r.returncode == 0 and "emails sent: 2" in r.stdout, r.stderr
    assert len(outbox_messages(server.data_dir, carol, 2)) == 2
    # Carol registers: her own key is made and published, the temporary key is handed to her once
    with Client(server.url) as c:
        c.signup(carol, PASSWORD)
    verify = [m for m in outbox_messages(server.data_dir, carol, 3) if "verify" in text_body(m)]
    confirm_email(verification_link(verify[0]))
    ccfg = tmp_path / "carol"
    r = _login(server, ccfg, carol)
    assert "received your temporary key" in r.stderr, r.stderr
    temp_files = list((ccfg / "keys" / "temporary").glob("*.key"))
    assert len(temp_files) == 1 and temp[0]["fingerprint"].startswith(temp_files[0].name[8:24])
    out = tmp_path / "carol.txt"
    r = run_cli(["decrypt", "-o", str(out), str(enc)], ccfg)
    assert r.returncode == 0 and out.read_text() == "for carol", r.stderr
    assert "c11 reencrypt" in r.stderr  # the client offers re-encryption
    # re-encrypt for her own key, dropping the temporary one; then her own key alone opens it
    own = next((ccfg / "keys").glob("*.key"))
    own_line = keyfile.load(own).public.line()
    r = run_cli(
        ["reencrypt", "-i", str(temp_files[0]), "-r", own_line, "--remove", temp[0]["fingerprint"], str(enc)], ccfg
    )
    assert r.returncode == 0, r.stderr
    info = json.loads(run_cli(["inspect", "--json", str(enc)], ccfg).stdout)
    assert not any(x.get("temporary") for x in info["recipients"])
    r = run_cli(["decrypt", "-i", str(own), "-o", str(tmp_path / "own.txt"), str(enc)], ccfg)
    assert r.returncode == 0, r.stderr
    # accepted; the temporary key was released once and destroyed; lookups now give Carol's own key
    r = run_cli(["invite", "--list", "--json"], acfg)
    assert [i["status"] for i in json.loads(r.stdout) if i["email"] == carol] == ["accepted"]
    with Client(server.url, json.loads((ccfg / "credentials.json").read_text())["token"]) as c:
        c.state_dir = tmp_path / "carol-sdk"
        assert c.invitations.claim(keyfile.load(own).unlock()) is None
        assert c.invitations.temporary_key(carol) is None
    engine = sa.create_engine(server.config.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT status, sealed_secret FROM invitations WHERE email = :e"), {"e": carol}
            ).all()
    finally:
        engine.dispose()
    assert rows == [("accepted", None)]
    # and re-inviting a registered person does nothing
    r = run_cli(["invite", carol], acfg)
    assert "already registered" in r.stdout


def test_encrypt_for_unknown_email_asks_or_invites(server, tmp_path):
    alice = _signup(server, "alice")
    acfg = tmp_path / "alice"
    _login(server, acfg, alice)
    src = tmp_path / "x.txt"
    src.write_text("x")
    dave = new_email("dave")
    r = run_cli(["encrypt", "-r", dave, "-o", str(tmp_path / "x.c11"), str(src)], acfg)  # no terminal: no question
    assert r.returncode != 0 and "c11 invite" in r.stderr and not (tmp_path / "x.c11").exists()
    r = run_cli(["encrypt", "--invite", "-r", dave, "-o", str(tmp_path / "x.c11"), str(src)], acfg)
    assert r.returncode == 0 and f"invited {dave}" in r.stderr, r.stderr
    outbox_message(server.data_dir, dave)


def test_temporary_secret_is_sealed_and_released_only_to_the_invitee(server, tmp_path):
    alice = _signup(server, "alice")
    with Client(server.url) as a:
        a.login(alice, PASSWORD)
        a.state_dir = tmp_path / "a"
        erin = new_email("erin")
        inv = a.invitations.invite([erin])[0]
        assert inv.status == "pending" and inv.public_key is not None
        tk = a.invitations.temporary_key(erin)  # verified against its log entry
        assert tk.fingerprint == inv.fingerprint and tk.zero_trust is False
        # someone else (Alice, with a published key) cannot claim it: it is tied to Erin's email
        me = Identity.generate(alice)
        a.publish(me)
        assert a.invitations.claim(me) is None
    # the database row holds no usable key: the seeds are sealed to the key server's key (in secrets/)
    engine = sa.create_engine(server.config.database_url)
    try:
        with engine.connect() as conn:
            sealed = conn.execute(
                sa.text("SELECT sealed_secret FROM invitations WHERE email = :e"), {"e": erin}
            ).scalar()
    finally:
        engine.dispose()
    assert sealed is not None and len(sealed) == 1120 + 64 + 16


def test_unused_invitations_expire(fresh_server, tmp_path):
    srv = fresh_server(invitation_ttl_days=0)
    alice = _signup(srv, "alice")
    with Client(srv.url) as a:
        a.login(alice, PASSWORD)
        a.state_dir = tmp_path
        frank = new_email("frank")
        a.invitations.invite([frank])
        assert a.invitations.temporary_key(frank) is None
        assert [i.status for i in a.invitations.list()] == ["expired"]
        with pytest.raises(ServerError) as e:
            a.invitations.resend(a.invitations.list()[0].id)
        assert e.value.status == 409
