"""The Open page end to end in Chromium: a file made by `c11 encrypt` opens in the browser with the person's key
file and passphrase, shows who signed it, and saves exactly the CLI's plaintext; a modified file or a wrong key
offers nothing to save. Also done with the keyboard only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from srvkit import run_cli

PASSPHRASE = "browser test passphrase"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """alice's, bob's and carol's key files (passphrase-protected); report.txt encrypted by alice for bob."""
    tmp = tmp_path_factory.mktemp("open")
    env = {"C11_PASSPHRASE": PASSPHRASE}
    for who in ("alice", "bob", "carol"):
        r = run_cli(["keygen", "--label", f"{who}@example.com", "-o", str(tmp / f"{who}.key")], tmp / "cfg", env)
        assert r.returncode == 0, r.stderr
        (tmp / f"{who}.pub").write_text(r.stdout)
    plain = tmp / "report.txt"
    plain.write_bytes(b"quarterly numbers\n" + os.urandom(200_000))  # several segments
    r = run_cli(
        [
            "encrypt",
            "-i",
            str(tmp / "alice.key"),
            "-r",
            (tmp / "bob.pub").read_text().strip(),
            "-o",
            str(tmp / "report.txt.c11"),
            str(plain),
        ],
        tmp / "cfg",
        env,
    )
    assert r.returncode == 0, r.stderr
    data = bytearray((tmp / "report.txt.c11").read_bytes())
    data[len(data) // 2] ^= 1
    (tmp / "modified.c11").write_bytes(bytes(data))
    return {p.name: p for p in tmp.iterdir() if p.is_file()}


def _open(page, file: Path, key: Path, passphrase: str = PASSPHRASE) -> None:
    page.goto("/open")
    page.get_by_label("Protected file (.c11)").set_input_files(str(file))
    page.get_by_label("Your key file (.key)").set_input_files(str(key))
    page.get_by_label("Passphrase of the key file").fill(passphrase)
    page.get_by_role("button", name="Open").click()


def test_cli_file_opens_shows_the_signer_and_saves_the_plaintext(page, files, axe, narrow, screenshot):
    _open(page, files["report.txt.c11"], files["bob.key"])
    status = page.get_by_role("status")
    status.get_by_text("UNVERIFIED").wait_for(timeout=60_000)
    assert "'alice@example.com'" in status.inner_text() and "self-asserted" in status.inner_text()
    save = page.get_by_role("link", name="Save report.txt")
    with page.expect_download() as dl:
        save.click()
    assert dl.value.suggested_filename == "report.txt"
    assert Path(dl.value.path()).read_bytes() == files["report.txt"].read_bytes()
    axe(page)
    screenshot(page, "opened")
    narrow(page, "opened")


def test_the_author_sees_their_own_signature(page, files):
    _open(page, files["report.txt.c11"], files["alice.key"])
    page.get_by_text("Signed by you").wait_for(timeout=60_000)
    page.get_by_role("link", name="Save report.txt").wait_for()


@pytest.mark.parametrize("case", ["modified", "wrong-key", "wrong-passphrase"])
def test_failures_offer_nothing_to_save(page, files, case, axe, screenshot):
    file = files["modified.c11" if case == "modified" else "report.txt.c11"]
    key = files["carol.key" if case == "wrong-key" else "bob.key"]
    page.goto("/open")
    _open(page, file, key, "not the passphrase" if case == "wrong-passphrase" else PASSPHRASE)
    alert = page.get_by_role("alert")
    alert.wait_for(timeout=60_000)
    text = alert.inner_text()
    assert text.startswith("Not opened:")
    expected = {"modified": "modified", "wrong-key": "none of your keys", "wrong-passphrase": "passphrase"}[case]
    assert expected in text.lower(), text
    assert page.get_by_role("link", name="Save").count() == 0
    assert page.locator("a[download]").count() == 0
    axe(page)
    screenshot(page, case)


def test_open_with_the_keyboard_only(page, files):
    # a listener turns Playwright's file chooser interception on now: it is enabled without waiting for an
    # answer, so enabling it only inside expect_file_chooser could lose a race with the key press under load
    page.on("filechooser", lambda _: None)
    page.goto("/open")
    page.keyboard.press("Tab")  # skip link
    page.keyboard.press("Tab")  # nav: c11
    while page.evaluate("() => document.activeElement.id") != "open-file":
        page.keyboard.press("Tab")
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(files["report.txt.c11"]))
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "open-key"
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Space")
    chooser.value.set_files(str(files["bob.key"]))
    page.get_by_label("Passphrase of the key file").wait_for()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "open-pass"
    page.keyboard.type(PASSPHRASE)
    page.keyboard.press("Enter")
    save = page.get_by_role("link", name="Save report.txt")
    save.wait_for(timeout=60_000)
    while page.evaluate("() => document.activeElement.textContent") != "Save report.txt":
        page.keyboard.press("Tab")
    with page.expect_download() as dl:
        page.keyboard.press("Enter")
    assert Path(dl.value.path()).read_bytes() == files["report.txt"].read_bytes()
