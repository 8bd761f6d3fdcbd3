"""Secure Document Send and share links in Chromium (docs/sharing.md, web/src/app/pages/Send.tsx, Receive.tsx):
`c11 send` -> the recipient's browser (log in on the link's page, verified sender, message as text, byte-equal
streamed saves); a browser send -> `c11 receive` byte-equal, its history, revoke -> a clear page; a share link
updated by the CLI while the recipient's page is open serves the new version. axe and 375 px on the pages."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from conftest import KEY_PASSPHRASE
from srvkit import PASSWORD


def _open_link(page: Any, link: str, person: Any) -> None:
    """The emailed link in a fresh browser: log in on its page, load the key file, open."""
    page.goto(link)
    page.get_by_label("Email", exact=True).fill(person.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator("#recv-key").or_(page.get_by_test_id("closed")).wait_for(timeout=30_000)
    if page.get_by_test_id("closed").count():  # revoked, expired, used up, not for this account: said at once
        return
    page.locator("#recv-key").set_input_files(str(person.key))
    page.locator("#recv-pass").fill(KEY_PASSPHRASE)
    page.get_by_role("button", name="Open").click()
    page.get_by_test_id("sender").or_(page.get_by_role("alert")).or_(page.get_by_test_id("closed")).wait_for(
        timeout=60_000
    )


def _save(page: Any, label: str, to: Path) -> bytes:
    with page.expect_download(timeout=60_000) as dl:
        page.get_by_role("link", name=label, exact=True).click()
    dl.value.save_as(str(to))
    return to.read_bytes()


def test_cli_send_opens_in_the_browser(people, new_page, axe, narrow, screenshot, tmp_path: Path) -> None:
    alice, bob = people["alice"], people["bob"]
    (tmp_path / "report.txt").write_text("Q3 figures: 42\n")
    (tmp_path / "project" / "sub").mkdir(parents=True)
    blob = os.urandom(300_000)
    (tmp_path / "project" / "sub" / "b.bin").write_bytes(blob)
    note = "see <b>the</b> figures\nsecond line"
    r = alice.cli("send", str(tmp_path / "report.txt"), str(tmp_path / "project"), "--to", bob.email, "-m", note)
    assert r.returncode == 0, r.stderr
    link = next(w for w in r.stdout.split() if "/r/" in w)
    page = new_page()
    _open_link(page, link, bob)
    assert page.get_by_test_id("sender").inner_text() == alice.email
    assert "verified" in page.locator(".signer.verified").inner_text()  # alice's registry key signed the envelope
    assert page.get_by_test_id("send-message").inner_text() == note  # text, never HTML
    assert page.locator("b").count() == 0
    axe(page)
    screenshot(page, "received")
    narrow(page, "received")
    assert _save(page, "Save report.txt", tmp_path / "got.txt") == b"Q3 figures: 42\n"
    assert _save(page, "Save project/sub/b.bin", tmp_path / "got.bin") == blob
    shown = alice.cli("sends", "show", link, "--json")
    assert '"downloaded"' in shown.stdout, shown.stdout


def test_browser_send_cli_receive_history_revoke(
    people, new_page, log_in, axe, narrow, screenshot, tmp_path: Path
) -> None:
    alice, bob = people["alice"], people["bob"]
    one, two = tmp_path / "plan.pdf", tmp_path / "notes.txt"
    one.write_bytes(b"%PDF-1.7 " + os.urandom(200_000))
    two.write_text("notes for bob")
    page = new_page()
    log_in(page, alice.email)
    page.get_by_role("navigation").get_by_role("link", name="Send").click()
    page.get_by_label("People (email addresses)").fill(bob.email)
    page.locator("#send-files").set_input_files([str(one), str(two)])
    page.get_by_label("Message (optional, encrypted with the files)").fill("for the meeting")
    page.get_by_label("Download limit (optional)").fill("2")
    page.locator("#send-key").set_input_files(str(alice.key))
    page.locator("#send-pass").fill(KEY_PASSPHRASE)
    axe(page)
    narrow(page, "send-form")
    page.get_by_role("button", name="Encrypt and send").click()
    page.get_by_role("heading", name="Sent").or_(page.get_by_role("alert")).wait_for(timeout=90_000)
    assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").inner_text()
    link = page.get_by_test_id("send-link").inner_text()
    screenshot(page, "sent")

    out = tmp_path / "in"
    r = bob.cli("receive", link, "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert (out / "plan.pdf").read_bytes() == one.read_bytes() and (out / "notes.txt").read_bytes() == two.read_bytes()
    assert "for the meeting" in r.stdout + r.stderr

    send_id = link.rsplit("/", 1)[1]
    row = page.locator(f'tr[data-send="{send_id}"]')
    row.get_by_role("button", name="Details", exact=False).click()
    assert page.get_by_test_id(f"status-{bob.email}").inner_text() == "downloaded"
    axe(page)
    screenshot(page, "history")
    narrow(page, "history")
    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name="Revoke", exact=False).click()
    page.get_by_text("Revoked: log entry").wait_for(timeout=30_000)
    page.get_by_test_id(f"state-{send_id}").filter(has_text="revoked").wait_for(timeout=30_000)

    gone = new_page()
    _open_link(gone, link, bob)
    assert gone.get_by_test_id("closed").inner_text() == "This link was revoked"
    axe(gone)
    screenshot(gone, "revoked")


def test_share_link_update_while_open(people, new_page, screenshot, tmp_path: Path) -> None:
    alice, bob = people["alice"], people["bob"]
    doc = tmp_path / "plan.txt"
    doc.write_text("version one")
    r = alice.cli("share", "create", str(doc), "--to", bob.email)
    assert r.returncode == 0, r.stderr
    link = next(w for w in r.stdout.split() if "/r/" in w)
    page = new_page()
    _open_link(page, link, bob)
    assert page.get_by_role("heading", name="Files (version 1)").is_visible()
    assert _save(page, "Save plan.txt", tmp_path / "v1.txt") == b"version one"
    doc.write_text("version two, longer")
    r = alice.cli("share", "update", link, str(doc))
    assert r.returncode == 0, r.stderr
    page.get_by_role("button", name="Check for a newer version").click()
    page.get_by_role("heading", name="Files (version 2)").wait_for(timeout=30_000)
    assert _save(page, "Save plan.txt", tmp_path / "v2.txt") == b"version two, longer"
    screenshot(page, "link-v2")
    other = new_page()  # someone the link was not sent to learns nothing
    _open_link(other, link, people["mallory"])
    assert other.get_by_test_id("closed").inner_text() == "Nothing here for this account"


def test_browser_share_link_create_and_update(people, new_page, log_in, screenshot, tmp_path: Path) -> None:
    alice, bob = people["alice"], people["bob"]
    doc = tmp_path / "terms.txt"
    doc.write_text("terms v1")
    page = new_page()
    log_in(page, alice.email)
    page.get_by_role("navigation").get_by_role("link", name="Send").click()
    page.get_by_label("A share link (always the latest version you upload)").check()
    page.get_by_label("People (email addresses)").fill(bob.email)
    page.locator("#send-files").set_input_files(str(doc))
    page.locator("#send-key").set_input_files(str(alice.key))
    page.locator("#send-pass").fill(KEY_PASSPHRASE)
    page.get_by_role("button", name="Encrypt and create the link").click()
    page.get_by_role("heading", name="Link created").or_(page.get_by_role("alert")).wait_for(timeout=90_000)
    assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").inner_text()
    link = page.get_by_test_id("send-link").inner_text()
    row = page.locator(f'tr[data-send="{link.rsplit("/", 1)[1]}"]')
    row.get_by_role("button", name="Details", exact=False).click()
    doc.write_text("terms v2, amended")
    page.locator("#upd-files").set_input_files(str(doc))
    page.locator("#upd-key").set_input_files(str(alice.key))
    page.locator("#upd-pass").fill(KEY_PASSPHRASE)
    page.get_by_role("button", name="Encrypt and upload the new version").click()
    page.get_by_text("Version 2 is what the recipients get now.").or_(page.get_by_role("alert")).wait_for(
        timeout=90_000
    )
    assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").inner_text()
    screenshot(page, "link-updated")
    r = bob.cli("receive", link, "-o", str(tmp_path / "in"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "in" / "terms.txt").read_text() == "terms v2, amended"
