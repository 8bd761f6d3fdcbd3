"""Online-policy files and groups in two browser contexts: alice's CLI protects a file with an online policy for
bob; bob's Open page (logged in) opens it with the key server's release; alice revokes it on her My documents page
and bob's open page is refused at his next try (nothing to save), restore lets it open again; deny and allow on the
documents page do the same for bob alone, as `c11 deny/allow` do; a file made in the page with the online policy
opens with bob's CLI. Last (alice becomes her organization's admin): her CLI makes the group `team` with bob; she
encrypts in the page for `group:team` (one stanza for the group key); bob's Open page opens it with the group key
wrapped for him (its wrapper's signature checked against alice's published key) and `c11 decrypt` agrees byte for
byte; the recipient set is recorded as an encryption policy (F21) and offered again as "Recent recipients"."""

from __future__ import annotations

import json

import accountkit

KEY_PASSPHRASE = "a passphrase for the key"  # the `people` fixture's key files


def _try_open(page, made, key) -> str:  # noqa: ANN001 - "opened" or the page's one-line refusal
    page.get_by_label("Protected file (.c11)").set_input_files(str(made))
    page.get_by_label("Your key file (.key)").set_input_files(str(key))
    page.get_by_label("Passphrase of the key file").fill(KEY_PASSPHRASE)
    page.get_by_role("button", name="Open", exact=True).click()
    page.get_by_role("heading", name="Opened").or_(page.get_by_role("alert")).wait_for(timeout=60_000)
    if page.get_by_role("alert").count():
        assert page.get_by_role("link", name="Save minutes.txt").count() == 0  # a refusal offers nothing
        return page.get_by_role("alert").inner_text()
    return "opened"


def test_revocation_and_deny_take_effect_in_an_open_page(new_page, people, log_in, tmp_path, axe, narrow, screenshot):
    alice, bob = people["alice"], people["bob"]
    src = tmp_path / "minutes.txt"
    src.write_text("board minutes")
    made = tmp_path / "minutes.txt.c11"
    r = alice.cli("encrypt", "--online", "-r", bob.email, "-o", str(made), str(src))
    assert r.returncode == 0, r.stderr
    r = alice.cli("access", "--json", str(made))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)["doc_id"]

    reader = new_page()  # bob, with the Open page open
    log_in(reader, bob.email)
    reader.get_by_role("navigation").get_by_role("link", name="Open").click()
    assert _try_open(reader, made, bob.key) == "opened"
    with reader.expect_download() as dl:
        reader.get_by_role("link", name="Save minutes.txt").click()
    assert open(dl.value.path()).read() == "board minutes"  # noqa: PTH123

    author = new_page()  # alice, on My documents
    log_in(author, alice.email)
    author.get_by_role("navigation").get_by_role("link", name="My documents").click()
    item = author.get_by_role("article", name=f"Document {doc}")
    item.wait_for(timeout=30_000)
    item.get_by_role("button", name="Revoke").click()
    item.get_by_text("Revoked: nobody can open it now.").wait_for(timeout=30_000)
    refused = _try_open(reader, made, bob.key)
    assert "revoked" in refused.lower(), refused
    screenshot(reader, "revoked")
    item.get_by_role("button", name="Restore").click()
    item.get_by_text("Restored: recipients can open it again.").wait_for(timeout=30_000)
    assert _try_open(reader, made, bob.key) == "opened"

    # deny bob alone, then allow him again (the documents page's allow/deny, as `c11 deny/allow`)
    item.get_by_label("Allow or deny people (emails or key fingerprints)").fill(bob.email)
    item.get_by_role("button", name="Deny").click()
    item.get_by_text(f"Denied: {bob.email}.").wait_for(timeout=30_000)
    assert bob.email not in item.locator("dd ul").inner_text()  # the recipients listed
    axe(author)
    screenshot(author, "denied")
    narrow(author, "denied")
    refused = _try_open(reader, made, bob.key)
    assert "Not opened" in refused, refused
    item.get_by_label("Allow or deny people (emails or key fingerprints)").fill(bob.email)
    item.get_by_role("button", name="Allow").click()
    item.get_by_text(f"Allowed: {bob.email}.").wait_for(timeout=30_000)
    assert bob.email in item.locator("dd ul").inner_text()
    assert _try_open(reader, made, bob.key) == "opened"
    r = alice.cli("access", "--json", str(made))
    assert r.returncode == 0 and bob.email in r.stdout, r.stdout


def test_encrypt_with_the_online_policy_in_the_page(page, people, log_in, tmp_path, axe, screenshot):
    """`c11 encrypt --online --expires` in the page: registered before it is offered; bob's CLI opens it through
    the key server; the expiry is what the key server holds."""
    alice, bob = people["alice"], people["bob"]
    plain = tmp_path / "budget.txt"
    plain.write_text("the budget\n")
    log_in(page, alice.email)
    page.get_by_role("navigation").get_by_role("link", name="Encrypt").click()
    page.get_by_label("People (email addresses)").fill(bob.email)
    page.get_by_label("File to protect").set_input_files(str(plain))
    page.get_by_label("Your key file (.key)").set_input_files(str(alice.key))
    page.get_by_label("Passphrase of your key file").fill(KEY_PASSPHRASE)
    page.get_by_label("Online policy").check()
    page.get_by_label("Expires (UTC, optional)").fill("2031-02-03T04:05")
    page.get_by_role("button", name="Encrypt").click()
    save = page.get_by_role("link", name="Save budget.txt.c11")
    save.or_(page.get_by_role("alert")).wait_for(timeout=60_000)
    assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").inner_text()
    assert "Online policy: document" in page.locator(".result").inner_text()
    axe(page)
    screenshot(page, "online-made")
    with page.expect_download() as dl:
        save.click()
    made = tmp_path / "budget.txt.c11"
    dl.value.save_as(str(made))
    r = bob.cli("decrypt", "-i", str(bob.key), "-o", str(tmp_path / "b.txt"), str(made))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "b.txt").read_text() == "the budget\n"
    r = alice.cli("access", "--json", str(made))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["expires_at"] == "2031-02-03T04:05:00Z"


def test_group_recipient_and_recent_policies(new_page, web_server, people, log_in, tmp_path, axe, screenshot):
    alice, bob = people["alice"], people["bob"]
    accountkit.make_org(web_server, alice.email, [bob.email])
    r = alice.cli("org", "groups", "create", "team", "-m", bob.email)
    assert r.returncode == 0, r.stderr
    plain = tmp_path / "agenda.txt"
    plain.write_text("team agenda\n")

    sender = new_page()
    log_in(sender, alice.email)
    sender.get_by_role("navigation").get_by_role("link", name="Encrypt").click()
    sender.get_by_label("People (email addresses)").fill("group:team")
    sender.get_by_label("File to protect").set_input_files(str(plain))
    sender.get_by_label("Your key file (.key)").set_input_files(str(alice.key))
    sender.get_by_label("Passphrase of your key file").fill(KEY_PASSPHRASE)
    sender.get_by_role("button", name="Encrypt").click()
    save = sender.get_by_role("link", name="Save agenda.txt.c11")
    save.or_(sender.get_by_role("alert")).wait_for(timeout=60_000)
    assert sender.get_by_role("alert").count() == 0, sender.get_by_role("alert").inner_text()
    with sender.expect_download() as dl:
        save.click()
    made = tmp_path / "agenda.txt.c11"
    dl.value.save_as(str(made))
    r = alice.cli("inspect", str(made), "--json")
    assert r.returncode == 0 and len(json.loads(r.stdout)["recipients"]) == 2, r.stdout  # alice and the group key

    reader = new_page()
    log_in(reader, bob.email)
    reader.get_by_role("navigation").get_by_role("link", name="Open").click()
    reader.get_by_label("Protected file (.c11)").set_input_files(str(made))
    reader.get_by_label("Your key file (.key)").set_input_files(str(bob.key))
    reader.get_by_label("Passphrase of the key file").fill(KEY_PASSPHRASE)
    reader.get_by_role("button", name="Open", exact=True).click()
    reader.get_by_role("heading", name="Opened").or_(reader.get_by_role("alert")).wait_for(timeout=60_000)
    assert reader.get_by_role("alert").count() == 0, reader.get_by_role("alert").inner_text()
    with reader.expect_download() as dl:
        reader.get_by_role("link", name="Save agenda.txt").click()
    assert open(dl.value.path()).read() == "team agenda\n"  # noqa: PTH123
    r = bob.cli("decrypt", "-i", str(bob.key), "-o", str(tmp_path / "cli.txt"), str(made))
    assert r.returncode == 0 and (tmp_path / "cli.txt").read_text() == "team agenda\n", r.stderr

    # F21: the set was recorded; the next visit offers it
    sender.reload()
    log_in(sender, alice.email)
    sender.get_by_role("navigation").get_by_role("link", name="Encrypt").click()
    recent = sender.get_by_label("Recent recipients")
    recent.wait_for(timeout=30_000)
    option = recent.locator("option").nth(1)
    recent.select_option(option.get_attribute("value"))
    assert sender.get_by_label("People (email addresses)").input_value().startswith("c11:")  # the group's key line
    axe(sender)
    screenshot(sender, "recent")
