"""Invitations end to end in two browser contexts: alice (logged in to the app) encrypts a file for carol, who has
no account, with "Invite people who are not registered yet": the page invites carol, encrypts to her temporary
key (verified in the log, marked not zero-trust). carol opens the invitation link from the email in the outbox,
signs up on it, confirms her email from the verification email, makes and publishes her key in the page, which
receives her temporary key into her key archive; the Open page then opens alice's file with it and offers a copy
moved to carol's own key, which `c11 decrypt` opens with her key file alone. alice's Open page offers the same
move of her copy to carol's new permanent key.
Also the account page's other sections: the registry history of alice's email verified in the page (her own key
file clears it, another key file flags her key as not hers), machine tokens (shown once, working with their scope
only, refused once revoked in the page) and the invitations she sent (listed, resent)."""

from __future__ import annotations

import json
import re

import httpx
from srvkit import PASSWORD, new_email, outbox_message, outbox_messages, run_cli, text_body, verification_link

KEY_PASSPHRASE = "a passphrase for the key"  # the `people` fixture's key files
CAROL_PASS = "carol's key passphrase"


def _open(page, made, key, passphrase) -> None:  # noqa: ANN001
    page.get_by_role("navigation").get_by_role("link", name="Open").click()
    page.get_by_label("Protected file (.c11)").set_input_files(str(made))
    page.get_by_label("Your key file (.key)").set_input_files(str(key))
    page.get_by_label("Passphrase of the key file").fill(passphrase)
    page.get_by_role("button", name="Open", exact=True).click()


def test_invite_from_encrypt_then_the_invitee_signs_up_and_opens(
    new_page, web_server, people, log_in, tmp_path, axe, narrow, screenshot
):
    alice = people["alice"]
    carol = new_email("carol")
    plain = tmp_path / "welcome.txt"
    plain.write_text("welcome aboard, carol\n")

    # alice encrypts for carol, who is not registered: invited, temporary key
    sender = new_page()
    log_in(sender, alice.email)
    sender.get_by_role("navigation").get_by_role("link", name="Encrypt").click()
    sender.get_by_label("People (email addresses)").fill(carol)
    sender.get_by_label("File to protect").set_input_files(str(plain))
    sender.get_by_label("Your key file (.key)").set_input_files(str(alice.key))
    sender.get_by_label("Passphrase of your key file").fill(KEY_PASSPHRASE)
    sender.get_by_role("button", name="Encrypt").click()
    assert "has no c11 key yet" in sender.get_by_role("alert").inner_text(timeout=30_000)  # not without asking
    sender.get_by_label("Invite people who are not registered yet").check()
    sender.get_by_label("Passphrase of your key file").fill(KEY_PASSPHRASE)  # cleared after each attempt
    sender.get_by_role("button", name="Encrypt").click()
    save = sender.get_by_role("link", name="Save welcome.txt.c11")
    save.or_(sender.get_by_role("alert")).wait_for(timeout=60_000)
    assert sender.get_by_role("alert").count() == 0, sender.get_by_role("alert").inner_text()
    result = sender.locator(".result").inner_text()
    assert f"Invited {carol}" in result and "TEMPORARY KEY: not zero-trust" in result, result
    axe(sender)
    screenshot(sender, "encrypted-for-invited")
    with sender.expect_download() as dl:
        save.click()
    made = tmp_path / "welcome.txt.c11"
    dl.value.save_as(str(made))
    r = alice.cli("inspect", str(made), "--json")
    assert r.returncode == 0 and "temporary" in r.stdout.lower(), r.stdout

    # carol: the invitation email's link opens the app's invitation page
    link = re.search(r"(https?://\S+/invite#invitation=\S+)", text_body(outbox_message(web_server.data_dir, carol)))
    assert link, "no invitation link to the app"
    invitee = new_page()
    invitee.goto("/?invitation=older-link")  # an older server's link form lands on the same page
    invitee.get_by_role("heading", name="You are invited to c11").wait_for()
    invitee.goto(link.group(1))
    invitee.get_by_role("heading", name="You are invited to c11").wait_for()
    invitee.wait_for_function("() => location.hash === ''")  # the invitation id leaves the address bar
    axe(invitee)
    screenshot(invitee, "invite")
    narrow(invitee, "invite")
    invitee.get_by_label("Email", exact=True).fill(carol)
    invitee.get_by_label("Password", exact=True).fill(PASSWORD)
    invitee.get_by_role("button", name="Create account").click()
    invitee.get_by_role("heading", name="Check your email").wait_for(timeout=30_000)

    mails = outbox_messages(web_server.data_dir, carol, 2, timeout=20)  # the invitation, then the verification
    invitee.goto(verification_link(next(m for m in mails if "/verify#token=" in text_body(m))))
    invitee.get_by_label("Email", exact=True).fill(carol)
    invitee.get_by_label("Password", exact=True).fill(PASSWORD)
    invitee.get_by_role("button", name="Confirm my address").click()
    invitee.get_by_role("heading", name="Email confirmed").wait_for(timeout=30_000)
    invitee.get_by_role("link", name="your account").click()

    # her key: made, saved, published; publishing receives the temporary key into her key archive
    invitee.get_by_label("Passphrase for the key file").fill(CAROL_PASS)
    invitee.get_by_label("The same passphrase again").fill(CAROL_PASS)
    invitee.get_by_role("button", name="Make my key").click()
    keylink = invitee.get_by_role("link", name="Save c11_key_")
    keylink.wait_for(timeout=60_000)
    with invitee.expect_download() as dl:
        keylink.click()
    key = tmp_path / dl.value.suggested_filename
    dl.value.save_as(str(key))
    invitee.get_by_role("button", name="Publish my key").click()
    invitee.get_by_text("received your temporary key").wait_for(timeout=60_000)
    assert "kept in your key archive" in invitee.locator("main").inner_text()
    axe(invitee)
    screenshot(invitee, "received")

    # she opens alice's file (temporary key from the archive) and gets a copy for her own key
    _open(invitee, made, key, CAROL_PASS)
    invitee.get_by_role("heading", name="Opened").wait_for(timeout=60_000)
    moved = invitee.get_by_role("link", name="Save re-encrypted welcome.txt.moved.c11")
    moved.wait_for(timeout=30_000)
    axe(invitee)
    screenshot(invitee, "opened-moved")
    narrow(invitee, "opened-moved")
    with invitee.expect_download() as dl:
        moved.click()
    copy = tmp_path / "welcome.moved.c11"
    dl.value.save_as(str(copy))
    out = tmp_path / "carol-welcome.txt"
    r = run_cli(
        ["decrypt", "-i", str(key), "-o", str(out), str(copy)], tmp_path / "carol-cfg", {"C11_PASSPHRASE": CAROL_PASS}
    )
    assert r.returncode == 0, r.stderr
    assert out.read_text() == "welcome aboard, carol\n"
    r = run_cli(["inspect", str(copy), "--json"], tmp_path / "carol-cfg")
    assert r.returncode == 0 and "temporary" not in json.dumps(json.loads(r.stdout)).lower(), r.stdout

    # alice, the sender, is offered her copy moved to carol's new permanent key
    _open(sender, made, alice.key, KEY_PASSPHRASE)
    sender.get_by_text(f"A copy for the permanent key of {carol}").wait_for(timeout=60_000)
    screenshot(sender, "sender-offered")


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
