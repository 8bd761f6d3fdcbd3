"""Machine tokens over real HTTP: create with scopes and expiry, shown once, list, revoke, scope checks."""

from __future__ import annotations

import pytest
from srvkit import authed

from c11.client import Client, opaque_login
from c11.errors import AuthError, ServerError


def test_create_list_use_revoke(server, user):
    with Client(server.url, user["token"]) as c:
        created = c.tokens.create("ci", ["keys:read", "tokens:manage"], expires_in_days=7)
        assert created.token.startswith("c11t_")
        assert "c11t_" not in repr(created)
        listed = {t.id: t for t in c.tokens.list()}
        assert set(listed[created.info.id].scopes) == {"keys:read", "tokens:manage"}
        days = (listed[created.info.id].expires_at - listed[created.info.id].created_at).days
        assert days == 7
    with authed(server, user["token"]) as h:
        assert created.token not in h.get("/api/v1/tokens").text  # shown once, never listed
    with Client(server.url, created.token) as m:
        me = m.whoami()
        assert me.auth_kind == "token" and set(me.scopes) == {"keys:read", "tokens:manage"}
        m.tokens.revoke(created.info.id)
        with pytest.raises(AuthError):
            m.whoami()
    with Client(server.url, user["token"]) as c:
        assert {t.id: t for t in c.tokens.list()}[created.info.id].revoked


def test_scope_is_enforced(server, user):
    with Client(server.url, user["token"]) as c:
        reader = c.tokens.create("reader", ["keys:read"], 1)
    with Client(server.url, reader.token) as m:
        assert m.whoami().email == user["email"]
        with pytest.raises(AuthError) as e:
            m.tokens.list()
    assert e.value.status == 403


def test_token_cannot_grant_more_than_it_has(server, user):
    with Client(server.url, user["token"]) as c:
        manager = c.tokens.create("manager", ["tokens:manage"], 1)
    with Client(server.url, manager.token) as m, pytest.raises(AuthError):
        m.tokens.create("escalate", ["keys:write"], 1)


def test_unknown_scope_and_bad_expiry(server, user):
    with Client(server.url, user["token"]) as c:
        with pytest.raises(ServerError) as e:
            c.tokens.create("x", ["root:everything"], 1)
        assert e.value.status == 422
        with pytest.raises(ServerError) as e:
            c.tokens.create("x", ["keys:read"], 0)
        assert e.value.status == 422


def test_machine_token_cannot_change_password_or_logout(server, user):
    with Client(server.url, user["token"]) as c:
        tok = c.tokens.create("all", ["keys:read", "tokens:manage"], 1)
    with Client(server.url, tok.token) as m:
        with pytest.raises(AuthError):  # a machine token cannot (re-)register the OPAQUE record
            opaque_login.register(m, "something else entirely")
        with pytest.raises(ServerError) as e:
            m.logout()
        assert e.value.status == 400


def test_expired_token_is_refused(server, user):
    import sqlalchemy as sa

    from c11.server.db import make_engine

    with Client(server.url, user["token"]) as c:
        tok = c.tokens.create("short", ["keys:read"], 1)
    engine = make_engine(server.config.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE machine_tokens SET expires_at = :p WHERE id = :id"),
                {"p": "2000-01-01 00:00:00+00:00", "id": tok.info.id},
            )
    finally:
        engine.dispose()
    with Client(server.url, tok.token) as m, pytest.raises(AuthError):
        m.whoami()
