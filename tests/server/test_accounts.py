"""Accounts over real HTTP: sign-up, verification email through the outbox, login, logout, password, limits."""

from __future__ import annotations

import httpx
import pytest
from srvkit import PASSWORD, anon, authed, confirm_email, new_email, outbox_message, outbox_messages, verification_link

from c11.client import Client
from c11.errors import AuthError, RateLimitError, ServerError


def test_signup_sends_verification_email_and_link_verifies(server):
    addr = new_email()
    with Client(server.url) as c:
        user = c.signup(addr, PASSWORD)
        assert user.email == addr and not user.email_verified
        msg = outbox_message(server.data_dir, addr)
        assert msg["Subject"] == "Confirm your email address for c11"
        # rendered from the notification templates: plain text and HTML
        assert {p.get_content_type() for p in msg.walk()} >= {"text/plain", "text/html"}
        link = verification_link(msg)
        assert link.startswith(server.url + "/verify#token=c11v_")  # the browser app's page, token in the fragment
        token = link.split("#token=", 1)[1]
        old_style = f"{server.url}/api/v1/accounts/verify?token={token}"  # links sent before the app still work
        page = httpx.get(old_style)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert addr in page.text and 'type="password"' not in page.text and "c11 verify" in page.text
        c.login(addr, PASSWORD)
        assert not c.whoami().user.email_verified  # opening the link (as mail scanners do) confirms nothing
        assert confirm_email(link).status_code == 200
        assert c.whoami().user.email_verified
    again = httpx.get(old_style)  # single use
    assert again.status_code == 400


def test_verification_rejects_unknown_token_and_needs_a_login(server, unverified_user):
    with authed(server, unverified_user["token"]) as h:
        r = h.post("/api/v1/account/verify", json={"token": "c11v_nope"})
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    link = verification_link(outbox_message(server.data_dir, unverified_user["email"]))
    with anon(server) as h:  # the link's token alone confirms nothing
        assert h.post("/api/v1/account/verify", json={"token": link.split("token=")[1]}).status_code == 401


def test_signup_twice_conflicts_once_verified_and_email_is_normalized(server, user):
    with Client(server.url) as c:
        with pytest.raises(ServerError) as e:
            c.signup(user["email"].upper(), PASSWORD)
    assert e.value.status == 409


def test_weak_password_refused_on_the_client(server):
    """The server never sees the password (OPAQUE), so the client applies the rules before any request."""
    from c11.errors import UsageError

    with Client(server.url) as c, pytest.raises(UsageError) as e:
        c.signup(new_email(), "short")
    assert "10 characters" in str(e.value) and "short" not in str(e.value)
    with anon(server) as h:  # and the password sign-up is gone
        r = h.post("/api/v1/accounts", json={"email": new_email(), "password": PASSWORD})
    assert r.status_code == 422 and PASSWORD not in r.text


def test_login_whoami_logout(server, user):
    with Client(server.url, user["token"]) as c:
        me = c.whoami()
        assert me.email == user["email"] and me.auth_kind == "bearer"
        assert "tokens:manage" in me.scopes
        c.logout()
    with Client(server.url, user["token"]) as c, pytest.raises(AuthError):
        c.whoami()


def test_wrong_password_is_401_without_echo(server, user):
    with anon(server) as h:
        r = h.post("/api/v1/sessions", json={"email": user["email"], "password": "wrong-password-xyz"})
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert "wrong-password-xyz" not in r.text


def _opaque_cookie_login(h: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    """A browser's OPAQUE login asking for a cookie session (what the web app does)."""
    from c11._web import pake

    attempt = pake.ClientLogin.start(password)
    start = h.post("/api/v1/sessions/opaque/start", json={"email": email, "request": pake.b64u(attempt.request)})
    final, _ = attempt.finish(pake.unb64u(start.json()["response"]))
    return h.post(
        "/api/v1/sessions/opaque/finish",
        json={"login_id": start.json()["login_id"], "finalization": pake.b64u(final), "kind": "cookie"},
    )


def test_cookie_session_for_the_web(server, user):
    with anon(server) as h:
        r = _opaque_cookie_login(h, user["email"])
        assert r.status_code == 201 and r.json()["token"] is None
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        assert h.get("/api/v1/account").json()["auth"]["kind"] == "cookie"
        forged = h.delete("/api/v1/sessions/current")  # what a cross-site form could send: the cookie, no header
        assert forged.status_code == 403 and forged.json()["type"].endswith("csrf-header-required")
        assert h.get("/api/v1/account").status_code == 200  # nothing changed
        assert h.delete("/api/v1/sessions/current", headers={"X-C11-CSRF": "1"}).status_code == 204
        assert h.get("/api/v1/account").status_code == 401


def test_cookie_token_is_not_a_bearer_token(server, user):
    with anon(server) as h:
        _opaque_cookie_login(h, user["email"])
        value = h.cookies["c11_session"]
    with authed(server, value) as h:
        assert h.get("/api/v1/account").status_code == 401


def test_change_password_ends_other_sessions(server, user):
    new = "another long password 42"
    with Client(server.url) as other:
        other.login(user["email"], PASSWORD)
    with Client(server.url, user["token"]) as c:
        with pytest.raises(AuthError):
            c.change_password("not the password", new)
        c.change_password(PASSWORD, new)
        assert c.whoami().email == user["email"]  # this client holds the new login
    with Client(server.url, other.token) as o, pytest.raises(AuthError):
        o.whoami()
    with Client(server.url) as c:
        with pytest.raises(AuthError):
            c.login(user["email"], PASSWORD)
        c.login(user["email"], new)


def test_account_backoff_after_failures(server, user):
    limit = server.config.login_max_failures_account
    with Client(server.url) as c:
        for _ in range(limit):
            with pytest.raises(AuthError):
                c.login(user["email"], "wrong password!!")
        with pytest.raises(RateLimitError) as e:
            c.login(user["email"], PASSWORD)  # held back, even with the right password, from a new device
    assert 0 < e.value.retry_after <= server.config.login_window_seconds
    with anon(server) as h:
        r = h.post("/api/v1/sessions", json={"email": user["email"], "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    with Client(server.url) as c:  # the owner's known device passes, and success clears the count
        c.login(user["email"], PASSWORD, user["device"])
        c.login(user["email"], PASSWORD)


def test_backoff_doubles_and_ends_when_failures_age(fresh_server):
    s = fresh_server(login_max_failures_account=2, login_backoff_seconds=100, login_window_seconds=900)
    addr = new_email()
    with Client(s.url) as c:
        c.signup(addr, PASSWORD)
        for _ in range(2):
            with pytest.raises(AuthError):
                c.login(addr, "wrong password!!")
        with pytest.raises(RateLimitError) as first:
            c.login(addr, PASSWORD)
        assert 90 < first.value.retry_after <= 100  # 2 failures free, then 100 s
        _age_attempts(s, addr, 150)  # the wait is over: one more wrong password doubles it
        with pytest.raises(AuthError):
            c.login(addr, "wrong password!!")
        with pytest.raises(RateLimitError) as second:
            c.login(addr, PASSWORD)
        assert 190 < second.value.retry_after <= 200
        _age_attempts(s, addr, 1000)  # the failures leave the window
        c.login(addr, PASSWORD)


def _age_attempts(server, key: str, seconds: int) -> None:
    """Move the failed logins counted for `key` back in time (instead of waiting)."""
    from datetime import timedelta

    from sqlalchemy import select, update

    from c11.server.accounts.models import LoginAttempt
    from c11.server.db import Database

    db = Database(server.config.database_url)
    try:
        with db.session() as s:
            for row_id, at in s.execute(select(LoginAttempt.id, LoginAttempt.at).where(LoginAttempt.key == key)).all():
                s.execute(
                    update(LoginAttempt).where(LoginAttempt.id == row_id).values(at=at - timedelta(seconds=seconds))
                )
    finally:
        db.dispose()


def test_ip_rate_limit(fresh_server):
    s = fresh_server(login_max_failures_ip=3)
    with Client(s.url) as c:
        for i in range(3):
            with pytest.raises(AuthError):
                c.login(new_email(f"nobody{i}"), "whatever password")
        with pytest.raises(RateLimitError):
            c.login(new_email("someone"), "whatever password")


def _past(server, sql: str, **params) -> None:
    """Run an UPDATE on the server's database (to age rows without waiting)."""
    import sqlalchemy as sa

    from c11.server.db import make_engine

    engine = make_engine(server.config.database_url)
    try:
        with engine.begin() as c:
            c.execute(sa.text(sql), {"past": "2000-01-01 00:00:00+00:00", **params})
    finally:
        engine.dispose()


def test_expired_session_is_refused(server, user):
    with Client(server.url, user["token"]) as c:
        session_id = c.whoami().credential_id
        _past(server, "UPDATE login_sessions SET expires_at = :past WHERE id = :id", id=session_id)
        with pytest.raises(AuthError):
            c.whoami()


def test_expired_verification_link_and_resend(server, unverified_user):
    msg = outbox_message(server.data_dir, unverified_user["email"])
    _past(server, "UPDATE email_verifications SET expires_at = :past WHERE email = :e", e=unverified_user["email"])
    assert confirm_email(verification_link(msg)).status_code == 400
    with authed(server, unverified_user["token"]) as h:
        assert h.post("/api/v1/account/verification").status_code == 202
    links = {verification_link(m) for m in outbox_messages(server.data_dir, unverified_user["email"], 2)}
    assert len(links) == 2
    fresh = (links - {verification_link(msg)}).pop()
    assert confirm_email(fresh).status_code == 200
    with authed(server, unverified_user["token"]) as h:
        assert h.post("/api/v1/account/verification").status_code == 409
