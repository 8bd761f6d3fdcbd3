"""Authorization: every route in the OpenAPI document refuses anonymous callers unless it is in
PUBLIC_ROUTES, and a user cannot touch another user's objects."""

from __future__ import annotations

import re

import pytest
from srvkit import PASSWORD, anon, authed, new_email

from c11.client import Client
from c11.errors import ServerError

#: The only routes an anonymous caller may use. Adding one here is a security decision.
PUBLIC_ROUTES = {
    ("GET", "/healthz"),
    # operations (docs/server.md "Operations"): readiness says which check failed, never a secret; /metrics
    # answers loopback clients through no proxy, or a scrape with C11_METRICS_TOKEN
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    # sign-up is an OPAQUE registration (docs/server.md "Password flows (OPAQUE)"): start, then the account
    ("POST", "/api/v1/accounts/signup/start"),
    ("POST", "/api/v1/accounts"),
    ("GET", "/api/v1/accounts/verify"),  # the link's page: says how to confirm (a login + the token)
    ("POST", "/api/v1/sessions"),  # the password login of accounts made before OPAQUE, once
    # password reset by email: ask for a link (same answer for any address), the link's page, use the link
    # (a new OPAQUE registration under the link's token)
    ("POST", "/api/v1/accounts/password-reset"),
    ("GET", "/api/v1/accounts/password-reset"),
    ("POST", "/api/v1/accounts/password-reset/start"),
    ("POST", "/api/v1/accounts/password-reset/complete"),
    # the OPAQUE login (docs/shards.md §8)
    ("POST", "/api/v1/sessions/opaque/start"),
    ("POST", "/api/v1/sessions/opaque/finish"),
    ("GET", "/api/v1/auth/oidc/providers"),
    ("GET", "/api/v1/auth/oidc/{provider}/login"),
    ("GET", "/api/v1/auth/oidc/{provider}/callback"),
    ("POST", "/api/v1/auth/oidc/token"),
    # the transparency log is public so that outside auditors can check it (docs/registry.md)
    ("GET", "/api/v1/log/key"),
    ("GET", "/api/v1/log/checkpoint"),
    ("GET", "/api/v1/log/entries"),
    ("GET", "/api/v1/log/proof/inclusion"),
    ("GET", "/api/v1/log/proof/consistency"),
    ("GET", "/api/v1/log/handovers"),  # log key hand-overs (docs/log.md section 9)
    ("POST", "/api/v1/log/checkpoints"),  # a client or witness reports a checkpoint it kept (fork detection)
    # the key server's public key: authors seal online-policy shares to it (docs/keyserver.md)
    ("GET", "/api/v1/keyserver/key"),
    # the key shard stores verify store tokens with (docs/shards.md); POST /api/v1/shards/uses is not public:
    # it needs a store token and answers 401 without one
    ("GET", "/api/v1/shards/token-key"),
    # a domain's confirmation link mailed to postmaster@/admin@ (the token is the credential): its page and
    # its button (docs/organizations.md#domains-and-consent)
    ("GET", "/api/v1/domain-confirmations"),
    ("POST", "/api/v1/domain-confirmations"),
}
_DUMMY_ID = "0" * 32


def _routes(server) -> list[tuple[str, str]]:
    with anon(server) as h:
        doc = h.get("/openapi.json").json()
    return [
        (m.upper(), p) for p, ops in doc["paths"].items() for m in ops if m in {"get", "post", "put", "patch", "delete"}
    ]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", _DUMMY_ID, path)


def test_public_allow_list_is_current(server):
    routes = set(_routes(server))
    assert PUBLIC_ROUTES <= routes, f"stale entries: {PUBLIC_ROUTES - routes}"


def test_every_other_route_refuses_anonymous_callers(server):
    routes = [r for r in _routes(server) if r not in PUBLIC_ROUTES]
    assert len(routes) >= 6
    with anon(server) as h:
        for method, path in routes:
            r = h.request(method, _concrete(path))
            assert r.status_code == 401, (method, path, r.status_code)
            # SCIM answers RFC 7644 error bodies, as identity providers expect (docs/organizations.md#scim)
            assert r.headers["content-type"] == (
                "application/scim+json" if path.startswith("/scim/v2/") else "application/problem+json"
            )
            assert r.headers.get("www-authenticate", "").startswith("Bearer")


@pytest.mark.parametrize("bad", ["c11s_forged", "c11t_forged", "garbage", "c11t_"])
def test_every_route_refuses_bad_tokens(server, bad):
    with authed(server, bad) as h:
        for method, path in _routes(server):
            if (method, path) not in PUBLIC_ROUTES:
                assert h.request(method, _concrete(path)).status_code == 401, (method, path)


def test_another_users_tokens_are_out_of_reach(server, user):
    other = new_email("mallory")
    with Client(server.url) as m:
        m.signup(other, PASSWORD)
        m.login(other, PASSWORD)
        with Client(server.url, user["token"]) as a:
            victim = a.tokens.create("victim", ["keys:read"], 1)
        assert victim.info.id not in {t.id for t in m.tokens.list()}
        with pytest.raises(ServerError) as e:
            m.tokens.revoke(victim.info.id)
        assert e.value.status in (403, 404)
    with Client(server.url, victim.token) as v:
        assert v.whoami().email == user["email"]  # still valid


def test_routes_with_object_ids_refuse_other_users(server, user):
    """Each route with a path parameter, called by another user on this user's object, is refused."""
    with Client(server.url, user["token"]) as a:
        objects = {
            "token_id": a.tokens.create("mine", ["keys:read"], 1).info.id,
            "policy_id": a.policies.record([{"email": "someone@example.com"}]).id,
            "invitation_id": _invitation(server, a, user["email"]),  # verifies the email first
            "doc_id": _online_document(a, user["email"]),
            # groups and recovery keys of an organization: refused to anyone not in it (tests/groups)
            "name": "finance",
            "key_id": "0" * 32,
            # SCIM: a login session is no SCIM token (401); organizations' isolation: tests/scim
            "member_id": "0" * 32,
            "group_id": "0" * 32,
            "rid": "User",
            # an organization's domains: refused to anyone who is not its admin (tests/orgs)
            "domain": "example.com",
            # document requests and templates: another user's are not found; a login is not a request's link
            "request_id": "0" * 26,
            "template_id": "0" * 32,
            "n": 0,
            # uploads and sends (docs/sharing.md): another user's are not found
            **_upload_and_send(a),
        }
    other = new_email("eve")
    with Client(server.url) as e:
        e.signup(other, PASSWORD)
        token = e.login(other, PASSWORD).token
    checked = 0
    with authed(server, token) as h:
        for method, path in _routes(server):
            names = re.findall(r"\{([^}]+)\}", path)
            if (method, path) in PUBLIC_ROUTES or not names:
                continue
            assert all(n in objects for n in names), f"add an object for {path} to this test"
            url = path.format(**objects)
            refused = (401,) if path.startswith("/scim/v2/") else (403, 404)
            assert h.request(method, url).status_code in refused, (method, path)
            checked += 1
    assert checked >= 1


def _online_document(client, email: str) -> str:
    """An online-policy document registered by `client` (its author), for the cross-user checks."""
    from c11.keys.identity import Identity

    seal = client.keyserver.prepare(email, [(email, Identity.generate(email).public)])
    client.keyserver.register(seal)
    return seal.policy.doc_uuid


def _invitation(server, client, email: str) -> str:
    """An invitation sent by `client` (whose email gets verified first: only verified users invite)."""
    from srvkit import confirm_email, outbox_message, verification_link

    confirm_email(verification_link(outbox_message(server.data_dir, email)))
    return client.invitations.invite([new_email("invitee")])[0].id


def _upload_and_send(a: Client) -> dict[str, str]:
    """An upload, and a send of another upload, of the client's user: {upload_id, send_id, blob_id}."""
    import tempfile
    from pathlib import Path

    from c11.client.sharing import SharingAPI

    api = SharingAPI(a)
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "blob"
        f.write_bytes(b"ciphertext")
        upload_id, blob_id = api.upload(f), api.upload(f)
    send_id = api.create(["someone@example.com"], b"envelope", [blob_id])["id"]
    return {"upload_id": upload_id, "send_id": send_id, "blob_id": blob_id}
