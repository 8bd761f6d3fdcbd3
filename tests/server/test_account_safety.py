"""Issue 12 (items 4, 10, 11, 14) over real HTTP: an unverified sign-up can neither act nor block the owner,
password reset by email, lockout abuse and trusted proxies, no link secrets left in the outbox, and email
addresses with invisible or look-alike characters refused."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa
from srvkit import (
    PASSWORD,
    anon,
    authed,
    confirm_email,
    new_email,
    outbox_message,
    outbox_messages,
    text_body,
    verification_link,
)

from c11.client import Client
from c11.errors import AuthError, RateLimitError, ServerError

NEW_PASSWORD = "a brand new passphrase 42"


def _db(server):
    from c11.server.db import make_engine

    return make_engine(server.config.database_url)


def _sql(server, sql: str, **params):
    engine = _db(server)
    try:
        with engine.begin() as c:
            return (
                c.execute(sa.text(sql), params).all()
                if sql.lstrip().upper().startswith("SELECT")
                else c.execute(sa.text(sql), params)
            )
    finally:
        engine.dispose()


def _problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    return r.json()


def _reset(h: httpx.Client, token: str, password: str) -> httpx.Response:
    """Complete a reset as a client does: a new OPAQUE registration under the link's token (no password sent)."""
    from c11._web import pake

    reg = pake.ClientRegistration.start(password)
    start = h.post("/api/v1/accounts/password-reset/start", json={"token": token, "request": pake.b64u(reg.request)})
    if start.status_code != 200:
        return start
    upload = reg.finish(pake.unb64u(start.json()["response"]))
    return h.post("/api/v1/accounts/password-reset/complete", json={"token": token, "registration": pake.b64u(upload)})


# -- item 4: account pre-hijacking ---------------------------------------------------------------------------


def test_unverified_account_may_only_read_and_verify(server, unverified_user):
    with authed(server, unverified_user["token"]) as h:
        assert h.get("/api/v1/account").json()["email_verified"] is False
        for method, path, body in (
            ("POST", "/api/v1/tokens", {"name": "squat", "scopes": ["keys:write"]}),
            (
                "POST",
                "/api/v1/keys",
                {"email": unverified_user["email"], "public_key": "x", "timestamp": "x", "signature": "x"},
            ),
            ("POST", "/api/v1/invitations/claim", {"public_key": "x"}),
            ("POST", "/api/v1/invitations", {"emails": [new_email()]}),
        ):
            p = _problem(h.request(method, path, json=body), 403)
            assert p["type"].endswith("email-unverified"), (path, p)
        assert h.post("/api/v1/account/verification").status_code == 202  # asking for a new link is allowed


def test_the_owner_opening_a_squatters_link_confirms_nothing(server):
    """Someone signs up with the owner's address; the link reaches the owner, who opens it (or a mail scanner
    does) and even submits the form with their own password: the squatter's account stays unverified."""
    addr = new_email("owner")
    with Client(server.url) as squatter:
        squatter.signup(addr, "the squatter's password")
        squat = squatter.login(addr, "the squatter's password").token
    link = verification_link(outbox_message(server.data_dir, addr))
    assert httpx.get(link).status_code == 200  # the page: nothing confirmed by opening it
    with pytest.raises(AuthError):
        confirm_email(link, PASSWORD)  # the owner's password does not log in to the squatter's account
    token = link.split("token=", 1)[1]
    with anon(server) as h:  # the token alone: no
        assert h.post("/api/v1/account/verify", json={"token": token}).status_code == 401
    other_addr = new_email("other")
    with Client(server.url) as other:  # the token under another account's login: no
        other.signup(other_addr, PASSWORD)
        other_session = other.login(other_addr, PASSWORD).token
    with authed(server, other_session) as h:
        r = h.post("/api/v1/account/verify", json={"token": token})
    assert r.status_code == 403 and r.json()["type"].endswith("wrong-account")
    with Client(server.url, squat) as c:
        assert not c.whoami().user.email_verified
    assert confirm_email(link, "the squatter's password").status_code == 200  # only the one who signed up


def test_new_signup_replaces_an_unverified_one(server):
    addr = new_email("owner")
    with Client(server.url) as squatter:
        squatter.signup(addr, "the squatter's password")
        squat = squatter.login(addr, "the squatter's password").token
    squat_link = verification_link(outbox_message(server.data_dir, addr))
    with Client(server.url) as owner:
        owner.signup(addr, PASSWORD)  # not 409: the unproven sign-up never blocks the owner
    with Client(server.url, squat) as c, pytest.raises(AuthError):
        c.whoami()
    squat_page = f"{server.url}/api/v1/accounts/verify?token={squat_link.split('#token=', 1)[1]}"
    assert httpx.get(squat_page).status_code == 400  # the squatter's link died with the account
    links = {verification_link(m) for m in outbox_messages(server.data_dir, addr, 2)} - {squat_link}
    assert confirm_email(links.pop()).status_code == 200
    with Client(server.url) as c:
        with pytest.raises(AuthError):
            c.login(addr, "the squatter's password")
        c.login(addr, PASSWORD)
        assert c.whoami().user.email_verified


def test_unverified_signup_does_not_block_invitations(server, user, unverified_user):
    with authed(server, user["token"]) as h:  # a squatter's unproven sign-up is not "registered"
        inv = h.post("/api/v1/invitations", json={"emails": [unverified_user["email"]]}).json()[0]
    assert inv["status"] == "pending" and inv["public_key"] is not None


def test_unverified_accounts_expire(server, unverified_user):
    _sql(
        server,
        "UPDATE users SET created_at = :past WHERE email = :e",
        past="2000-01-01 00:00:00+00:00",
        e=unverified_user["email"],
    )
    with Client(server.url, unverified_user["token"]) as c, pytest.raises(AuthError):
        c.whoami()
    with Client(server.url) as c, pytest.raises(AuthError):
        c.login(unverified_user["email"], PASSWORD)
    assert _sql(server, "SELECT id FROM users WHERE email = :e", e=unverified_user["email"]) == []


# -- item 4: password reset ----------------------------------------------------------------------------------


def test_password_reset_restores_the_account_not_the_key(server, user):
    with anon(server) as h:
        asked = h.post("/api/v1/accounts/password-reset", json={"email": user["email"]})
        unknown = h.post("/api/v1/accounts/password-reset", json={"email": new_email("nobody")})
        assert asked.status_code == unknown.status_code == 202 and asked.json() == unknown.json()
        assert "recovery shard" in asked.json()["not_restored"]
    mail = [m for m in outbox_messages(server.data_dir, user["email"], 2) if "Reset" in m["Subject"]][0]
    body = text_body(mail)
    link = next(w for w in body.split() if "/api/v1/accounts/password-reset?token=" in w)
    token = link.split("token=")[1]
    assert "recovery shard" in body and "c11 password reset" in body
    assert httpx.get(link).status_code == 200  # the page says what to do; the link stays unused
    from c11.errors import UsageError

    with Client(server.url) as c, pytest.raises(UsageError):
        c.reset_password(token, "short")  # the rules are the client's: the server never sees the password
    with anon(server) as h:
        done = _reset(h, token, NEW_PASSWORD)
        assert done.status_code == 200 and done.json()["sessions_ended"] is True
        assert "recovery shard" in done.json()["not_restored"]
        p = _problem(_reset(h, token, NEW_PASSWORD), 400)  # single use
        assert p["type"].endswith("invalid-reset-link")
    with Client(server.url, user["token"]) as c, pytest.raises(AuthError):
        c.whoami()  # every session ended
    with Client(server.url) as c:
        with pytest.raises(AuthError):
            c.login(user["email"], PASSWORD)
        c.login(user["email"], NEW_PASSWORD)
    # item 11: once delivered, no outbox row holds the reset or the verification secret
    rows = _sql(
        server, "SELECT body_text, body_html, secret, status FROM outbox_messages WHERE recipient = :e", e=user["email"]
    )
    assert rows and all(r.status == "sent" and r.secret is None for r in rows)
    assert not any(token in (r.body_text + (r.body_html or "")) for r in rows)
    assert not any("c11v_" in (r.body_text + (r.body_html or "")) for r in rows)


def test_password_reset_revokes_machine_tokens(server, user):
    with Client(server.url, user["token"]) as c:  # minted by whoever held the account before the reset
        squat = c.tokens.create("squat", ["keys:write"], expires_in_days=7).token
    with authed(server, squat) as h:
        assert h.get("/api/v1/account").status_code == 200
    with anon(server) as h:
        assert h.post("/api/v1/accounts/password-reset", json={"email": user["email"]}).status_code == 202
    mail = [m for m in outbox_messages(server.data_dir, user["email"], 2) if "Reset" in m["Subject"]][0]
    token = next(w for w in text_body(mail).split() if "password-reset?token=" in w).split("token=")[1]
    with anon(server) as h:
        assert _reset(h, token, NEW_PASSWORD).status_code == 200
    with authed(server, squat) as h:
        _problem(h.get("/api/v1/account"), 401)


def test_reset_keeps_shard_stores_closed_until_the_key_is_stored_again(server, user):
    from c11.server.accounts.reset import store_fetch_allowed

    with authed(server, user["token"]) as h:
        me = h.get("/api/v1/account").json()["id"]
    _sql(
        server,
        "INSERT INTO cloud_keys (user_id, fingerprint, split_id, shard, placements, created_at) "
        "VALUES (:u, :f, :s, :b, '[]', :t)",
        u=me,
        f="0" * 32,
        s="1" * 32,
        b=b"shard",
        t="2001-01-01 00:00:00+00:00",
    )
    with authed(server, user["token"]) as h:
        body = {"store": "https://store.example.com", "action": "get"}
        assert h.post("/api/v1/shards/tokens", json=body).status_code == 200  # before a reset
    with anon(server) as h:
        h.post("/api/v1/accounts/password-reset", json={"email": user["email"]})
    link = [m for m in outbox_messages(server.data_dir, user["email"], 2) if "Reset" in m["Subject"]][0]
    token = text_body(link).split("token=")[1].split()[0]
    with Client(server.url) as c:
        c.reset_password(token, NEW_PASSWORD)
        fresh = c.login(user["email"], NEW_PASSWORD).token
    with authed(server, fresh) as h:
        p = _problem(h.post("/api/v1/shards/tokens", json=body), 403)
        assert p["type"].endswith("reset-needs-recovery") and "recovery shard" in p["detail"]
        assert h.post("/api/v1/shards/tokens", json={**body, "action": "put"}).status_code == 200
    engine = _db(server)
    try:
        from sqlalchemy.orm import Session

        with Session(engine) as s:
            from c11.server.db import utcnow

            assert store_fetch_allowed(s, me, utcnow())  # stored again after the reset: open again
    finally:
        engine.dispose()


# -- item 10: lockout abuse, trusted proxies -----------------------------------------------------------------


def test_attackers_wrong_passwords_do_not_lock_out_the_owners_device(server, user):
    with Client(server.url) as attacker:
        for _ in range(server.config.login_max_failures_account):
            with pytest.raises(AuthError):
                attacker.login(user["email"], "guessing away!!")
        with pytest.raises(RateLimitError):
            attacker.login(user["email"], "guessing again!!")
    with Client(server.url) as other:
        with pytest.raises(RateLimitError):
            other.login(user["email"], PASSWORD, "c11d_forged-device-token")  # a forged device is held back
    with Client(server.url) as owner:
        owner.login(user["email"], PASSWORD, user["device"])  # the owner's known device is not


def _fail(h: httpx.Client, forwarded: str | None) -> int:
    headers = {"x-forwarded-for": forwarded} if forwarded else {}
    return h.post(
        "/api/v1/sessions", json={"email": new_email("x"), "password": "wrong password!!"}, headers=headers
    ).status_code


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(fresh_server):
    direct = fresh_server(login_max_failures_ip=2)
    with anon(direct) as h:
        assert [_fail(h, f"203.0.113.{i}") for i in range(3)] == [401, 401, 429]  # the header changes nothing
    proxied = fresh_server(login_max_failures_ip=2, trusted_proxies="127.0.0.1/32, 10.0.0.0/8")
    with anon(proxied) as h:
        assert [_fail(h, "203.0.113.5") for _ in range(3)] == [401, 401, 429]
        assert _fail(h, "198.51.100.7") == 401  # another client behind the same proxy is not locked out
        assert _fail(h, "203.0.113.5, 10.1.2.3") == 429  # through a second trusted proxy: still that client
        assert _fail(h, "203.0.113.5, 198.51.100.8") == 401  # a forged left part is ignored: the client is .8


# -- item 14: confusable and control characters -------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "nul\x00l@example.com",
        "zero\u200bwidth@example.com",
        "bidi\u202e@example.com",
        "\uff41lice@example.com",
        "p\u0430ypal@example.com",
        "alice@ex\u0430mple.com",
        "two@@example.com",
        "no-domain-dot@example",
    ],
)
def test_bad_emails_are_refused_with_a_clear_problem(server, user, bad):
    with anon(server) as h:
        p = _problem(h.post("/api/v1/accounts", json={"email": bad, "password": PASSWORD}), 422)
        assert p["errors"][0]["loc"][-1] == "email" and p["errors"][0]["msg"]
        assert "\u200b" not in str(p) and "\u202e" not in str(p)
    with authed(server, user["token"]) as h:
        assert h.post("/api/v1/invitations", json={"emails": [bad]}).status_code == 422
        assert h.get("/api/v1/keys", params={"email": bad}).status_code == 422


def test_email_normal_form(server):
    from c11._internal.emails import normalize_email

    assert normalize_email("  Alice@Example.COM ") == "alice@example.com"
    assert normalize_email("alice@B\u00fccher.example") == "alice@xn--bcher-kva.example"
    assert normalize_email("Jose\u0301@example.com") == "jos\u00e9@example.com"  # NFC
    addr = new_email("idn")
    local = addr.split("@")[0]
    with Client(server.url) as c:
        assert c.signup(f"{local.upper()}@B\u00fccher.example", PASSWORD).email == f"{local}@xn--bcher-kva.example"
        with pytest.raises(ServerError) as e:
            c.login(f"{local}@b\u00fccher.example", "wrong password!!")
        assert e.value.status == 401  # the same account, found in either form


def test_cli_password_reset(server, user, tmp_path):
    from srvkit import run_cli

    r = run_cli(
        ["password", "reset", "--server", server.url, "--email", user["email"]],
        tmp_path,
        env={"C11_RESET_LINK": f"{server.url}/api/v1/accounts/password-reset?token=nope"},
    )
    assert r.returncode != 0 and "not a c11 password reset link" in r.stderr and "Traceback" not in r.stderr
    assert "a reset link is on its way" in r.stderr
    mail = [m for m in outbox_messages(server.data_dir, user["email"], 2) if "Reset" in m["Subject"]][0]
    link = next(w for w in text_body(mail).split() if "password-reset?token=" in w)
    r = run_cli(
        ["password", "reset", "--server", server.url, "--email", user["email"], "--have-link"],
        tmp_path,
        input=f"{link}\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )
    assert r.returncode == 0, r.stderr
    assert "every session ended" in r.stderr and "recovery shard" in r.stderr and link not in r.stderr
    with Client(server.url) as c:
        c.login(user["email"], NEW_PASSWORD)


def test_known_device_passes_the_backoff_on_the_opaque_login_too(server, user):
    from c11.client import opaque_login

    with Client(server.url, user["token"]) as c:
        opaque_login.register(c, PASSWORD)
    with Client(server.url) as attacker:
        for _ in range(server.config.login_max_failures_account):
            with pytest.raises(AuthError):
                attacker.login(user["email"], "guessing away!!")
    with Client(server.url) as other, pytest.raises(RateLimitError):
        opaque_login.login(other, user["email"], PASSWORD)  # a device not known is held back
    with Client(server.url) as owner:
        result = opaque_login.login(owner, user["email"], PASSWORD, user["device"])
        assert result is not None and owner.whoami().email == user["email"]
