"""Groups and recent policies in the browser: alice (her organization's admin; her CLI made the group `team` with
bob and wrapped its key to him) encrypts in the page for `group:team`; the file has one stanza for the group key;
bob's Open page (logged in) opens it with the group key wrapped for him (its wrapper's signature checked against
alice's published key), and `c11 decrypt` agrees byte for byte. The recipient set is recorded as an encryption
policy (F21) and offered again as "Recent recipients" on alice's next visit."""

from __future__ import annotations

import json

import accountkit

KEY_PASSPHRASE = "a passphrase for the key"  # the `people` fixture's key files


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
