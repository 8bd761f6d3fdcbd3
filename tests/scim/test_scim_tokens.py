"""SCIM tokens: created, listed and revoked by admins holding crud:groups-scim-tokens-org (admin log entries),
shown once, stored hashed; bearer authentication of /scim/v2 (401 SCIM errors), expiry, last use."""

from __future__ import annotations

from datetime import timedelta

import httpx
from scimkit import SCIM_JSON, add_admin, admin_entries, db_query, new_org
from sqlalchemy import select, update

from c11.client import Client
from c11.client.scim import ScimTokensAPI
from c11.errors import AuthError, ServerError
from c11.server.db import utcnow
from c11.server.scim.models import ScimToken

PERM = "crud:groups-scim-tokens-org"


def test_create_list_revoke_through_the_sdk(org):
    with Client(org.server.url, org.admin_token) as c:
        api = ScimTokensAPI(c._core)
        created = api.create("okta", expires_in_days=30)
        assert created.token.startswith("c11scim_") and created.scim_url == f"{org.server.url}/scim/v2"
        assert "c11scim_" not in repr(created)
        assert created.info.expires_at is not None and created.info.created_by == org.admin
        listed = {t.id: t for t in api.list()}
        assert set(listed) == {org.scim_token_id, created.info.id}
        assert listed[created.info.id].last_used_at is None and not listed[created.info.id].revoked
        # the secret is shown once: nowhere in listings, and only its SHA-256 is stored
        assert (
            created.token
            not in httpx.get(
                f"{org.server.url}/api/v1/org/scim-tokens", headers={"authorization": f"Bearer {org.admin_token}"}
            ).text
        )
        stored = db_query(
            org.server, lambda s: s.scalar(select(ScimToken.token_hash).where(ScimToken.id == created.info.id))
        )
        assert stored != created.token and len(stored) == 64 and created.token not in stored

        with org.scim(created.token) as scim:
            assert scim.get("/Users").status_code == 200
        assert {t.id: t for t in api.list()}[created.info.id].last_used_at is not None

        api.revoke(created.info.id)
        assert {t.id: t for t in api.list()}[created.info.id].revoked
        with org.scim(created.token) as scim:
            r = scim.get("/Users")
        assert r.status_code == 401 and r.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        api.revoke(created.info.id)  # idempotent
        try:
            api.revoke("0" * 32)
            raise AssertionError("revoking an unknown token succeeded")
        except ServerError as e:
            assert e.status == 404
    actions = [(e["action"], e["target"]) for e in admin_entries(org.server, org.id)]
    assert ("scim-token.create", created.info.id) in actions and ("scim-token.revoke", created.info.id) in actions
    assert actions.count(("scim-token.revoke", created.info.id)) == 1
    entry = next(e for e in admin_entries(org.server, org.id) if e["action"] == "scim-token.create")
    assert entry["org"] == org.id and "@" not in entry["actor"] and len(entry["actor"]) == 64


def test_routes_need_the_permission(org):
    other_admin, other_token = add_admin(org, {"crud:members-org", "crud:groups-org"})
    member, member_token = add_admin(org, set())
    for token in (other_token, member_token):
        with Client(org.server.url, token) as c:
            api = ScimTokensAPI(c._core)
            for call in (lambda api=api: api.create("x"), api.list, lambda api=api: api.revoke(org.scim_token_id)):
                try:
                    call()
                    raise AssertionError("allowed without the permission")
                except AuthError as e:
                    assert e.status == 403
    # granted the permission, the other admin can manage the organization's tokens
    granted, granted_token = add_admin(org, {PERM})
    with Client(org.server.url, granted_token) as c:
        assert org.scim_token_id in [t.id for t in ScimTokensAPI(c._core).list()]
    anon = httpx.get(f"{org.server.url}/api/v1/org/scim-tokens")
    assert anon.status_code == 401


def test_admins_see_only_their_organizations_tokens(scim_server):
    a, b = new_org(scim_server), new_org(scim_server)
    with Client(scim_server.url, a.admin_token) as c:
        api = ScimTokensAPI(c._core)
        assert [t.id for t in api.list()] == [a.scim_token_id]
        try:
            api.revoke(b.scim_token_id)
            raise AssertionError("revoked another organization's token")
        except ServerError as e:
            assert e.status == 404
    with b.scim() as scim:
        assert scim.get("/Users").status_code == 200


def test_bearer_authentication_of_scim_requests(org):
    url = f"{org.server.url}/scim/v2/Users"
    for headers in (
        {},
        {"authorization": "Bearer"},
        {"authorization": "Basic dXNlcjpwYXNz"},
        {"authorization": "Bearer c11scim_not-a-token"},
        {"authorization": f"Bearer {org.scim_token}x"},
        {"authorization": f"Bearer {org.admin_token}"},
    ):  # a login session is not a SCIM token
        r = httpx.get(url, headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["content-type"].startswith(SCIM_JSON)
        assert r.json() == {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": "401",
            "detail": "Send a valid SCIM token as a bearer token.",
        }
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert httpx.get(url, headers={"authorization": f"bearer {org.scim_token}"}).status_code == 200
    # authentication comes before reading the body
    assert httpx.post(url, content=b"{not json").status_code == 401
    assert httpx.patch(f"{url}/{'0' * 32}", content=b"{not json").status_code == 401


def test_expired_tokens_are_refused(org):
    with Client(org.server.url, org.admin_token) as c:
        created = ScimTokensAPI(c._core).create("short", expires_in_days=1)
    with org.scim(created.token) as scim:
        assert scim.get("/ServiceProviderConfig").status_code == 200
        db_query(
            org.server,
            lambda s: s.execute(
                update(ScimToken)
                .where(ScimToken.id == created.info.id)
                .values(expires_at=utcnow() - timedelta(seconds=1))
            ),
        )
        assert scim.get("/ServiceProviderConfig").status_code == 401


def test_bad_token_requests(org):
    h = {"authorization": f"Bearer {org.admin_token}"}
    url = f"{org.server.url}/api/v1/org/scim-tokens"
    assert httpx.post(url, json={"name": ""}, headers=h).status_code == 422
    assert httpx.post(url, json={"name": "x", "expires_in_days": 0}, headers=h).status_code == 422
    assert httpx.post(url, json={"name": "x" * 101}, headers=h).status_code == 422
    r = httpx.post(url, json={"name": "forever"}, headers=h)
    assert r.status_code == 201 and r.json()["expires_at"] is None
