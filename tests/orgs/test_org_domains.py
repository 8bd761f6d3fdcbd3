"""Issue 12 item 3: an organization adopts only addresses of domains it has proven, or people who accept.

Each attack is reproduced against a real server (SQLite and PostgreSQL) and refused: adding an outsider makes
only an invitation (no recovery key in their lookups, no admin power over them) until they accept the very
recovery keys they were shown; pre-loading outsiders is refused; a member of one organization cannot be
claimed by another; a domain is proven by the link mailed to postmaster@ (read from the outbox folder)."""

from __future__ import annotations

import re
import time
import uuid

import httpx
import sqlalchemy as sa
from orgkit import cli, client, create_org, login_cli, ok, signup
from srvkit import authed, outbox_message, outbox_messages, text_body

from c11.crypto.kem import HYBRID
from c11.keys.identity import Identity


def _publish(server, addr: str) -> None:  # type: ignore[no-untyped-def]
    with client(server, addr) as c:
        c.registry.publish(Identity.generate(addr, HYBRID))


def _recovery_key(server, admin: str) -> str:  # type: ignore[no-untyped-def]
    """Upload a recovery key for the admin's organization; its fingerprint."""
    line = Identity.generate("recovery", HYBRID).public.line()
    with client(server, admin) as c:
        return c._core.request("POST", "/api/v1/org/recovery-keys", {"name": "vault", "public_key": line})[
            "fingerprint"
        ]


def _org_field(server, reader: str, addr: str):  # type: ignore[no-untyped-def]
    with client(server, reader) as c:
        return c._core.request("GET", "/api/v1/keys", params={"email": addr}).get("org")


def test_outsider_joins_only_by_accepting(org_server, tmp_path):
    server = org_server
    root = signup(server, "root")
    org = create_org(server, root, tmp_path / "op")
    rec = _recovery_key(server, root)
    outsider = signup(server, "out", addr=f"out-{uuid.uuid4().hex[:8]}@other.test")
    stranger = signup(server, "stranger")
    _publish(server, outsider)

    with client(server, root) as r:
        added = r.org.add_members([outsider])
        assert added[0].result == "invited-to-join"
        # the attack: before consent, senders get no recovery key for them and the admin has no power
        assert _org_field(server, stranger, outsider) is None
        with authed(server, r.token) as h:
            for path in ("/api/v1/org/members/deactivate", "/api/v1/org/signature-keys/withdraw"):
                res = h.post(path, json={"email": outsider})
                assert res.status_code == 404, (path, res.text)
            assert (
                h.put("/api/v1/org/admins", json={"email": outsider, "permissions": ["crud:config-org"]}).status_code
                == 404
            )
            assert h.post("/api/v1/org/groups", json={"name": "g", "members": [outsider]}).status_code == 404
        assert [m.consent for m in r.org.list_members() if m.email == outsider] == [None]
        # pre-loading (no email, no acceptance possible) is refused outside the verified domains
        other = f"pre-{uuid.uuid4().hex[:8]}@other.test"
        assert r.org.add_members([other], generate_keys=True)[0].result == "domain-not-verified"
        assert other not in {m.email for m in r.org.list_members()}
    with client(server, outsider) as o:
        assert o.org.info() is None  # not a member: their own client adds no recovery key either
    msg = [m for m in outbox_messages(server.data_dir, outsider, 2) if "invites you" in m["Subject"]][0]
    assert org["id"] in text_body(msg) and "recovery keys" in text_body(msg)
    with client(server, root) as r:  # adding them again sends the invitation again, still no membership
        assert r.org.add_members([outsider])[0].result == "invited-to-join"
    assert len([m for m in outbox_messages(server.data_dir, outsider, 3) if "invites you" in m["Subject"]]) == 2

    # the invitation shows the recovery keys; accepting names them, and a change meanwhile is refused
    ocfg = login_cli(server, outsider, tmp_path / "o")
    shown = ok(cli(ocfg, "org", "join")).stdout
    assert org["name"] in shown and rec in shown
    with client(server, outsider) as o:
        res = authed(server, o.token).post(
            "/api/v1/memberships/accept", json={"org_id": org["id"], "recovery_keys": []}
        )
        assert res.status_code == 409 and res.json()["type"].endswith("recovery-keys-changed")
        narrow = o.tokens.create("narrow", ["keys:read", "org:read"], 1).token
        res = authed(server, narrow).post(
            "/api/v1/memberships/accept", json={"org_id": org["id"], "recovery_keys": [rec]}
        )
        assert res.status_code == 403 and res.json()["scope"] == "org:join"
    r2 = ok(cli(ocfg, "org", "join", org["id"], "--accept", "--yes"))
    assert "you are a member" in r2.stderr
    field = _org_field(server, stranger, outsider)
    assert field is not None and len(field["recovery_keys"]) == 1
    with client(server, root) as r:
        assert [m.consent for m in r.org.list_members() if m.email == outsider] == ["accepted"]


def test_domain_link_and_no_claiming_across_orgs(org_server, tmp_path):
    server = org_server
    domain = f"d{uuid.uuid4().hex[:8]}.test"
    a_admin, b_admin = signup(server, "a"), signup(server, "b")
    create_org(server, a_admin, tmp_path / "a")
    b = create_org(server, b_admin, tmp_path / "b", domain=None)
    person = signup(server, "p", addr=f"p@{domain}")
    member_of_a = signup(server, "m")
    with client(server, a_admin) as ca:
        assert ca.org.add_members([member_of_a])[0].result == "added"  # example.com: verified for A
        assert ca.org.add_members([person])[0].result == "invited-to-join"  # pending in A, not accepted
    with client(server, b_admin) as cb:
        # B has no verified domain: it cannot take A's member, and only invites others
        assert cb.org.add_members([member_of_a])[0].result == "in-another-org"
        assert cb.org.add_members([f"x@{domain}"], generate_keys=True)[0].result == "domain-not-verified"
        # B proves the domain: the link goes to postmaster@, is confirmed by POST (GET only shows a page)
        assert cb.org.claim_domain(domain)["status"] == "pending"
        link = re.search(
            r"https?://\S+/api/v1/domain-confirmations\?token=\S+",
            text_body(outbox_message(server.data_dir, f"postmaster@{domain}")),
        ).group(0)
        token = link.split("token=")[1]
        engine = sa.create_engine(server.config.database_url)  # delivered: the stored row keeps no token
        for _ in range(50):  # the row is marked sent just after the file is written
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.text("SELECT body_text, secret, status FROM outbox_messages WHERE recipient = :r"),
                    {"r": f"postmaster@{domain}"},
                ).all()
            if rows and all(r.status == "sent" for r in rows):
                break
            time.sleep(0.1)
        engine.dispose()
        assert rows and all(r.status == "sent" and r.secret is None and token not in r.body_text for r in rows)
        page = httpx.get(link)
        assert page.status_code == 200 and b["name"] in page.text and "<form method=post" in page.text
        assert [d["status"] for d in cb.org.domains()] == ["pending"]
        assert httpx.post(link).status_code == 200
        assert httpx.post(link).status_code == 404  # single use
        assert httpx.get(link.split("token=")[0] + "token=" + "x" * 43).status_code == 404
        assert [(d["domain"], d["status"]) for d in cb.org.domains()] == [(domain, "verified")]
        # a verified domain counts as consent, and wins over another organization's unaccepted invitation
        got = cb.org.add_members([person])[0]
        assert got.result == "added" and got.status == "active"
        assert [m.consent for m in cb.org.list_members() if m.email == person] == ["domain"]
        # still never a consented member of another organization
        assert cb.org.add_members([member_of_a])[0].result == "in-another-org"
    with client(server, a_admin) as ca:
        assert ca.org.add_members([person])[0].result == "in-another-org"
        res = authed(server, ca.token).post("/api/v1/org/domains", json={"domain": "not a domain"})
        assert res.status_code == 422 and res.json()["type"].endswith("bad-domain")
    with client(server, person) as p:
        assert p.org.info().name == b["name"]


def test_operator_domain_flags(org_server, tmp_path):
    server = org_server
    admin = signup(server, "op")
    r = cli(
        tmp_path / "c",
        "org",
        "create",
        "Flags",
        "--admin",
        admin,
        "--domain",
        "example.com",
        "--data-dir",
        str(server.data_dir),
    )
    assert r.returncode != 0 and "--verified" in r.stderr and "Traceback" not in r.stderr
    out = create_org(server, admin, tmp_path / "op", domain="Example.COM")
    assert out["domains"] == ["example.com"]
