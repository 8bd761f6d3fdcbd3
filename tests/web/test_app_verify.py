"""The verification link's page takes the token out of the address bar and the history as soon as it has read it
(`history.replaceState`), and confirming still works with the token it kept."""

from __future__ import annotations

import re

import httpx
from srvkit import PASSWORD, http_signup, new_email, outbox_message, verification_link


def test_verify_page_drops_the_token_from_the_address(page, web_server):
    email = new_email("frag")
    with httpx.Client(base_url=web_server.url) as h:
        assert http_signup(h, email).status_code == 201
    token = re.search(r"token=([^&\s]+)", verification_link(outbox_message(web_server.data_dir, email))).group(1)
    page.goto("/")
    page.goto(f"/verify#token={token}")
    page.get_by_role("heading", name="Confirm your email").wait_for()
    page.wait_for_function("location.hash === ''")
    assert page.url == f"{web_server.url}/verify"
    assert token not in page.evaluate("location.href + ' ' + history.length")
    page.get_by_label("Email", exact=True).fill(email)  # the page kept the token it read
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Confirm my address").click()
    page.get_by_role("heading", name="Email confirmed").wait_for(timeout=30_000)
    page.go_back()  # the entry before is the home page; no history entry holds the token
    page.wait_for_url(f"{web_server.url}/")
    page.go_forward()
    page.wait_for_url(f"{web_server.url}/verify")
    assert token not in page.url
    page.get_by_text("This link has no confirmation code").wait_for()
