"""Accounts in the browser, end to end in Chromium: sign up, confirm the email from the emailed token on the app's
/verify page (opening it confirms nothing; a second visit says "already confirmed"), log in with OPAQUE, log
out (the session ends at the server). The app keeps its session in memory: no cookie, nothing in web storage."""

from __future__ import annotations

import re

import accountkit
import httpx
from srvkit import new_email, outbox_message, server_config, start_server, verification_link

PASSWORD = "a browser password of some length"


def _token(web_server, email: str) -> str:
    link = verification_link(outbox_message(web_server.data_dir, email))
    found = re.search(r"token=([^&\s]+)", link)
    assert found, link
    return found.group(1)


def _bearer_of(page) -> list[str]:
    """The bearer tokens the page sends (collected as it sends them)."""
    seen: list[str] = []
    page.on(
        "request",
        lambda r: (
            seen.append(r.headers["authorization"][7:])
            if r.headers.get("authorization", "").startswith("Bearer ")
            else None
        ),
    )
    return seen


def test_sign_up_confirm_log_out_and_log_in(new_page, web_server, axe, narrow, screenshot):
    email = new_email("web")
    page = new_page()
    every: list[tuple[str, str]] = []  # (url, body) of each request that sends a body
    page.on("request", lambda r: every.append((r.url, r.post_data or "")) if r.method != "GET" else None)
    opaque_signup: list[int] = []  # the server's answer to the OPAQUE sign-up (404 on a server without it)
    page.on(
        "response",
        lambda r: opaque_signup.append(r.status) if r.url.endswith("/api/v1/accounts/signup/start") else None,
    )
    page.goto("/")
    page.get_by_role("navigation").get_by_role("link", name="Sign up").click()
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    axe(page)
    narrow(page, "signup")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    assert email in page.get_by_role("status").inner_text()

    token = _token(web_server, email)
    page.goto(f"/verify#token={token}")  # the token stays in the fragment: never sent to the server
    page.get_by_role("heading", name="Confirm your email").wait_for()
    axe(page)
    narrow(page, "verify")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Confirm my address").click()
    page.get_by_role("heading", name="Email confirmed").wait_for(timeout=30_000)
    screenshot(page, "confirmed")

    # a second visit of the same link: already confirmed (after logging in), and nothing else happens
    other = new_page()
    other.goto(f"/verify#token={token}")
    other.get_by_label("Email", exact=True).fill(email)
    other.get_by_label("Password", exact=True).fill(PASSWORD)
    other.get_by_role("button", name="Confirm my address").click()
    other.get_by_role("heading", name="Already confirmed").wait_for(timeout=30_000)
    screenshot(other, "already")

    # the account page, then log out: the session the page held no longer works at the server
    sent = _bearer_of(page)
    page.get_by_role("navigation").get_by_role("link", name="Account").click()
    page.get_by_text("Your email is confirmed.").wait_for()
    axe(page)
    narrow(page, "account")
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("navigation").get_by_role("link", name="Log in").wait_for()
    assert sent, "the logout request carried the session"
    assert (
        httpx.get(f"{web_server.url}/api/v1/account", headers={"authorization": f"Bearer {sent[-1]}"}).status_code
        == 401
    )

    # log in again (OPAQUE now: the password is not in any request), wrong password first
    bodies: list[str] = []
    page.on("request", lambda r: bodies.append(r.post_data or "") if r.method != "GET" else None)
    page.get_by_role("navigation").get_by_role("link", name="Log in").click()
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill("not the password at all")
    page.get_by_role("button", name="Log in").click()
    assert "Wrong email or password" in page.get_by_role("alert").inner_text()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    axe(page)
    narrow(page, "login")
    page.get_by_role("button", name="Log in").click()
    page.get_by_text(f"Logged in as {email}").wait_for(timeout=30_000)
    assert bodies and not any(PASSWORD in b or "not the password" in b for b in bodies), bodies
    assert any("finalization" in b for b in bodies)  # OPAQUE KE3
    screenshot(page, "account")

    # with the server's OPAQUE sign-up, the password reached the server in no request of this whole flow
    if opaque_signup == [200]:
        assert not any(PASSWORD in body for _, body in every), [u for u, b in every if PASSWORD in b]

    # nothing kept by the browser: no cookie, no web storage
    assert page.context.cookies() == []
    assert page.evaluate("() => localStorage.length + sessionStorage.length") == 0


def test_verify_page_without_a_token_says_so(page, axe):
    page.goto("/verify")
    assert "no confirmation code" in page.get_by_role("alert").inner_text()
    axe(page)


def test_log_in_with_the_keyboard_only(new_page, web_server):
    account = accountkit.signup(web_server, "keys")
    page = new_page()
    page.goto("/login")
    page.keyboard.press("Tab")  # the skip link first
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    while page.evaluate("() => document.activeElement.id") != "login-email":
        page.keyboard.press("Tab")
    page.keyboard.type(account.email)
    page.keyboard.press("Tab")
    page.keyboard.type(account.password)
    page.keyboard.press("Enter")
    page.get_by_text(f"Logged in as {account.email}").wait_for(timeout=30_000)
    while page.evaluate("() => document.activeElement.textContent") != "Log out":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.get_by_role("navigation").get_by_role("link", name="Log in").wait_for()


def test_sqlite_smoke_sign_up_and_confirm(chromium, web_dist, tmp_path):
    """The one browser flow on SQLite (the rest run on PostgreSQL): sign up, confirm, see the account."""
    server = start_server(server_config(tmp_path / "data", f"sqlite:///{tmp_path / 'c11.db'}"))
    context = chromium.new_context(base_url=server.url)
    try:
        page = context.new_page()
        email = new_email("sqlite")
        page.goto("/signup")
        page.get_by_label("Email", exact=True).fill(email)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        page.get_by_role("heading", name="Check your email").wait_for()
        page.goto(f"/verify#token={_token(server, email)}")
        page.get_by_label("Email", exact=True).fill(email)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Confirm my address").click()
        page.get_by_role("heading", name="Email confirmed").wait_for(timeout=30_000)
    finally:
        context.close()
        server.stop()


def test_change_the_password(new_page, web_server, log_in, axe):
    """Log in again with the current password, register the new one (OPAQUE): neither password is in any
    request; afterwards the old password no longer logs in and the new one does."""
    account = accountkit.signup(web_server, "pw")
    page = new_page()
    log_in(page, account.email)
    bodies: list[str] = []
    page.on("request", lambda r: bodies.append(r.post_data or "") if r.method != "GET" else None)
    new = "a brand new browser password"
    page.get_by_label("Current password").fill(account.password)
    page.get_by_label("New password", exact=True).fill(new)
    page.get_by_label("New password again").fill(new)
    axe(page)
    page.get_by_role("button", name="Change password").click()
    page.get_by_text("Password changed.").wait_for(timeout=60_000)
    assert bodies and not any(account.password in b or new in b for b in bodies)
    page.get_by_role("button", name="Log out").click()

    other = new_page()
    other.goto("/login")
    other.get_by_label("Email", exact=True).fill(account.email)
    other.get_by_label("Password", exact=True).fill(account.password)
    other.get_by_role("button", name="Log in").click()
    assert "Wrong email or password" in other.get_by_role("alert").inner_text()
    other.get_by_label("Password", exact=True).fill(new)
    other.get_by_role("button", name="Log in").click()
    other.get_by_text(f"Logged in as {account.email}").wait_for(timeout=30_000)


def test_no_fallback_to_sending_the_password(new_page, web_server):
    """Attacker review: a legacy account (no OPAQUE record) fails the browser login with the hint to use
    `c11 login --legacy-password`, and a 404 from the OPAQUE start (what the server once answered such accounts,
    and anyone on the way can answer) makes the app send the password nowhere: no `POST /api/v1/sessions`."""
    from c11.server.accounts.service import create_user
    from c11.server.context import ServerContext
    from c11.server.db import Database
    from c11.server.passwords import Passwords

    email = new_email("legacy-web")
    db = Database(web_server.config.database_url)
    try:
        ctx = ServerContext(web_server.config, db, Passwords(web_server.config.password_hashing))
        with db.session() as s:
            create_user(ctx, s, email, PASSWORD, verified=True)  # as sign-up did before OPAQUE
    finally:
        db.dispose()
    page = new_page()
    sent: list[tuple[str, str]] = []
    page.on("request", lambda r: sent.append((r.url, r.post_data or "")) if r.method != "GET" else None)
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    alert = page.get_by_role("alert").inner_text()
    assert "predates OPAQUE" in alert and "--legacy-password" in alert, alert
    page.route(
        "**/api/v1/sessions/opaque/start",
        lambda route: route.fulfill(
            status=404,
            content_type="application/problem+json",
            body='{"type": "urn:c11:problem:not-registered", "title": "Not registered", "status": 404}',
        ),
    )
    page.get_by_role("button", name="Log in").click()
    page.wait_for_timeout(500)
    page.get_by_role("alert").wait_for()
    assert sent and not any(u.endswith("/api/v1/sessions") for u, _ in sent), sent
    assert not any(PASSWORD in b for _, b in sent)
