"""OPAQUE logins (docs/shards.md §8): at the c11 server (the path of every account made since OPAQUE sign-up) and
at the shard store, with separate registrations. A stolen record of one server helps neither to log in there nor at the
other; with a strong password an offline guess against one's own record fails."""

from __future__ import annotations

import secrets

import httpx
import pytest
import sqlalchemy as sa
from srvkit import confirm_email, new_email, outbox_message, verification_link

from c11._web import pake
from c11.client import Client, opaque_login
from c11.errors import AuthError, ServerError
from c11.keys.identity import Identity

_GUESSES = [
    "123456",
    "password",
    "qwerty",
    "letmein",
    "correct horse battery staple",
    "Password1!",
    "iloveyou",
    "admin",
    "welcome",
    "monkey",
    "dragon",
    "111111",
]


def _strong_user(server_url: str, data_dir) -> dict[str, str]:  # type: ignore[no-untyped-def]
    email, password = new_email("opaque"), secrets.token_urlsafe(18)
    with Client(server_url) as c:
        c.signup(email, password)
        confirm_email(verification_link(outbox_message(data_dir, email)), password)
        token = c.login(email, password).token
    return {"email": email, "password": password, "token": token}


def _offline(setup: bytes, record: bytes, cred: bytes, guess: str) -> bool:
    """The attacker's offline test of one guess against a stolen record and the setup of its server."""
    login = pake.ClientLogin.start(guess)
    ke2, state = pake.ServerSetup(setup).login_start(record, login.request, cred)
    try:
        final, _ = login.finish(ke2)
        pake.login_finish(state, final)
        return True
    except AuthError:
        return False


def _rows(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            return [tuple(r) for r in c.execute(sa.text(sql))]
    finally:
        engine.dispose()


def test_c11_server_opaque_login(shard_env):
    env = shard_env
    user = _strong_user(env.server.url, env.server.data_dir)
    with Client(env.server.url) as c:  # registered at sign-up: OPAQUE from the first login
        result = opaque_login.login(c, user["email"], user["password"])
        assert result is not None and result.user.email == user["email"]
        assert c.whoami().email == user["email"]
        with pytest.raises(AuthError):
            opaque_login.login(c, user["email"], user["password"] + "x")
    # the login state is single use and gone once the login finished
    with Client(env.server.url) as c:
        attempt = pake.ClientLogin.start(user["password"])
        d = c._core.request(
            "POST",
            "/api/v1/sessions/opaque/start",
            {"email": user["email"], "request": pake.b64u(attempt.request)},
            auth=False,
        )
        final, _ = attempt.finish(pake.unb64u(d["response"]))
        body = {"login_id": d["login_id"], "finalization": pake.b64u(final)}
        with httpx.Client(base_url=env.server.url) as h:
            assert h.post("/api/v1/sessions/opaque/finish", json=body).status_code == 201
            assert h.post("/api/v1/sessions/opaque/finish", json=body).status_code == 401
            assert (
                h.post("/api/v1/sessions/opaque/start", json={"email": user["email"], "request": "!!"}).status_code
                == 422
            )
    assert (
        _rows(env.server.config.database_url, f"SELECT count(*) FROM opaque_logins WHERE id = '{d['login_id']}'")[0][0]
        == 0
    )
    # registering needs a login session, not a machine token
    with Client(env.server.url, user["token"]) as c:
        machine = c.tokens.create("robot", ["keys:read"], 1).token
    with Client(env.server.url, machine) as m, pytest.raises(AuthError):
        opaque_login.register(m, "another password")
    # c11 passwd: an OPAQUE login with the old password, a new registration; the old one no longer logs in
    new = secrets.token_urlsafe(18)
    with Client(env.server.url, user["token"]) as c:
        c.change_password(user["password"], new)
        with pytest.raises(AuthError):
            opaque_login.login(c, user["email"], user["password"])
        assert opaque_login.login(c, user["email"], new) is not None


def test_stolen_records_help_neither_server(shard_env, tmp_path):
    env = shard_env
    store = env.stores[0]
    user = _strong_user(env.server.url, env.server.data_dir)
    with Client(env.server.url, user["token"]) as c:
        c.state_dir = tmp_path
        c.shards.password = user["password"]
        user_id = c.shards.status().user_id
        c.shards.create(Identity.generate(user["email"]))

    # what a breach of each server gives: its database row and its OPAQUE setup
    c11_record = _rows(
        env.server.config.database_url, f"SELECT record FROM opaque_credentials WHERE user_id = '{user_id}'"
    )[0][0]
    c11_setup = (env.server.data_dir / "secrets" / "opaque-setup.key").read_bytes()
    store_db = f"sqlite:///{store.data_dir / 'shard-store.db'}"
    store_record = _rows(store_db, f"SELECT record FROM opaque_records WHERE user_id = '{user_id}'")[0][0]
    store_setup = (store.data_dir / "opaque-setup.key").read_bytes()
    c11_cred, store_cred = pake.credential_id("c11", user_id), pake.credential_id(env.server.url, user_id)
    assert bytes(c11_record) != bytes(store_record) and c11_setup != store_setup
    password_hash = _rows(env.server.config.database_url, f"SELECT password_hash FROM users WHERE id = '{user_id}'")[0][
        0
    ]
    assert password_hash is None  # an account made with OPAQUE has no Argon2 hash to attack
    for blob in (c11_record, store_record, c11_setup, store_setup):
        assert user["password"].encode() not in bytes(blob)

    # control: the attack code works, with the password (each record opens only with its own server's setup)
    assert _offline(c11_setup, c11_record, c11_cred, user["password"])
    assert _offline(store_setup, store_record, store_cred, user["password"])
    assert not _offline(c11_setup, store_record, store_cred, user["password"])
    assert not _offline(store_setup, c11_record, c11_cred, user["password"])

    # an offline guess against one's own record fails for a strong password: at the c11 server, at the store
    guesses = [*_GUESSES, user["email"], user["email"].split("@")[0], pake.b64u(bytes(store_record))[:64]]
    for guess in guesses:
        assert not _offline(c11_setup, c11_record, c11_cred, guess)
        assert not _offline(store_setup, store_record, store_cred, guess)

    # the stolen store row is no password at the c11 server; the c11 server's row none at the store
    with Client(env.server.url) as c:
        for stolen in (bytes(store_record), bytes(c11_record)):
            with pytest.raises(AuthError):
                opaque_login.login(c, user["email"], pake.b64u(stolen))
            with pytest.raises(AuthError):
                c.login(user["email"], pake.b64u(stolen))
    with Client(env.server.url, user["token"]) as c:
        c.state_dir = tmp_path / "thief"
        c.shards.password = pake.b64u(bytes(c11_record))
        with pytest.raises(AuthError):
            c.shards.login_store(store.url, user_id)

    # a new password at the store (c11 passwd does this): the old one no longer logs in there
    new = secrets.token_urlsafe(18)
    with Client(env.server.url, user["token"]) as c:
        c.state_dir = tmp_path / "owner"
        c.shards.password = user["password"]
        assert c.shards.change_store_password(new) == [store.url]
        with pytest.raises(AuthError):
            c.shards.login_store(store.url, user_id)
        c.shards.password = new
        assert c.shards.login_store(store.url, user_id)


@pytest.mark.parametrize("shard_env", ["sqlite"], indirect=True)  # no database at stake: once
def test_store_limits_online_guessing(shard_env, tmp_path):
    env = shard_env
    user = _strong_user(env.server.url, env.server.data_dir)
    with Client(env.server.url, user["token"]) as c:
        c.state_dir = tmp_path
        c.shards.password = user["password"]
        user_id = c.shards.status().user_id
        c.shards.create(Identity.generate(user["email"]))
        c.shards.password = "wrong guess"
        from c11.shardstore.logins import FAILURES_ALLOWED

        for _ in range(FAILURES_ALLOWED):
            with pytest.raises(AuthError) as e:
                c.shards.login_store(env.stores[0].url, user_id)
            assert e.value.status == 401
        c.shards.password = user["password"]  # even the right password waits now
        with pytest.raises(ServerError) as e:
            c.shards.login_store(env.stores[0].url, user_id)
        assert e.value.status == 429


@pytest.mark.parametrize("shard_env", ["sqlite"], indirect=True)  # the store's own database: once
def test_first_registration_race_gives_the_operator_no_shard(shard_env, tmp_path):
    """A malicious c11 operator holds the victim's first put at its log report, registers its own password
    for the victim meanwhile and logs in: the victim's put is now refused, and the operator's session (ended
    by any later record change) gets only its own dummy shard."""
    from srvkit import loopback_socket, serve_in_thread

    from c11._web import shard_tokens as store_tokens
    from c11.keys import cloudkey
    from c11.shardstore.app import create_app
    from c11.shardstore.config import StoreConfig

    env = shard_env
    sock = loopback_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = create_app(StoreConfig(data_dir=tmp_path / "race-store", server=env.server.url, port=sock.getsockname()[1]))
    server, thread = serve_in_thread(app, sock)
    store = app.state.store
    key = store_tokens.load_or_create_key(env.server.data_dir / "secrets")
    victim = _strong_user(env.server.url, env.server.data_dir)
    attacker_pw = secrets.token_urlsafe(18)
    got: dict[str, str] = {}

    def mint(user_id: str, action: str) -> dict[str, str]:
        t = store_tokens.issue(key, issuer=env.server.url, user_id=user_id, store=url, action=action, ttl=60)
        return {"authorization": f"Bearer {t.token}"}

    def attack(user_id: str) -> None:  # between the victim's registration check and its save
        h = mint(user_id, "put")
        reg = pake.ClientRegistration.start(attacker_pw)
        d = httpx.post(url + "/v1/opaque/register", json={"request": pake.b64u(reg.request)}, headers=h).json()
        dummy = cloudkey.make_shards(Identity.generate("x@example.com"), user_id)[1]
        r = httpx.put(
            url + "/v1/shard",
            headers=h,
            timeout=30,
            json={"shard": dummy.b64(), "registration": pake.b64u(reg.finish(pake.unb64u(d["response"])))},
        )
        assert r.status_code == 200, r.text
        login = pake.ClientLogin.start(attacker_pw)
        d = httpx.post(
            url + "/v1/opaque/login/start", json={"user_id": user_id, "request": pake.b64u(login.request)}, timeout=30
        ).json()
        final, _ = login.finish(pake.unb64u(d["response"]))
        got["session"] = httpx.post(
            url + "/v1/opaque/login/finish",
            timeout=30,
            json={"login_id": d["login_id"], "finalization": pake.b64u(final)},
        ).json()["session"]
        got["dummy"] = dummy.b64()

    real_logged = store.logged

    def held_logged(token, claims):  # type: ignore[no-untyped-def]
        if claims["act"] == "put" and not got:
            got["held"] = "yes"
            attack(claims["sub"])
        return real_logged(token, claims)

    store.logged = held_logged
    try:
        with Client(env.server.url, victim["token"]) as c:
            c.state_dir = tmp_path / "victim"
            c.shards.password = victim["password"]
            user_id = c.shards.status().user_id
            with pytest.raises(ServerError) as e:
                c.shards.create(Identity.generate(victim["email"]), stores=[url])
            assert e.value.status == 409 and str(e.value.problem["type"]).endswith(":already-registered")
        # the operator's session gets its own dummy shard at most, never the victim's
        r = httpx.get(
            url + "/v1/shard", headers={**mint(user_id, "get"), "c11-store-session": got["session"]}, timeout=30
        )
        assert r.status_code == 200 and r.json()["shard"] == got["dummy"]
        # and any record change (a victim's new registration) ends every session of the user
        reg = pake.ClientRegistration.start(victim["password"])
        resp = store.logins.registration_response(env.server.url, user_id, reg.request)
        store.logins.save_record(env.server.url, user_id, reg.finish(resp))
        r = httpx.get(
            url + "/v1/shard", headers={**mint(user_id, "get"), "c11-store-session": got["session"]}, timeout=30
        )
        assert r.status_code == 401 and "shard" not in r.json()
    finally:
        store.logged = real_logged
        server.should_exit = True
        thread.join(timeout=10)


def test_store_reregistration_after_a_forgotten_password_needs_the_key(shard_env, tmp_path):
    """After a c11 password reset the store's record still takes the old password. The person re-registers
    there with a signature by the key whose shard the store holds (back from the recovery shard): the c11
    server, which holds neither that key nor the store's shard, cannot make one; nor can another store replay
    one; and a signature is single use (docs/shards.md §8.4)."""
    import time

    from srvkit import outbox_messages, text_body

    from c11._web.shard_tokens import key_login_message, normalize_url

    env = shard_env
    store = env.stores[0]
    user = _strong_user(env.server.url, env.server.data_dir)
    me = Identity.generate(user["email"])
    with Client(env.server.url, user["token"]) as c:
        c.state_dir = tmp_path / "first"
        c.shards.password = user["password"]
        user_id = c.shards.status().user_id
        recovery = c.shards.create(me).recovery
        c.request_password_reset(user["email"])
    assert recovery is not None  # one store: the person keeps the recovery shard
    mail = [m for m in outbox_messages(env.server.data_dir, user["email"], 2) if "Reset" in m["Subject"]][0]
    new = secrets.token_urlsafe(18)
    with Client(env.server.url) as c:
        c.reset_password(text_body(mail).split("token=")[1].split()[0], new)
        c.login(user["email"], new)
        c.state_dir = tmp_path / "after"
        c.shards.password = new
        with pytest.raises(AuthError):  # the store still has the old password's record
            c.shards.login_store(store.url, user_id)

        # what the c11 server (or anyone without the key) can try: sign with another key; replay for another
        # store; all refused
        def key_login(signer: Identity, store_url: str, at: int | None = None) -> httpx.Response:
            at, nonce = int(time.time()) if at is None else at, secrets.token_bytes(16)
            sig = signer.sign(key_login_message(store_url, normalize_url(env.server.url), user_id, at, nonce))
            return httpx.post(
                f"{store.url}/v1/opaque/key-login",
                timeout=30,
                json={"user_id": user_id, "time": at, "nonce": pake.b64u(nonce), "signature": pake.b64u(sig)},
            )

        assert key_login(Identity.generate(user["email"]), normalize_url(store.url)).status_code == 401
        assert key_login(me, "https://another-store.example").status_code == 401
        assert key_login(me, normalize_url(store.url), int(time.time()) - 3600).status_code == 401
        at, nonce = int(time.time()), secrets.token_bytes(16)
        sig = me.sign(key_login_message(normalize_url(store.url), normalize_url(env.server.url), user_id, at, nonce))
        body = {"user_id": user_id, "time": at, "nonce": pake.b64u(nonce), "signature": pake.b64u(sig)}
        assert httpx.post(f"{store.url}/v1/opaque/key-login", json=body, timeout=30).status_code == 200  # control
        assert httpx.post(f"{store.url}/v1/opaque/key-login", json=body, timeout=30).status_code == 401  # replay

        # the person: the key comes back from the recovery shard and the c11 server's shard, then re-registers
        rebuilt = c.shards.fetch(recovery).identity  # the store refuses after the reset: server + recovery
        assert rebuilt.fingerprint == me.fingerprint
        assert c.shards.reregister_with_key(rebuilt, new) == [normalize_url(store.url)]
        assert c.shards.login_store(store.url, user_id)  # the new password logs in at the store
        c.shards.password = user["password"]
        c.shards.sessions.drop(store.url, user_id)
        with pytest.raises(AuthError):
            c.shards.login_store(store.url, user_id)  # the old one no longer does
