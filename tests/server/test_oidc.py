"""OpenID Connect login against the fake identity provider: web (cookie) and CLI (loopback) flows,
with state, nonce and PKCE checked."""

from __future__ import annotations

import subprocess
import sys
import uuid

import httpx
import pytest
from srvkit import PASSWORD, anon, cli_env, run_cli

from c11.client import Client
from c11.errors import AuthError


@pytest.fixture
def idp_user(oidc_provider):
    """Make the provider approve a new person; restore its knobs afterwards."""
    sub = uuid.uuid4().hex
    oidc_provider.user = {"sub": sub, "email": f"idp-{sub[:8]}@example.com", "email_verified": True}
    yield oidc_provider.user
    oidc_provider.wrong_nonce = False


def _browser(server) -> httpx.Client:
    return httpx.Client(base_url=server.url, follow_redirects=True, timeout=30)


def test_providers_listed(server):
    with anon(server) as h:
        assert [p["name"] for p in h.get("/api/v1/auth/oidc/providers").json()] == ["test"]


def test_web_login_creates_verified_user_and_session(server, oidc_provider, idp_user):
    with _browser(server) as b:
        r = b.get("/api/v1/auth/oidc/test/login", params={"return_to": "/"})
        assert r.status_code == 200 and str(r.url).rstrip("/") == server.url
        me = b.get("/api/v1/account").json()
        assert me["email"] == idp_user["email"] and me["email_verified"] and me["auth"]["kind"] == "cookie"
        first_id = me["id"]
    with _browser(server) as b:  # second login: same account, linked by subject
        b.get("/api/v1/auth/oidc/test/login")
        assert b.get("/api/v1/account").json()["id"] == first_id
    assert oidc_provider.pkce_failures == 0


def test_callback_without_the_browser_binding_is_refused(server, idp_user):
    with httpx.Client(base_url=server.url, timeout=30) as b:
        r = b.get("/api/v1/auth/oidc/test/login")
        authorize = r.headers["location"]
        back = httpx.get(authorize).headers["location"]  # the provider approves
    with httpx.Client(timeout=30) as attacker:  # another browser: no binding cookie
        r = attacker.get(back)
    assert r.status_code == 400 and r.json()["type"] == "urn:c11:problem:oidc-bad-state"


def test_forged_state_is_refused(server, idp_user):
    with _browser(server) as b:
        b.get("/api/v1/auth/oidc/test/login", follow_redirects=False)
        r = b.get("/api/v1/auth/oidc/test/callback", params={"state": "forged", "code": "x"})
    assert r.status_code == 400


def test_state_is_single_use(server, idp_user):
    with httpx.Client(base_url=server.url, timeout=30) as b:
        authorize = b.get("/api/v1/auth/oidc/test/login").headers["location"]
        back = httpx.get(authorize).headers["location"]
        assert b.get(back).status_code == 302
        assert b.get(back).status_code == 400


def test_wrong_nonce_is_refused(server, oidc_provider, idp_user):
    oidc_provider.wrong_nonce = True
    with _browser(server) as b:
        r = b.get("/api/v1/auth/oidc/test/login")
        assert r.status_code == 401 and r.json()["type"] == "urn:c11:problem:oidc-bad-id-token"
        assert b.get("/api/v1/account").status_code == 401


def test_unverified_idp_email_is_refused(server, oidc_provider, idp_user):
    oidc_provider.user = {**idp_user, "email_verified": False}
    with _browser(server) as b:
        assert b.get("/api/v1/auth/oidc/test/login").status_code == 403


def test_open_redirect_refused_and_unknown_provider(server):
    with anon(server) as h:
        assert h.get("/api/v1/auth/oidc/test/login", params={"return_to": "//evil.example"}).status_code == 400
        assert h.get("/api/v1/auth/oidc/nope/login").status_code == 404


def test_oidc_takes_over_unverified_password_signup(server, oidc_provider, idp_user):
    """Someone pre-registered the address with a password but never verified it: OIDC login wins, and nothing
    of the squatter's account survives (sessions, machine tokens, known devices: the account is replaced)."""
    with Client(server.url) as c:
        c.signup(idp_user["email"], PASSWORD)
        login = c.login(idp_user["email"], PASSWORD)
        squatter_id = c.whoami().user.id
        with pytest.raises(AuthError) as refused:  # an unverified account mints no token
            c.tokens.create("squat", ["keys:write"], 30)
        assert refused.value.problem["type"].endswith("email-unverified")
    machine = _legacy_machine_token(server, squatter_id)  # as one made before unverified accounts were held
    _sql(
        server,
        "INSERT INTO cloud_keys (user_id, fingerprint, split_id, shard, placements, created_at) "
        "VALUES (:u, :f, :f, :b, '[]', :t)",
        u=squatter_id,
        f="0" * 32,
        b=b"squatter's shard",
        t="2001-01-01 00:00:00+00:00",
    )  # a shard stored before, too
    with Client(server.url, machine) as m:
        assert m.whoami().user.id == squatter_id
    with _browser(server) as b:
        b.get("/api/v1/auth/oidc/test/login")
        owner = b.get("/api/v1/account").json()
        assert owner["email_verified"] and owner["id"] != squatter_id
    for token in (login.token, machine):
        with Client(server.url, token) as c, pytest.raises(AuthError):
            c.whoami()
    with Client(server.url) as c, pytest.raises(AuthError):
        c.login(idp_user["email"], PASSWORD, login.device_token)
    assert _sql(server, "SELECT user_id FROM cloud_keys WHERE user_id = :u", u=squatter_id) == []


def _sql(server, sql: str, **params):  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from c11.server.db import make_engine

    engine = make_engine(server.config.database_url)
    try:
        with engine.begin() as c:
            result = c.execute(sa.text(sql), params)
            return result.all() if result.returns_rows else None
    finally:
        engine.dispose()


def _legacy_machine_token(server, user_id: str) -> str:
    """A machine token with every scope written straight into the database for `user_id`."""
    from datetime import timedelta

    from c11.server.auth import MACHINE_PREFIX
    from c11.server.credentials import digest, new_secret
    from c11.server.db import Database, utcnow
    from c11.server.scopes import SCOPES
    from c11.server.tokens.models import MachineToken

    secret = new_secret(MACHINE_PREFIX)
    db = Database(server.config.database_url)
    try:
        with db.session() as s:
            s.add(
                MachineToken(
                    user_id=user_id,
                    name="squat",
                    token_hash=digest(secret),
                    scopes=" ".join(SCOPES),
                    created_at=utcnow(),
                    expires_at=utcnow() + timedelta(days=30),
                )
            )
    finally:
        db.dispose()
    return secret


def test_cli_login_through_browser_flow(server, idp_user, tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "c11.cli.main", "login", "--server", server.url, "--oidc", "test", "--no-browser"],
        env=cli_env(tmp_path),
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        url = ""
        while not url.startswith("http"):
            url = proc.stderr.readline().strip()
            assert url or proc.poll() is None, "CLI ended without printing a login URL"
        with httpx.Client(follow_redirects=True, timeout=30) as browser:
            assert browser.get(url).status_code == 200  # ends at the CLI's loopback listener
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    who = run_cli(["whoami", "--json"], tmp_path)
    assert who.returncode == 0, who.stderr
    assert idp_user["email"] in who.stdout


def test_cli_code_needs_the_verifier(server, idp_user):
    """The one-time code alone (e.g. stolen from the loopback redirect) is useless without the verifier."""
    challenge = "A" * 43
    with httpx.Client(base_url=server.url, timeout=30) as b:
        r = b.get("/api/v1/auth/oidc/test/login", params={"cli_port": 45678, "cli_challenge": challenge})
        back = httpx.get(r.headers["location"]).headers["location"]
        to_cli = b.get(back).headers["location"]
    assert to_cli.startswith("http://127.0.0.1:45678/callback?code=")
    code = to_cli.split("code=", 1)[1]
    with anon(server) as h:
        r = h.post("/api/v1/auth/oidc/token", json={"code": code, "verifier": "B" * 43})
    assert r.status_code == 400
