"""Accounts without a password (docs/shards.md §8.5): the shard store logs the person in through its own client
registration at their identity provider and checks the ID token itself; the c11 server can mint no such login."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from shardkit import verified_user
from srvkit import loopback_socket, serve_in_thread

from c11._web import shard_tokens as store_tokens
from c11.client import Client
from c11.errors import CloudKeyError, ServerError
from c11.keys.identity import Identity


@pytest.fixture(scope="module")
def idp() -> Iterator[Any]:
    from fake_idp import FakeIdP

    provider = FakeIdP(clients={"c11-test": "c11-server-secret", "c11-store": "store-secret"})
    sock = loopback_socket()
    provider.issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server, thread = serve_in_thread(provider.app(), sock)
    yield provider
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture()
def oidc_store(shard_env, idp, tmp_path) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    from c11.shardstore.app import create_app
    from c11.shardstore.config import StoreConfig

    sock = loopback_socket()
    port = sock.getsockname()[1]
    app = create_app(
        StoreConfig(
            data_dir=tmp_path / "oidc-store",
            server=shard_env.server.url,
            port=port,
            oidc_issuer=idp.issuer,
            oidc_client_id="c11-store",
            oidc_client_secret="store-secret",
        )
    )
    server, thread = serve_in_thread(app, sock)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _browser(url: str) -> None:
    """The person's browser: the provider approves and redirects to the CLI's loopback listener."""
    httpx.get(url, follow_redirects=True, timeout=30)


@pytest.mark.parametrize("shard_env", ["sqlite"], indirect=True)  # no database at stake: once
def test_store_logs_in_with_its_own_idp_client(shard_env, idp, oidc_store, tmp_path, monkeypatch):
    monkeypatch.delenv("C11_PASSWORD", raising=False)
    env = shard_env
    user = verified_user(env.server, "oidc")
    idp.user = {"sub": "idp-person-1", "email": user["email"], "email_verified": True}
    me = Identity.generate(user["email"])
    with Client(env.server.url, user["token"]) as c:
        c.state_dir = tmp_path / "dev1"
        c.shards.oidc_open = _browser
        user_id = c.shards.status().user_id
        c.shards.create(me, stores=[oidc_store])  # binds idp-person-1 to this user at the store
    # a new device: only the c11 login and the provider login
    with Client(env.server.url, user["token"]) as c2:
        c2.state_dir = tmp_path / "dev2"
        with pytest.raises(CloudKeyError):
            c2.shards.fetch()  # neither a password nor a provider login: the store gives nothing
        c2.shards.oidc_open = _browser
        assert c2.shards.fetch().identity.enc_seed == me.enc_seed

    # the c11 server's own means: a minted store token, and a code of its own client at the provider
    key = store_tokens.load_or_create_key(env.server.data_dir / "secrets")
    minted = store_tokens.issue(key, issuer=env.server.url, user_id=user_id, store=oidc_store, action="get", ttl=60)
    r = httpx.get(oidc_store + "/v1/shard", headers={"authorization": f"Bearer {minted.token}"})
    assert r.status_code == 401 and "shard" not in r.json()
    with httpx.Client(timeout=30) as h:
        started = h.post(oidc_store + "/v1/oidc/start", json={"redirect_uri": "http://127.0.0.1:9/callback"}).json()
        own = h.get(
            f"{idp.issuer}/authorize",
            params={
                "response_type": "code",
                "client_id": "c11-test",
                "redirect_uri": "http://127.0.0.1:9/callback",
                "scope": "openid",
                "code_challenge": "x" * 43,
                "code_challenge_method": "S256",
                "nonce": "n",
            },
        )
        code = parse_qs(urlsplit(own.headers["location"]).query)["code"][0]
        r = h.post(
            oidc_store + "/v1/oidc/finish",
            json={"state": started["state"], "code": code},
            headers={"authorization": f"Bearer {minted.token}"},
        )
        assert r.status_code == 401 and "session" not in r.json()
        # another provider account, even with a put token naming the user, is not bound to the user
        idp.user = {"sub": "idp-someone-else", "email": "x@example.com", "email_verified": True}
        put = store_tokens.issue(key, issuer=env.server.url, user_id=user_id, store=oidc_store, action="put", ttl=60)
        with Client(env.server.url, user["token"]) as c3:
            c3.state_dir = tmp_path / "dev3"
            c3.shards.oidc_open = _browser
            with pytest.raises(ServerError) as e:
                c3.shards._oidc_login(oidc_store, user_id)
            assert e.value.status == 404  # bound to nobody
        started = h.post(oidc_store + "/v1/oidc/start", json={"redirect_uri": "http://127.0.0.1:9/callback"}).json()
        url = h.get(started["url"]).headers["location"]
        code = parse_qs(urlsplit(url).query)["code"][0]
        r = h.post(
            oidc_store + "/v1/oidc/finish",
            json={"state": started["state"], "code": code},
            headers={"authorization": f"Bearer {put.token}"},
        )
        assert r.status_code == 401
        # a token with the wrong nonce is refused; only loopback redirects are allowed
        idp.user = {"sub": "idp-person-1", "email": user["email"], "email_verified": True}
        idp.wrong_nonce = True
        try:
            started = h.post(oidc_store + "/v1/oidc/start", json={"redirect_uri": "http://127.0.0.1:9/callback"}).json()
            code = parse_qs(urlsplit(h.get(started["url"]).headers["location"]).query)["code"][0]
            r = h.post(oidc_store + "/v1/oidc/finish", json={"state": started["state"], "code": code})
            assert r.status_code == 401 and "ID token" in r.json()["detail"]
        finally:
            idp.wrong_nonce = False
        assert (
            h.post(oidc_store + "/v1/oidc/start", json={"redirect_uri": "https://evil.example/callback"}).status_code
            == 422
        )


@pytest.mark.parametrize("shard_env", ["sqlite"], indirect=True)
def test_operator_cannot_bind_its_idp_account_to_an_old_shard(shard_env, idp, oidc_store, tmp_path):
    """A shard stored before store logins existed (no record, no binding): the c11 server mints a put token for
    its owner and finishes a store OIDC login with its own provider account. No binding, no session, no shard;
    the put token is single use and logged."""
    import sqlalchemy as sa

    env = shard_env
    user = verified_user(env.server, "legacy")
    with Client(env.server.url, user["token"]) as c:
        user_id = c.shards.status().user_id
    db = sa.create_engine(f"sqlite:///{tmp_path / 'oidc-store' / 'shard-store.db'}")
    with db.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO shards (server, user_id, fingerprint, shard_index, shard, updated_at) "
                "VALUES (:s, :u, 'f', 2, :b, '2026-01-01 00:00:00')"
            ),
            {"s": env.server.url, "u": user_id, "b": b"old shard"},
        )
    key = store_tokens.load_or_create_key(env.server.data_dir / "secrets")
    put = store_tokens.issue(key, issuer=env.server.url, user_id=user_id, store=oidc_store, action="put", ttl=60)
    idp.user = {"sub": "idp-operator", "email": "operator@example.com", "email_verified": True}
    with httpx.Client(timeout=30) as h:

        def finish(token: str) -> httpx.Response:
            started = h.post(oidc_store + "/v1/oidc/start", json={"redirect_uri": "http://127.0.0.1:9/callback"})
            code = parse_qs(urlsplit(h.get(started.json()["url"]).headers["location"]).query)["code"][0]
            return h.post(
                oidc_store + "/v1/oidc/finish",
                json={"state": started.json()["state"], "code": code},
                headers={"authorization": f"Bearer {token}"},
            )

        r = finish(put.token)
        assert r.status_code == 409 and "session" not in r.json()
        assert r.json()["type"].endswith(":unprotected-shard") and "store the key again" in r.json()["detail"]
        r = finish(put.token)  # the token was used (and logged) by the first try
        assert r.status_code == 401 and "already used" in r.json()["detail"]
    with db.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT count(*) FROM oidc_bindings WHERE user_id = :u"), {"u": user_id}).scalar() == 0
        )
    db.dispose()
    uses = sa.create_engine(env.server.config.database_url)
    with uses.connect() as conn:
        assert (
            conn.execute(sa.text("SELECT count(*) FROM shard_token_uses WHERE jti = :j"), {"j": put.jti}).scalar() == 1
        )
    uses.dispose()
