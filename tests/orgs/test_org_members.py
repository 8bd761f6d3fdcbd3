"""Organizations end to end (F18, F20) through the operator command, the CLI and the SDK on SQLite and
PostgreSQL: create, add members by hand and from CSV (invitations with temporary keys), an invitee registers
and becomes active, admins with a subset of permissions, deactivation stops key serving, admin log entries."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from orgkit import cli, client, create_org, login_cli, ok, operator_env, signup, verify
from srvkit import PASSWORD, authed, new_email, outbox_message, run_cli, text_body

from c11.client import Client
from c11.errors import AuthError, ServerError
from c11.log.entries import email_hash


def _log_entries(server, kind: str) -> list[dict]:
    engine = sa.create_engine(server.config.database_url)
    try:
        with engine.connect() as c:
            rows = c.execute(
                sa.text(
                    "SELECT e.data, o.private FROM log_entries e LEFT JOIN log_openings o "
                    "ON o.log_index = e.idx WHERE e.kind = :k ORDER BY e.idx"
                ),
                {"k": kind},
            ).all()
    finally:
        engine.dispose()
    return [_opened(r[0], r[1]) for r in rows]


def _opened(data: str, private: str | None) -> dict:
    """A v2 `admin` entry opened as its admins read it (docs/log.md section 7): `by` back as `actor`."""
    e = json.loads(data)
    if private is None:
        return e
    hidden = {k: v for k, v in json.loads(private).items() if k != "person"}
    return {**{k: v for k, v in e.items() if k not in ("actor", "v")}, **hidden, "actor": hidden["by"]}


def test_org_lifecycle_cli_and_sdk(org_server, tmp_path):
    server = org_server
    root = signup(server, "root")
    org = create_org(server, root, tmp_path / "op")
    assert org["admin"] == root and org["admin_status"] == "active" and len(org["permissions"]) == 9
    # the operator command appended an admin entry (no plain email)
    created = [e for e in _log_entries(server, "admin") if e["org"] == org["id"]]
    assert created[0]["action"] == "org.create" and created[0]["target"] == email_hash(root)
    # a second organization with the same name, or the same admin, is refused with one line
    r = run_cli(
        ["org", "create", org["name"], "--admin", new_email(), "--data-dir", str(server.data_dir)],
        tmp_path / "op",
        operator_env(server),
    )
    assert r.returncode != 0 and "exists" in r.stderr and "Traceback" not in r.stderr

    acfg = login_cli(server, root, tmp_path / "root")
    shown = json.loads(ok(cli(acfg, "org", "show", "--json")).stdout)
    assert set(shown) == {"id", "name", "policies", "recovery_keys", "you", "policy"} and shown["id"] == org["id"]
    assert shown["recovery_keys"] == []
    # `c11 org create` logged policy number 1 (docs/organizations.md "The signed policy"), served with its proof
    assert json.loads(shown["policy"]["document"])["seq"] == 1 and shown["policy"]["inclusion_proof"] is not None
    assert shown["you"] == {"email": root, "is_admin": True, "permissions": sorted(org["permissions"])}
    assert set(shown["policies"]) == {
        "allow_cross_org_lookup",
        "allow_member_listing",
        "allow_device_keys",
        "require_online",
        "default_expiry_days",
    }
    assert f"organization: {org['name']}" in ok(cli(acfg, "org", "show")).stdout

    # add by hand: Carol (no account: invited, temporary key, email) and Bob (has an account: active)
    carol, bob = new_email("carol"), signup(server, "bob")
    r = ok(cli(acfg, "org", "members", "add", carol, bob, "--json"))
    added = {a["email"]: a for a in json.loads(r.stdout)}
    assert added[carol]["result"] == "added" and added[carol]["status"] == "invited"
    assert added[carol]["invitation"]["status"] == "pending" and added[carol]["invitation"]["fingerprint"]
    assert added[bob]["status"] == "active" and added[bob]["invitation"]["status"] == "registered"
    mail = outbox_message(server.data_dir, carol)
    assert "invites you" in mail["Subject"] and server.url in text_body(mail)
    # the temporary key is served at once, with the organization's rules
    with client(server, bob, tmp_path / "bob-sdk") as b:
        tk = b.invitations.temporary_key(carol)
        assert tk is not None and tk.fingerprint == added[carol]["invitation"]["fingerprint"]
    # adding again: already a member; adding a member of another organization: not added
    other_root = signup(server, "other")
    create_org(server, other_root, tmp_path / "op")
    r = ok(cli(acfg, "org", "members", "add", carol, other_root))
    assert f"{carol}: already a member (invited)" in r.stdout
    assert f"{other_root}: NOT added, a member of another organization" in r.stdout

    # CSV import: bad lines are reported one by one and nothing is added; --skip-invalid adds the good ones
    dave, erin = new_email("dave"), new_email("erin")
    csv = tmp_path / "staff.csv"
    csv.write_text(f"email,name\n{dave},Dave\n\nnot-an-email,X\n# a comment\n{erin}\nfoo@bar\n")
    r = cli(acfg, "org", "members", "add", "--csv", str(csv))
    assert r.returncode == 2 and "line 4: 'not-an-email' is not an email address" in r.stderr
    assert "line 7: 'foo@bar' is not an email address" in r.stderr and "nothing added" in r.stderr
    r = ok(cli(acfg, "org", "members", "add", "--csv", str(csv), "--skip-invalid", "--json"))
    assert [a["email"] for a in json.loads(r.stdout)] == [dave, erin]
    listed = {m["email"]: m for m in json.loads(ok(cli(acfg, "org", "members", "list", "--json")).stdout)}
    assert {root, carol, bob, dave, erin} == set(listed)
    assert listed[root]["is_admin"] and listed[dave]["status"] == "invited" and listed[bob]["status"] == "active"

    # Carol registers: verified email makes her active; her login claims the temporary key
    with Client(server.url) as c:
        c.signup(carol, PASSWORD)
    verify(server, carol)
    with client(server, root) as a:
        assert {m.email: m.status for m in a.org.list_members()}[carol] == "active"
        assert a.org.list_members("invited") and all(m.status == "invited" for m in a.org.list_members("invited"))
    ccfg = login_cli(server, carol, tmp_path / "carol")
    assert json.loads(ok(cli(ccfg, "org", "show", "--json")).stdout)["you"]["is_admin"] is False
    with client(server, root) as a:
        invs = {i["email"]: i for i in a.org.invitations()}
        assert invs[carol]["status"] == "accepted" and invs[dave]["status"] == "pending"
        assert a.org.resend_invitation(dave)["send_count"] == 2

    # admins: Bob gets a subset; he is refused elsewhere; he cannot grant what he lacks
    r = ok(cli(acfg, "org", "admins", "add", bob, "--permission", "crud:members-org", "--json"))
    assert json.loads(r.stdout)["permissions"] == ["crud:members-org"]
    bcfg = login_cli(server, bob, tmp_path / "bob")
    assert ok(cli(bcfg, "org", "members", "list")).stdout.count("@") >= 5
    r = cli(bcfg, "org", "policies", "--set", "allow_member_listing=true")
    assert r.returncode != 0 and "crud:config-org" in r.stderr and "Traceback" not in r.stderr
    with client(server, bob) as b:
        with pytest.raises(AuthError) as e:
            b.org.set_admin(dave, ["read:events-org"])
        assert e.value.status == 403 and e.value.problem["type"].endswith("cannot-grant")
        with pytest.raises(AuthError) as e:
            b.org.add_members([new_email()], generate_keys=True)  # also needs crud:encryption-keys-org
        assert e.value.problem["type"].endswith("missing-permission")
        assert e.value.problem["permission"] == "crud:encryption-keys-org"
        assert b.org.info().can("crud:members-org") and not b.org.info().can("crud:config-org")
    admins = json.loads(ok(cli(acfg, "org", "admins", "list", "--json")).stdout)
    assert {a["email"] for a in admins} == {root, bob}
    # no lock-out: the root admin cannot drop the last crud:members-org once Bob is demoted
    ok(cli(acfg, "org", "admins", "remove", bob))
    r = cli(acfg, "org", "admins", "add", root, "--permission", "crud:config-org")
    assert r.returncode != 0 and "without an admin" in r.stderr
    r = cli(acfg, "org", "admins", "remove", root)
    assert r.returncode != 0 and "without an admin" in r.stderr
    r = cli(acfg, "org", "members", "deactivate", root)
    assert r.returncode != 0 and "without an admin" in r.stderr
    r = cli(acfg, "org", "admins", "add", dave, "--permission", "crud:nope")
    assert r.returncode == 2 and "unknown permission" in r.stderr

    # deactivation: Carol's key is no longer served (404 like an unknown email); she loses access
    with client(server, bob, tmp_path / "bob-sdk2") as b:
        assert b.lookup(carol).fingerprint
        ok(cli(acfg, "org", "members", "deactivate", carol))
        with pytest.raises(ServerError) as e:
            b.lookup(carol)
        assert e.value.status == 404
    with client(server, carol) as c:
        assert c.org.info() is None
    listed = {m["email"]: m for m in json.loads(ok(cli(acfg, "org", "members", "list", "--json")).stdout)}
    assert listed[carol]["status"] == "deactivated" and listed[carol]["deactivated_at"]
    assert ok(cli(acfg, "org", "members", "reactivate", carol)).stdout.strip() == f"{carol}: active"
    with client(server, bob, tmp_path / "bob-sdk2") as b:
        assert b.lookup(carol).fingerprint

    # every admin action is in the log, without plain emails
    mine = [e for e in _log_entries(server, "admin") if e["org"] == org["id"]]
    actions = [e["action"] for e in mine]
    for a in (
        "org.create",
        "member.add",
        "admin.set",
        "admin.remove",
        "member.deactivate",
        "member.reactivate",
        "invitation.resend",
    ):
        assert a in actions, a
    assert all("@" not in json.dumps(e) for e in mine) and all(
        e["actor"] == email_hash(root) for e in mine if e["action"] == "admin.set"
    )


def test_preload_members_generates_keys_without_email(org_server, tmp_path):
    server = org_server
    root = signup(server, "root")
    create_org(server, root, tmp_path / "op")
    acfg = login_cli(server, root, tmp_path / "root")
    frank = new_email("frank")
    r = ok(cli(acfg, "org", "members", "add", frank, "--generate-keys"))
    assert "key made, no email (pre-loaded)" in r.stdout
    with client(server, root) as a:
        tk = a.invitations.temporary_key(frank)
        assert tk is not None and tk.fingerprint
        assert [i["send_count"] for i in a.org.invitations() if i["email"] == frank] == [0]
    with pytest.raises(AssertionError):
        outbox_message(server.data_dir, frank, timeout=1)


def test_machine_token_needs_org_admin_scope(org_server, tmp_path):
    server = org_server
    root = signup(server, "root")
    create_org(server, root, tmp_path / "op")
    with client(server, root) as a:
        plain = a.tokens.create("no-admin", ["keys:read"], 1).token
        admin = a.tokens.create("admin", ["org:admin"], 1).token
    with authed(server, plain) as h:
        r = h.get("/api/v1/org/members")
        assert r.status_code == 403 and r.json()["type"].endswith("insufficient-scope")
        r = h.get("/api/v1/org")  # member routes check scopes too (issue 12 item 8): org:read
        assert r.status_code == 403 and r.json()["scope"] == "org:read"
    with Client(server.url, plain) as c, pytest.raises(AuthError, match="org:read"):
        c.groups.recovery.org_context()  # an encrypting client stops rather than leave the recovery keys out
    with authed(server, admin) as h:
        assert h.get("/api/v1/org/members").status_code == 200
    with client(server, root) as a:
        reader = a.tokens.create("reader", ["org:read"], 1).token
    with authed(server, reader) as h:
        assert h.get("/api/v1/org").status_code == 200
        assert h.get("/api/v1/org/members").json()["scope"] == "org:admin"
    # and the CLI with C11_TOKEN
    r = cli(tmp_path / "tok", "org", "members", "list", C11_TOKEN=plain, C11_SERVER=server.url)
    assert r.returncode != 0 and "org:admin" in r.stderr


def test_not_a_member_and_bad_input(org_server, tmp_path):
    server = org_server
    outsider = signup(server, "outsider")
    ocfg = login_cli(server, outsider, tmp_path / "o")
    r = cli(ocfg, "org", "show")
    assert r.returncode != 0 and "not a member of an organization" in r.stderr
    with client(server, outsider) as c:
        assert c.org.info() is None
        with pytest.raises(AuthError):
            c.org.list_members()
    r = cli(ocfg, "org", "policies", "--set", "allow_everything=true")
    assert r.returncode == 2 and "allow_cross_org_lookup" in r.stderr
    r = cli(ocfg, "org", "policies", "--set", "default_expiry_days=soon")
    assert r.returncode == 2 and "number of days" in r.stderr
    r = cli(ocfg, "org", "members", "add")
    assert r.returncode == 2 and "EMAIL" in r.stderr
    r = run_cli(["org", "create", "X", "--admin", new_email(), "--data-dir", str(tmp_path / "empty")], ocfg)
    assert r.returncode != 0 and "c11 db upgrade" in r.stderr and "Traceback" not in r.stderr
    # an unverified account is no member even if listed
    root = signup(server, "root")
    create_org(server, root, tmp_path / "op")
    pending = signup(server, "pending", verified=False)
    with client(server, root) as a:
        assert a.org.add_members([pending])[0].status == "invited"
    with client(server, pending) as p:
        assert p.org.info() is None
