"""After `c11 db rotate-log-key`, a browser that pinned the old log key follows the signed hand-over (docs/log.md
section 9) at its next page load: the pin moves to the new key, the stored checkpoint is replaced by one the
new key signed that extends it, and lookups verify again; no "log key changed" refusal."""

from __future__ import annotations

import time
from pathlib import Path

from srvkit import run_cli

from c11.server.logsrv.service import REFRESH_SECONDS

PASSPHRASE = "a passphrase for the key"  # the `people` fixture's key files (tests/web/conftest.py)
_READ_PIN = """async () => await new Promise((resolve, reject) => {
  const req = indexedDB.open("c11-log-trust");
  req.onsuccess = () => {
    const get = req.result.transaction("pins").objectStore("pins").get(location.origin);
    get.onsuccess = () => resolve(get.result ?? null);
    get.onerror = () => reject(get.error);
  };
  req.onerror = () => reject(req.error);
})"""


def _encrypt(page, to: str, file: Path, key: Path) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("navigation").get_by_role("link", name="Encrypt").click()
    page.get_by_label("People (email addresses)").fill(to)
    page.get_by_label("File to protect").set_input_files(str(file))
    page.get_by_label("Your key file (.key)").set_input_files(str(key))
    page.get_by_label("Passphrase of your key file").fill(PASSPHRASE)
    page.get_by_role("button", name="Encrypt").click()


def test_a_pinned_browser_follows_a_log_key_rotation(page, people, log_in, web_server, tmp_path: Path) -> None:
    alice, bob = people["alice"], people["bob"]
    plain = tmp_path / "note.txt"
    plain.write_text("for bob")
    log_in(page, alice.email)
    page.get_by_text("log key pinned:").wait_for(timeout=30_000)
    _encrypt(page, bob.email, plain, alice.key)
    page.get_by_role("link", name="Save note.txt.c11").wait_for(timeout=60_000)
    before = page.evaluate(_READ_PIN)

    done = run_cli(
        ["db", "rotate-log-key", "--data-dir", str(web_server.data_dir)],
        tmp_path / "cli",
        {"C11_DATABASE_URL": web_server.config.database_url},
    )
    assert done.returncode == 0, done.stderr
    time.sleep(REFRESH_SECONDS * 2 + 0.2)
    new_key = page.request.get(f"{web_server.url}/api/v1/log/key").text().strip()
    assert new_key != before["logKey"]

    log_in(page, alice.email)  # a new page load: the account page's key lookup follows the hand-over
    _encrypt(page, bob.email, plain, alice.key)
    page.get_by_role("link", name="Save note.txt.c11").wait_for(timeout=60_000)
    after = page.evaluate(_READ_PIN)
    assert after["logKey"] == new_key and int(after["size"]) > int(before["size"])
    assert page.get_by_role("alert").count() == 0
