"""The session's unlocked key on every page that needs a private key (docs/web.md "The key's life in the browser"):
a key file unlocked once on the account page opens a send link (/r/...), signs a document request and decrypts its
answers (/requests) and signs a group key's wraps (/admin/groups), with no key-file picker shown; while locked the
pages ask for the key file again. axe and screenshots on each."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import accountkit
from conftest import Person
from srvkit import new_email, outbox_message, text_body

FORM = [{"title": "About you", "fields": [{"id": "full_name", "label": "Full name", "type": "text", "required": True}]}]


def _unlock(page: Any, person: Any) -> str:
    """Unlock `person`'s key file on the account page (where log_in lands); returns the shown fingerprint text."""
    page.get_by_label("Your key file (.key)").set_input_files(str(person.key))
    page.get_by_label("Passphrase of the key file").fill(person.env["C11_PASSPHRASE"])
    page.get_by_role("button", name="Unlock my key").click()
    page.locator("[data-unlocked]").wait_for(timeout=30_000)
    return str(page.locator("[data-unlocked]").inner_text())


def _go(page: Any, path: str) -> None:
    """Navigate inside the app without reloading (a reload would wipe the in-memory key, as it should)."""
    page.evaluate("p => { history.pushState(null, '', p); dispatchEvent(new PopStateEvent('popstate')); }", path)


def test_receive_uses_the_unlocked_key(people, new_page, log_in, axe, screenshot, tmp_path: Path) -> None:
    alice, bob = people["alice"], people["bob"]
    (tmp_path / "report.txt").write_text("for bob's session key\n")
    r = alice.cli("send", str(tmp_path / "report.txt"), "--to", bob.email, "-m", "hello")
    assert r.returncode == 0, r.stderr
    link = next(w for w in r.stdout.split() if "/r/" in w)
    page = new_page()
    log_in(page, bob.email)
    _unlock(page, bob)
    _go(page, "/r/" + link.rsplit("/r/", 1)[1])
    page.get_by_test_id("recv-unlocked").wait_for(timeout=30_000)
    assert page.locator("#recv-key").count() == 0  # no key-file picker while unlocked
    axe(page)
    screenshot(page, "receive-unlocked")
    page.get_by_role("button", name="Open").click()
    page.get_by_test_id("sender").or_(page.get_by_role("alert")).wait_for(timeout=60_000)
    assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").inner_text()
    assert page.get_by_test_id("sender").inner_text() == alice.email
    with page.expect_download(timeout=60_000) as dl:
        page.get_by_role("link", name="Save report.txt", exact=True).click()
    dl.value.save_as(str(tmp_path / "got.txt"))
    assert (tmp_path / "got.txt").read_text() == "for bob's session key\n"
    # locked: the page asks for the key file again
    page.get_by_role("button", name="Lock now").click()
    page.locator("[data-unlocked]").wait_for(state="detached")
    _go(page, "/open")  # leaving the page forgets its keys; coming back asks again
    _go(page, "/r/" + link.rsplit("/r/", 1)[1])
    page.locator("#recv-key").wait_for(timeout=30_000)
    assert page.get_by_test_id("recv-unlocked").count() == 0


def test_requests_sign_and_decrypt_with_the_unlocked_key(
    web_server, people, new_page, log_in, axe, screenshot, tmp_path: Path
) -> None:
    alice = people["alice"]
    to = new_email("rita")
    mine = new_page()
    log_in(mine, alice.email)
    _unlock(mine, alice)
    mine.get_by_role("navigation").get_by_role("link", name="Requests").click()
    mine.get_by_test_id("rq-unlocked").wait_for(timeout=30_000)
    assert mine.locator("#rq-key").count() == 0
    mine.get_by_label("Form sections (JSON: sections of typed fields, docs/sharing.md)").fill(json.dumps(FORM))
    mine.get_by_label("Request name (unique)").fill("Session key request")
    mine.get_by_label("Recipient's email").fill(to)
    mine.get_by_label("Recipient's name").fill("Rita")
    axe(mine)
    screenshot(mine, "requests-unlocked")
    mine.get_by_role("button", name="Sign and send the request").click()
    mine.get_by_text(f"the link was emailed to {to}").wait_for(timeout=60_000)
    link = re.search(r"(https?://\S+/request#\S+)", text_body(outbox_message(web_server.data_dir, to)))
    assert link, "no link in the email"
    rid = link.group(1).split("#")[1].split(".")[0]
    # the recipient (no account) answers in another browser context
    page = new_page()
    page.goto(link.group(1))
    page.get_by_test_id("requester").wait_for(timeout=60_000)
    assert page.get_by_test_id("requester").inner_text() == alice.email  # the session key signed it
    page.get_by_label("Full name (required)").fill("Rita Answer")
    page.get_by_role("button", name="Encrypt and send").click()
    page.get_by_role("heading", name="Sent").wait_for(timeout=60_000)
    # alice decrypts the answers with her unlocked key (the page is still the same session)
    mine.get_by_role("navigation").get_by_role("link", name="Requests").click()
    mine.get_by_test_id(f"status-{rid}").wait_for(timeout=30_000)
    mine.get_by_role("button", name="Session key request").click()
    mine.get_by_test_id("view-unlocked").wait_for(timeout=30_000)
    assert mine.locator("#view-key").count() == 0
    mine.get_by_role("button", name="Decrypt the answers").click()
    mine.get_by_test_id("answers").or_(mine.get_by_role("alert")).wait_for(timeout=60_000)
    assert "Rita Answer" in mine.get_by_test_id("answers").inner_text()


def test_admin_groups_sign_wraps_with_the_unlocked_key(web_server, new_page, log_in, axe, screenshot, tmp_path) -> None:
    root, erin = Person(web_server, "groot", tmp_path), Person(web_server, "gerin", tmp_path)
    org = accountkit.make_org(web_server, root.email, [erin.email], name=f"Session Org {uuid.uuid4().hex[:6]}")
    assert org
    page = new_page()
    log_in(page, root.email)
    _unlock(page, root)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin").click()
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Groups", exact=True).click()
    page.get_by_text("No groups yet.").wait_for(timeout=30_000)
    assert page.locator("#group-new-key").count() == 0
    page.get_by_label("Group name").fill("team")
    page.get_by_label("Members (emails)").fill(erin.email)
    axe(page)
    screenshot(page, "groups-unlocked")
    page.get_by_role("button", name="Create the group and its key").click()
    page.get_by_text("Group team created").or_(page.get_by_role("alert")).wait_for(timeout=60_000)
    assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").inner_text()
    group = page.get_by_role("listitem", name="Group team")
    group.get_by_text(f"{erin.email} · has the key").wait_for(timeout=30_000)
    # erin opens a file made for the group with the wrap the session key signed
    plain = tmp_path / "plan.txt"
    plain.write_text("group plan\n")
    made = tmp_path / "plan.txt.c11"
    r = root.cli("encrypt", "-r", "group:team", "-o", str(made), str(plain))
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out.txt"
    r = erin.cli("decrypt", "-i", str(erin.key), "-o", str(out), str(made))
    assert r.returncode == 0, r.stderr
    assert out.read_text() == "group plan\n"
