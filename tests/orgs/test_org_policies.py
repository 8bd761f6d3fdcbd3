"""Organization policies (F19) enforced by the real server, on SQLite and PostgreSQL: cross-organization
lookups, member listing, device-stored keys, default expiry of online documents; the `org` field of lookups;
membership at the first identity-provider login."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from orgkit import cli, client, create_org, login_cli, ok, signup
from srvkit import loopback_socket, new_email, serve_in_thread, server_config, start_server

from c11.errors import AuthError, ServerError
from c11.keys.identity import Identity
from c11.log.entries import publish_message, rfc3339

ORG_FIELD = {"name", "recovery_keys", "require_online", "default_expiry_days"}


def _member(server, org_root_client, tag, tmp_path, publish=True):
    addr = signup(server, tag)
    org_root_client.org.add_members([addr])
    c = client(server, addr, tmp_path / f"{tag}-{uuid.uuid4().hex[:6]}")
    if publish:
        c.publish(Identity.generate(addr))
    return addr, c


def _raw_lookup(server, c, email):
    with httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {c.token}"}) as h:
        return h.get("/api/v1/keys", params={"email": email})


def test_cross_org_lookup_and_org_field(org_server, tmp_path):
    server = org_server
    root = signup(server, "root")
    org = create_org(server, root, tmp_path / "op")
    with client(server, root, tmp_path / "root") as a:
        alice, ac = _member(server, a, "alice", tmp_path)
        bob, bc = _member(server, a, "bob", tmp_path)
        invited = new_email("invited")
        a.org.add_members([invited])
        out = signup(server, "outsider")
        oc = client(server, out, tmp_path / "out")
        oc.publish(Identity.generate(out))
        # allowed by default: outsiders see the key, with the organization's rules for encrypting to it
        r = _raw_lookup(server, oc, alice)
        assert r.status_code == 200 and set(r.json()["org"]) == ORG_FIELD
        assert r.json()["org"] == {
            "name": org["name"],
            "recovery_keys": [],
            "require_online": False,
            "default_expiry_days": None,
        }
        assert "org" not in _raw_lookup(server, ac, out).json()  # outsiders carry no org field
        assert oc.lookup(alice).fingerprint and oc.invitations.temporary_key(invited) is not None
        # closed: neither way, with a clear problem type; inside the organization all is as before
        a.org.set_policies(allow_cross_org_lookup=False, require_online=True, default_expiry_days=30)
        r = _raw_lookup(server, oc, alice)
        assert r.status_code == 403 and r.json()["type"].endswith("cross-org-lookup-forbidden")
        assert "does not allow lookups from outside" in r.json()["detail"]
        r = _raw_lookup(server, ac, out)
        assert r.status_code == 403 and r.json()["type"].endswith("cross-org-lookup-forbidden")
        assert "Your organization does not allow" in r.json()["detail"]
        with pytest.raises(AuthError):
            oc.lookup(alice)
        with pytest.raises(AuthError):
            oc.history(alice)
        with pytest.raises(AuthError):
            oc.invitations.temporary_key(invited)
        r = _raw_lookup(server, bc, alice)
        assert r.status_code == 200 and r.json()["org"]["require_online"] is True
        assert r.json()["org"]["default_expiry_days"] == 30
        assert bc.lookup(alice).fingerprint and bc.history(alice)
        assert bc.invitations.temporary_key(invited) is not None
        # the CLI shows it, and the CLI lookup is refused with one line
        ocfg = login_cli(server, out, tmp_path / "out-cli")
        r = cli(ocfg, "registry", "lookup", alice)
        assert r.returncode != 0 and "allow_cross_org_lookup" in r.stderr and "Traceback" not in r.stderr


def test_member_listing_policy(org_server, tmp_path):
    server = org_server
    root = signup(server, "root")
    create_org(server, root, tmp_path / "op")
    with client(server, root) as a:
        alice, ac = _member(server, a, "alice", tmp_path, publish=False)
        gone, _ = _member(server, a, "gone", tmp_path, publish=False)
        a.org.deactivate(gone)
        with pytest.raises(AuthError) as e:
            ac.org.directory()
        assert e.value.status == 403 and e.value.problem["type"].endswith("member-listing-forbidden")
        assert "an admin must allow it" in e.value.problem["detail"]
        acfg = login_cli(server, root, tmp_path / "root-cli")
        r = ok(cli(acfg, "org", "policies", "--set", "allow_member_listing=yes", "--json"))
        assert json.loads(r.stdout)["allow_member_listing"] is True
        found = [d["email"] for d in ac.org.directory()]
        assert alice in found and root in found and gone not in found
        assert [d["email"] for d in ac.org.directory(alice.split("@")[0])] == [alice]
        # outsiders never list
        out = signup(server, "outsider")
        with client(server, out) as oc, pytest.raises(AuthError) as e:
            oc.org.directory()
        assert e.value.problem["type"].endswith("not-a-member")


def _publish(server, c, addr, ident, storage=None):
    line = ident.public.line()
    stamp = rfc3339(datetime.now(UTC), precise=True)
    body = {
        "email": addr,
        "public_key": line,
        "timestamp": stamp,
        "signature": base64.b64encode(ident.sign(publish_message(addr, line, stamp))).decode(),
    }
    if storage:
        body["storage"] = storage
    with httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {c.token}"}) as h:
        return h.post("/api/v1/keys", json=body)


def test_device_keys_policy(org_server, tmp_path):
    server = org_server
    root = signup(server, "root")
    create_org(server, root, tmp_path / "op")
    with client(server, root) as a:
        a.org.set_policies({"allow_device_keys": False})
        alice, ac = _member(server, a, "alice", tmp_path, publish=False)
        ident = Identity.generate(alice)
        r = _publish(server, ac, alice, ident)
        assert r.status_code == 403 and r.json()["type"].endswith("device-keys-forbidden")
        assert _publish(server, ac, alice, ident, "device").status_code == 403
        with pytest.raises(AuthError):
            ac.publish(ident)  # the SDK publishes a device key by default
        assert ac.registry.publish(ident, storage="cloud").action == "publish"  # a cloud-stored key
        assert _publish(server, ac, alice, ident, "elsewhere").status_code == 422
        # outsiders are not concerned
        out = signup(server, "outsider")
        with client(server, out) as oc:
            assert _publish(server, oc, out, Identity.generate(out)).status_code == 200


def test_default_expiry_of_online_documents(org_server, tmp_path):
    server = org_server
    root = signup(server, "root")
    create_org(server, root, tmp_path / "op")
    with client(server, root, tmp_path / "root") as a:
        alice, ac = _member(server, a, "alice", tmp_path)
        me = ac.lookup(alice)
        doc = ac.keyserver.register(ac.keyserver.prepare(alice, [(alice, me)]), [alice])
        assert doc.expires_at is None
        a.org.set_policies(default_expiry_days=7)
        doc = ac.keyserver.register(ac.keyserver.prepare(alice, [(alice, me)]), [alice])
        assert doc.expires_at is not None
        assert abs((doc.expires_at - (datetime.now(UTC) + timedelta(days=7))).total_seconds()) < 120
        own = int(time.time()) + 3600  # an expiry the author chose stays
        doc = ac.keyserver.register(ac.keyserver.prepare(alice, [(alice, me)], expires=own), [alice])
        assert int(doc.expires_at.timestamp()) == own
        a.org.set_policies(default_expiry_days=None)
        assert a.org.info().policies["default_expiry_days"] is None
        for bad in (
            {"default_expiry_days": 0},
            {"no_such_policy": True},
            {"allow_member_listing": None},
            {"require_online": "maybe"},
        ):
            with pytest.raises(ServerError) as e:
                a.org.set_policies(bad)
            assert e.value.status == 422, bad


@pytest.fixture
def idp(tmp_path):
    """A SQLite server with the fake identity provider of tests/server."""
    from fake_idp import FakeIdP

    from c11.server.config import OidcProvider

    provider = FakeIdP()
    sock = loopback_socket()
    provider.issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
    idp_server, thread = serve_in_thread(provider.app(), sock)
    conf = OidcProvider(name="test", issuer=provider.issuer, client_id="c11-test", client_secret="test-client-secret")
    server = start_server(server_config(tmp_path / "data", f"sqlite:///{tmp_path / 'c11.db'}", oidc_providers=(conf,)))
    yield server, provider
    server.stop()
    idp_server.should_exit = True
    thread.join(timeout=10)


def test_preloaded_member_is_active_at_first_idp_login(idp, tmp_path):
    server, provider = idp
    root = signup(server, "root")
    create_org(server, root, tmp_path / "op")
    gina = new_email("gina")
    with client(server, root) as a:
        [added] = a.org.add_members([gina], generate_keys=True)
        assert added.status == "invited" and added.invitation["status"] == "pending"
        provider.user = {"sub": uuid.uuid4().hex, "email": gina, "email_verified": True}
        with httpx.Client(base_url=server.url, follow_redirects=True, timeout=30) as b:
            b.get("/api/v1/auth/oidc/test/login", params={"return_to": "/"})
            me = b.get("/api/v1/org").json()
        assert me["you"] == {"email": gina, "is_admin": False, "permissions": []}
        assert {m.email: m.status for m in a.org.list_members()}[gina] == "active"
