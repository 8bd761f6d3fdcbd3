"""Secure messages in Chromium: an armored message made by `c11 encrypt --armor` is read in the page (shown as
text: markup in it stays text), and a message written in the page for bob's email is read by bob's CLI."""

from __future__ import annotations

MARKUP = "<img src=x onerror=\"document.title='owned'\"><b>meet at 5</b>"


def _read(page, armored: str, key) -> None:  # noqa: ANN001
    page.goto("/messages")
    page.get_by_label("Protected message (paste the whole block)").fill(armored)
    page.locator("#read-key").set_input_files(str(key))
    page.locator("#read-pass").fill("a passphrase for the key")
    page.get_by_role("button", name="Read", exact=True).click()


def test_read_a_cli_message_as_text(page, people, axe, narrow, screenshot):
    alice, bob = people["alice"], people["bob"]
    pub = bob.cli("pubkey", str(bob.key)).stdout.strip()
    r = alice.cli("encrypt", "-i", str(alice.key), "-r", pub, "--armor", input=MARKUP + "\n")
    assert r.returncode == 0, r.stderr
    _read(page, r.stdout, bob.key)
    shown = page.get_by_test_id("message-text")
    shown.wait_for(timeout=60_000)
    assert shown.inner_text().strip() == MARKUP  # the markup is text
    assert page.locator(".message img, .message b").count() == 0 and page.title() != "owned"
    assert "UNVERIFIED" in page.get_by_role("status").first.inner_text()
    axe(page)
    screenshot(page, "read")
    narrow(page, "read")


def test_a_modified_message_is_not_read(page, people):
    alice, bob = people["alice"], people["bob"]
    pub = bob.cli("pubkey", str(bob.key)).stdout.strip()
    armored = alice.cli("encrypt", "-i", str(alice.key), "-r", pub, "--armor", input="hello\n").stdout
    lines = armored.splitlines()
    body = next(i for i, line in enumerate(lines) if line and not line.startswith("-----") and ":" not in line)
    line = lines[body]
    lines[body] = line[:10] + ("A" if line[10] != "A" else "B") + line[11:]
    _read(page, "\n".join(lines) + "\n", bob.key)
    alert = page.get_by_role("alert")
    alert.wait_for(timeout=60_000)
    assert alert.inner_text().startswith("Not read:")
    assert page.get_by_test_id("message-text").count() == 0


def test_write_a_message_bob_reads_with_the_cli(page, people, log_in, axe, screenshot):
    alice, bob = people["alice"], people["bob"]
    log_in(page, alice.email)
    page.get_by_role("navigation").get_by_role("link", name="Messages").click()
    page.get_by_label("Message", exact=True).fill("the code is 4711\nsecond line")
    page.get_by_label("People (email addresses)").fill(bob.email)
    page.locator("#write-key").set_input_files(str(alice.key))
    page.locator("#write-pass").fill("a passphrase for the key")
    page.get_by_role("button", name="Encrypt message").click()
    out = page.get_by_label("Protected message (send this block)")
    out.wait_for(timeout=60_000)
    armored = out.input_value()
    assert armored.startswith("-----BEGIN")
    axe(page)
    screenshot(page, "written")
    r = bob.cli("decrypt", "-i", str(bob.key), input=armored)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "the code is 4711\nsecond line"
    assert alice.email in r.stderr and "UNVERIFIED" not in r.stderr, r.stderr
