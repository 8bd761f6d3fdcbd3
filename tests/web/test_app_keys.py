"""A key made in the browser, end to end: a verified account with no key makes one on the account page (in the
worker), must save the key file before it can publish, publishes it (proof of possession), and the page then
shows it verified in the log. bob's CLI finds it by email and encrypts for it; the saved key file (the
`c11 keygen` format) opens that file with `c11 decrypt`."""

from __future__ import annotations

import accountkit
from srvkit import run_cli

KEY_PASS = "passphrase of a browser key"


def test_make_save_and_publish_a_key_then_the_cli_uses_it(
    page, web_server, people, log_in, tmp_path, axe, narrow, screenshot
):
    carol = accountkit.signup(web_server, "carol").email
    log_in(page, carol)
    page.get_by_text("You have no published key yet").wait_for(timeout=30_000)
    page.get_by_label("Passphrase for the key file").fill(KEY_PASS)
    page.get_by_label("The same passphrase again").fill(KEY_PASS)
    axe(page)
    page.get_by_role("button", name="Make my key").click()
    save = page.get_by_role("link", name="Save c11_key_")
    save.wait_for(timeout=60_000)
    publish = page.get_by_role("button", name="Publish my key")
    assert publish.is_disabled()  # the key file must be saved first
    screenshot(page, "made")
    narrow(page, "made")
    with page.expect_download() as dl:
        save.click()
    key = tmp_path / dl.value.suggested_filename
    dl.value.save_as(str(key))
    publish.click()
    status = page.get_by_text("Your published key:")
    status.wait_for(timeout=60_000)
    fingerprint = status.locator("code").inner_text()
    assert key.name == f"c11_key_{fingerprint[:16]}.key"
    axe(page)
    screenshot(page, "published")

    # the key file is c11's: its public key line, and bob's CLI encrypts for carol's email through the registry
    r = run_cli(["pubkey", str(key)], tmp_path / "carol-cfg")
    assert r.returncode == 0 and r.stdout.startswith("c11"), r.stderr
    bob = people["bob"]
    plain = tmp_path / "for-carol.txt"
    plain.write_text("hello carol\n")
    made = tmp_path / "for-carol.txt.c11"
    r = bob.cli("encrypt", "-i", str(bob.key), "-r", carol, "-o", str(made), str(plain))
    assert r.returncode == 0, r.stderr
    out = tmp_path / "opened.txt"
    r = run_cli(
        ["decrypt", "-i", str(key), "-o", str(out), str(made)], tmp_path / "carol-cfg", {"C11_PASSPHRASE": KEY_PASS}
    )
    assert r.returncode == 0, r.stderr
    assert out.read_text() == "hello carol\n"


def test_mismatched_passphrases_make_nothing(page, web_server, log_in):
    dave = accountkit.signup(web_server, "dave").email
    log_in(page, dave)
    page.get_by_label("Passphrase for the key file").fill(KEY_PASS)
    page.get_by_label("The same passphrase again").fill(KEY_PASS + "x")
    page.get_by_role("button", name="Make my key").click()
    assert "differ" in page.get_by_role("alert").inner_text()
    assert page.get_by_role("link", name="Save c11_key_").count() == 0


def test_a_key_file_unlocked_for_the_session_opens_files_until_logout(page, people, log_in, tmp_path, axe, screenshot):
    """A device key unlocked once on the account page (its passphrase) is the session key: Open uses it without a
    key file; logging out wipes it (docs/web.md "The key's life in the browser")."""
    alice, bob = people["alice"], people["bob"]
    plain = tmp_path / "note.txt"
    plain.write_text("for alice's session key\n")
    made = tmp_path / "note.txt.c11"
    r = bob.cli("encrypt", "-i", str(bob.key), "-r", alice.email, "-o", str(made), str(plain))
    assert r.returncode == 0, r.stderr
    log_in(page, alice.email)
    page.get_by_label("Your key file (.key)").set_input_files(str(alice.key))
    page.get_by_label("Passphrase of the key file").fill(alice.env["C11_PASSPHRASE"])
    axe(page)
    screenshot(page, "unlock-form")
    page.get_by_role("button", name="Unlock my key").click()
    page.locator("[data-unlocked]").wait_for(timeout=30_000)
    screenshot(page, "unlocked")
    assert "(key file)" in page.locator("[data-unlocked]").inner_text()
    page.get_by_role("navigation").get_by_role("link", name="Open", exact=True).click()
    page.get_by_label("Protected file (.c11)").set_input_files(str(made))
    page.get_by_role("button", name="Open").click()
    page.get_by_role("link", name="Save note.txt").or_(page.get_by_role("alert")).wait_for(timeout=60_000)
    assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").inner_text()
    page.get_by_role("navigation").get_by_role("link", name="Account", exact=True).click()
    page.get_by_role("button", name="Log out").click()
    page.locator("[data-unlocked]").wait_for(state="detached")
