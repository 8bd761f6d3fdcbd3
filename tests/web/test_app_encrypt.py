"""Encrypt for people by email, end to end in Chromium: alice (logged in to the app, with the key file her CLI
login made) encrypts a file for bob's email; the registry's answer is verified in the page; bob's CLI decrypts
the download byte for byte and sees alice as the verified signer. A forged registry answer (a key whose log proof
does not verify) is refused and nothing is offered."""

from __future__ import annotations

import json
import os
from pathlib import Path

PASSPHRASE = "a passphrase for the key"  # the `people` fixture's key files (tests/web/conftest.py)


def _fill(page, to: str, file: Path, key: Path) -> None:
    page.get_by_role("navigation").get_by_role("link", name="Encrypt").click()
    page.get_by_label("People (email addresses)").fill(to)
    page.get_by_label("File to protect").set_input_files(str(file))
    page.get_by_label("Your key file (.key)").set_input_files(str(key))
    page.get_by_label("Passphrase of your key file").fill(PASSPHRASE)


def test_encrypt_for_an_email_opens_with_the_cli(page, people, log_in, tmp_path, axe, narrow, screenshot):
    alice, bob, mallory = people["alice"], people["bob"], people["mallory"]
    plain = tmp_path / "plan.pdf"
    plain.write_bytes(b"%PDF-1.7 not really\n" + os.urandom(150_000))
    log_in(page, alice.email)
    _fill(page, f"{bob.email}, {mallory.email}", plain, alice.key)  # the second lookup proves consistency
    axe(page)
    page.get_by_role("button", name="Encrypt").click()
    save = page.get_by_role("link", name="Save plan.pdf.c11")
    save.wait_for(timeout=60_000)
    assert bob.email in page.locator(".result").inner_text() and mallory.email in page.locator(".result").inner_text()
    screenshot(page, "encrypted")
    narrow(page, "encrypted")
    with page.expect_download() as dl:
        save.click()
    made = tmp_path / "plan.pdf.c11"
    dl.value.save_as(str(made))

    out = tmp_path / "bob-plan.pdf"
    r = bob.cli("decrypt", "-i", str(bob.key), "-o", str(out), str(made))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == plain.read_bytes()
    assert alice.email in r.stderr and "UNVERIFIED" not in r.stderr, r.stderr  # verified through the registry
    r = alice.cli("inspect", str(made), "--json")  # alice is a recipient of what she sent
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["recipients"]) == 3


def test_a_forged_registry_answer_is_refused(page, people, log_in, tmp_path, axe, screenshot):
    alice, bob, mallory = people["alice"], people["bob"], people["mallory"]
    mallory_line = mallory.cli("pubkey", str(mallory.key)).stdout.strip()
    assert mallory_line.startswith("c11")

    def forge(route):  # noqa: ANN001 - the server answers bob's lookup with mallory's key in a rewritten entry
        answer = route.fetch()
        d = answer.json()
        entry = json.loads(d["entry"])
        entry["public_key"] = mallory_line
        d["entry"] = json.dumps(entry, sort_keys=True, separators=(",", ":"))
        d["public_key"] = mallory_line
        route.fulfill(response=answer, body=json.dumps(d))

    plain = tmp_path / "secret.txt"
    plain.write_text("for bob only")
    log_in(page, alice.email)
    page.route("**/api/v1/keys?*", lambda route: forge(route) if "bob-" in route.request.url else route.continue_())
    _fill(page, bob.email, plain, alice.key)
    page.get_by_role("button", name="Encrypt").click()
    alert = page.get_by_role("alert")
    alert.wait_for(timeout=60_000)
    assert "does not verify" in alert.inner_text() and bob.email in alert.inner_text(), alert.inner_text()
    assert page.locator("a[download]").count() == 0
    axe(page)
    screenshot(page, "forged")


def test_encrypt_needs_a_login(page):
    page.goto("/encrypt")
    page.get_by_text("Finding people's keys needs an account").wait_for()
