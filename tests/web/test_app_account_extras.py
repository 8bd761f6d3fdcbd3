"""The account page's key status, registry history and machine tokens, end to end in Chromium: alice's history is
verified in the page and her own key file clears it while another key file flags her key as not hers; a machine
token made in the page is shown once, works against the API with its scope only, is listed, and once revoked in
the page the API refuses it."""

from __future__ import annotations

import httpx
from srvkit import new_email, outbox_message, outbox_messages


def test_key_status_and_registry_history(page, people, log_in, axe, screenshot):
    alice, mallory = people["alice"], people["mallory"]
    log_in(page, alice.email)
    page.get_by_role("heading", name="Key status").wait_for()
    page.get_by_text("none (your key is a key file on your device)").wait_for(timeout=30_000)
    page.get_by_role("button", name="Show the registry history").click()
    history = page.get_by_role("region", name="Registry history of your email")
    history.get_by_text("each verified in this browser against the transparency log").wait_for(timeout=30_000)
    assert "publish" in history.inner_text()
    page.get_by_label("Your key files (to flag keys that are not yours").set_input_files(str(mallory.key))
    history.locator("li.error").wait_for(timeout=10_000)
    assert (
        "NOT ONE OF YOUR KEY FILES" in history.inner_text() and "is NOT one of your key files" in history.inner_text()
    )
    axe(page)
    screenshot(page, "history-flagged")
    page.get_by_label("Your key files (to flag keys that are not yours").set_input_files(str(alice.key))
    history.get_by_text("Every key is one of your key files.").wait_for(timeout=10_000)


def test_machine_tokens_create_list_revoke(page, web_server, people, log_in, axe, narrow, screenshot):
    alice, bob = people["alice"], people["bob"]
    log_in(page, alice.email)
    tokens = page.get_by_role("region", name="Machine tokens")
    tokens.get_by_label("Token name").fill("ci-lookups")
    tokens.get_by_label("Expires in (days)").fill("7")
    tokens.get_by_role("button", name="Create token").click()
    shown = tokens.get_by_label("The token")
    shown.wait_for(timeout=30_000)
    secret = shown.input_value()
    assert secret and "ci-lookups" in tokens.inner_text()
    axe(page)
    screenshot(page, "token-created")
    narrow(page, "token-created")
    with httpx.Client(base_url=web_server.url, headers={"authorization": f"Bearer {secret}"}) as h:
        assert h.get("/api/v1/keys", params={"email": bob.email}).status_code == 200  # keys:read
        assert h.get("/api/v1/documents").status_code == 403  # no documents:read
        tokens.get_by_role("button", name="Revoke token ci-lookups").click()
        tokens.get_by_text("Token ci-lookups revoked.").wait_for(timeout=30_000)
        assert "revoked" in tokens.locator("ul.tokens").inner_text()
        assert h.get("/api/v1/keys", params={"email": bob.email}).status_code == 401
    page.reload()  # the secret was shown once: a new page load lists the token without it
    log_in(page, alice.email)
    page.get_by_role("region", name="Machine tokens").get_by_text("ci-lookups").wait_for(timeout=30_000)
    assert secret not in page.content()


def test_invite_list_and_resend(page, web_server, people, log_in, axe, screenshot):
    """`c11 invite`, `--list`, `--resend` on the account page: dave gets an invitation email, is listed as pending
    with his temporary key, and a resend emails him again."""
    alice = people["alice"]
    dave = new_email("dave")
    log_in(page, alice.email)
    invites = page.get_by_role("region", name="Invitations you sent")
    invites.get_by_label("Invite people (email addresses)").fill(dave)
    invites.get_by_role("button", name="Invite", exact=True).click()
    invites.get_by_text(f"{dave}: pending").wait_for(timeout=30_000)
    outbox_message(web_server.data_dir, dave)
    row = invites.locator("li", has_text=dave)
    assert "temporary key" in row.inner_text() and "emails sent: 1" in row.inner_text()
    axe(page)
    screenshot(page, "invited")
    invites.get_by_role("button", name=f"Resend the invitation to {dave}").click()
    invites.get_by_text(f"Sent the invitation to {dave} again.").wait_for(timeout=30_000)
    assert "emails sent: 2" in row.inner_text()
    outbox_messages(web_server.data_dir, dave, 2)
