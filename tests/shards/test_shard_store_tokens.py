"""The shard store trusts only store tokens of its c11 server for this user, this store and this action, once,
before they expire, and only together with the user's own store session (OPAQUE login at the store); it answers
only once the server logged the request (fail closed)."""

from __future__ import annotations

import base64
import json

import httpx
from shardkit import start_env, start_store_thread, verified_user

from c11._web import shard_tokens as tokens
from c11.client import Client
from c11.keys.identity import Identity


def _get(
    store: str, token: str | None, method: str = "GET", body: dict | None = None, session: str | None = None
) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    if session:
        headers["c11-store-session"] = session
    return httpx.request(method, store + "/v1/shard", headers=headers, json=body, timeout=30)


def _token(c: Client, store: str, action: str = "get") -> str:
    return c._core.request("POST", "/api/v1/shards/tokens", {"store": store, "action": action})["token"]


def _forge_claims(token: str, **changes: object) -> str:
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{body}.{sig}"


def test_store_refuses_foreign_expired_replayed_and_forged_tokens(shard_env, tmp_path):
    env = shard_env
    store = env.stores[0].url
    alice, bob = verified_user(env.server, "alice"), verified_user(env.server, "bob")
    with Client(env.server.url, alice["token"]) as a, Client(env.server.url, bob["token"]) as b:
        a.state_dir, b.state_dir = tmp_path / "a", tmp_path / "b"
        a.shards.password = alice["password"]
        alice_id = a.shards.status().user_id
        mine = Identity.generate(alice["email"])
        a.shards.create(mine)
        session = a.shards.sessions.get(store, alice_id)
        assert session

        # a good token with Alice's store session works once; the replay is refused
        good = _token(a, store)
        r = _get(store, good, session=session)
        assert r.status_code == 200 and r.json()["log_index"] >= 0
        replay = _get(store, good, session=session)
        assert replay.status_code == 401 and "already used" in replay.json()["detail"]
        # a good token alone (what the c11 server can mint) releases nothing
        r = _get(store, _token(a, store))
        assert r.status_code == 401 and r.json()["type"].endswith(":store-login-required") and "shard" not in r.json()

        # issued for another user: Bob's token never reaches Alice's shard (even with her session), nor can it
        # overwrite it
        r = _get(store, _token(b, store), session=session)
        assert r.status_code == 401 and "shard" not in r.json()
        from c11.keys import cloudkey

        stolen = cloudkey.make_shards(Identity.generate(alice["email"]), alice_id)[1]
        r = _get(store, _token(b, store, "put"), "PUT", {"shard": stolen.b64()}, session=session)
        assert r.status_code == 401
        # Bob edits his token to name Alice: the signature no longer verifies
        r = _get(store, _forge_claims(_token(b, store), sub=alice_id))
        assert r.status_code == 401 and "signature" in r.json()["detail"]

        # issued for another store
        r = _get(store, _token(a, "http://127.0.0.1:9/other-store"), session=session)
        assert r.status_code == 401 and "another store" in r.json()["detail"]
        # issued for another action
        r = _get(store, _token(a, store, "delete"), session=session)
        assert r.status_code == 401 and "not get" in r.json()["detail"]

        # expired: a token the server's own key signed, minted already expired
        key = tokens.load_or_create_key(env.server.data_dir / "secrets")
        old = tokens.issue(key, issuer=env.server.url, user_id=alice_id, store=store, action="get", ttl=-5)
        r = _get(store, old.token, session=session)
        assert r.status_code == 401 and "expired" in r.json()["detail"]
        # too long-lived, or signed by another key, or none at all
        long = tokens.issue(key, issuer=env.server.url, user_id=alice_id, store=store, action="get", ttl=86400)
        assert _get(store, long.token, session=session).status_code == 401
        from joserfc.jwk import OKPKey

        other = tokens.issue(
            OKPKey.generate_key("Ed25519"), issuer=env.server.url, user_id=alice_id, store=store, action="get", ttl=60
        )
        assert _get(store, other.token, session=session).status_code == 401
        assert _get(store, None, session=session).status_code == 401
        assert _get(store, "not.a.token", session=session).status_code == 401

        # none of the refused attempts was logged as a fetch; the good one was, once
        entries = [json.loads(d) for _, d in a.log.entries(0)]
        fetches = [e for e in entries if e["kind"] == "shard" and e["action"] == "fetch" and e["store"] == store]
        from c11.log.entries import email_hash

        assert email_hash(alice["email"]) not in json.dumps(fetches)
        mine = [
            o
            for o in a.log.openings(alice["email"])
            if o.kind == "shard" and o.fields["action"] == "fetch" and o.fields["store"] == store
        ]
        assert len(mine) == 1 and mine[0].person == email_hash(alice["email"])


def test_server_logs_each_store_token_once_and_refuses_others(shard_env, tmp_path):
    env = shard_env
    user = verified_user(env.server)
    with Client(env.server.url, user["token"]) as c:
        tok = _token(c, "http://127.0.0.1:9")
    with httpx.Client(base_url=env.server.url, timeout=30) as h:
        first = h.post("/api/v1/shards/uses", headers={"authorization": f"Bearer {tok}"})
        again = h.post("/api/v1/shards/uses", headers={"authorization": f"Bearer {tok}"})
        assert first.status_code == 200 and again.json()["log_index"] == first.json()["log_index"]
        assert (
            h.post(
                "/api/v1/shards/uses", headers={"authorization": f"Bearer {_forge_claims(tok, act='put')}"}
            ).status_code
            == 401
        )
        assert h.post("/api/v1/shards/uses", headers={"authorization": "Bearer c11s_session"}).status_code == 401
        key = h.get("/api/v1/shards/token-key").json()
        assert key["jwk"]["kty"] == "OKP" and "d" not in key["jwk"] and key["alg"] == "Ed25519"


def test_store_fails_closed_when_the_server_cannot_log(shard_env, tmp_path):
    """A store answers no shard unless the c11 server logged the fetch and the log proves it."""
    env = shard_env
    user = verified_user(env.server)
    side = start_store_thread(env.server.url, tmp_path / "side-store")
    try:
        with Client(env.server.url, user["token"]) as c:
            c.state_dir = tmp_path
            c.shards.password = user["password"]
            me = Identity.generate(user["email"])
            c.shards.create(me, stores=[side.url])
            session = c.shards.sessions.get(side.url, c.shards.status().user_id)
            assert _get(side.url, _token(c, side.url), session=session).status_code == 200
            store = side.app.state.store
            store.trust.http = httpx.Client(base_url="http://127.0.0.1:9", timeout=2)  # the server is unreachable
            r = _get(side.url, _token(c, side.url), session=session)
            assert r.status_code == 503 and "shard" not in r.json() and "logged" in r.json()["detail"]
    finally:
        side.stop()


def test_store_with_a_pinned_key_refuses_another_servers_key(shard_env, tmp_path):
    env = shard_env
    user = verified_user(env.server)
    from srvkit import loopback_socket, serve_in_thread

    from c11.shardstore.app import create_app
    from c11.shardstore.config import StoreConfig

    sock = loopback_socket()
    port = sock.getsockname()[1]
    app = create_app(
        StoreConfig(data_dir=tmp_path / "pinned", server=env.server.url, port=port, server_key="not-the-servers-key")
    )
    server, thread = serve_in_thread(app, sock)
    try:
        url = f"http://127.0.0.1:{port}"
        with Client(env.server.url, user["token"]) as c:
            r = _get(url, _token(c, url, "put"), "PUT", {"shard": "AA=="})
        assert r.status_code == 401 and "not the --server-key" in r.json()["detail"]
        assert not (tmp_path / "pinned" / "server-key.json").exists()
    finally:
        server.should_exit = True
        thread.join(10)


def test_two_stores_hold_shards_two_and_three(tmp_path):
    env = start_env(tmp_path, f"sqlite:///{tmp_path / 'c11.db'}", "sqlite", stores=2, threads=True)
    try:
        user = verified_user(env.server)
        with Client(env.server.url, user["token"]) as c:
            c.state_dir = tmp_path / "state"
            c.shards.password = user["password"]
            me = Identity.generate(user["email"])
            created = c.shards.create(me)
            assert created.recovery is None
            assert [(p.where, p.url) for p in created.placements] == [
                ("server", None),
                ("store", env.stores[0].url),
                ("store", env.stores[1].url),
            ]
            env.stores[0].stop()  # one store gone: the other still gives the second shard
            fetched = c.shards.fetch()
            assert fetched.identity.fingerprint == me.fingerprint
            assert fetched.sources == (env.server.url, env.stores[1].url)
    finally:
        env.stores = env.stores[1:]
        env.stop()
