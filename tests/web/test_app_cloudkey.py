"""Cloud-stored keys in the browser (docs/shards.md, docs/web.md), against a real `c11 serve` on PostgreSQL and a
real `c11 shard-store serve` process: a first key made in the page as format 2 shards (server, store with the
person's OPAQUE registration, recovery shard saved and confirmed first), published; the CLI then rebuilds and
uses it with only the password, and another browser rebuilds it. The other way: a CLI-made cloud key rebuilds in
the page."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import accountkit
import pytest
from conftest import NO_SAVE_PICKER, PageProblems
from srvkit import PASSWORD, run_cli

from c11.keys import cloudkey

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shards"))  # shardkit: a server with its shard stores
from shardkit import ShardEnv, start_env  # noqa: E402


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, pg_schemas: Any, web_dist: Path) -> Iterator[ShardEnv]:
    started = start_env(tmp_path_factory.mktemp("web-cloud"), pg_schemas.new(), "postgresql", stores=1)
    yield started
    started.stop()


@pytest.fixture
def browser_page(chromium: Any, env: ShardEnv) -> Iterator[Any]:
    """A factory of pages at this module's server (a fresh context each: another browser); no page may log a
    CSP violation or an error."""
    contexts: list[Any] = []
    problems = PageProblems()

    def make() -> Any:
        context = chromium.new_context(base_url=env.server.url, accept_downloads=True)
        context.add_init_script(NO_SAVE_PICKER)  # saves go through the streamed download (conftest.py)
        contexts.append(context)
        page = context.new_page()
        problems.watch(page)
        return page

    yield make
    for c in contexts:
        c.close()
    assert not problems.items, "\n".join(problems.items)


def _log_in(page: Any, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text(f"Logged in as {email}").wait_for(timeout=30_000)  # the account page (the session is in memory)


def _rebuild(page: Any, fingerprint: str) -> None:
    page.get_by_label("Your c11 password").fill(PASSWORD)
    page.get_by_role("button", name="Rebuild my key").click()
    done = page.get_by_text("Rebuilt from its shards:").or_(page.get_by_role("alert"))
    done.wait_for(timeout=60_000)
    assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").inner_text()
    assert page.get_by_text("Rebuilt from its shards:").locator("code").inner_text() == fingerprint


def test_a_cloud_key_made_in_the_browser_works_in_the_cli_and_another_browser(
    env, browser_page, tmp_path, axe, narrow, screenshot
):
    carol = accountkit.signup(env.server, "carol").email
    page = browser_page()
    _log_in(page, carol)
    page.get_by_text("You have no published key yet").wait_for(timeout=30_000)
    assert page.get_by_label("Cloud-stored key (recommended)").is_checked()  # the default
    axe(page)
    narrow(page, "choice")
    page.get_by_role("button", name="Make my key").click()
    save = page.get_by_role("link", name="Save c11_recovery_")
    save.wait_for(timeout=60_000)
    store = page.get_by_role("button", name="Store and publish my key")
    assert store.is_disabled() and page.get_by_label("I have saved my recovery shard file").is_disabled()
    screenshot(page, "split")
    narrow(page, "split")
    with page.expect_download() as dl:
        save.click()
    recovery = tmp_path / dl.value.suggested_filename
    dl.value.save_as(str(recovery))
    assert store.is_disabled()  # saving is not enough: the person confirms it
    page.get_by_label("I have saved my recovery shard file").check()
    page.get_by_label("Your c11 password").fill(PASSWORD)
    axe(page)
    store.click()
    status = page.get_by_text("Your published key:").or_(page.get_by_role("alert"))
    status.wait_for(timeout=90_000)
    assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").inner_text()
    fingerprint = page.get_by_text("Your published key:").locator("code").inner_text()
    assert "cloud-stored in shards" in page.get_by_text("Your published key:").inner_text()
    shard = cloudkey.dearmor(recovery.read_text())
    assert shard.version == 2 and shard.fingerprint == fingerprint and shard.index == 3
    screenshot(page, "published")

    # the CLI: `c11 login` finds the cloud key; encrypt to carol and decrypt with only the password (two shards)
    cfg = tmp_path / "carol-cli"
    cli_env = {"C11_PASSWORD": PASSWORD}
    r = run_cli(["login", "--server", env.server.url, "--email", carol], cfg, cli_env)
    assert r.returncode == 0, r.stderr
    assert not list(cfg.glob("keys/*.key"))  # no device key was made: the account's key is the cloud key
    r = run_cli(["keys", "status", "--json"], cfg, cli_env)
    assert r.returncode == 0 and fingerprint in r.stdout, r.stdout + r.stderr
    plain = tmp_path / "note.txt"
    plain.write_text("made in a browser, opened by the CLI\n")
    r = run_cli(["encrypt", "-r", carol, "-o", str(tmp_path / "note.c11"), str(plain)], cfg, cli_env)
    assert r.returncode == 0, r.stderr
    r = run_cli(["decrypt", "-o", str(tmp_path / "out.txt"), str(tmp_path / "note.c11")], cfg, cli_env)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out.txt").read_text() == plain.read_text()

    # another browser rebuilds it from the server's and the store's shards
    other = browser_page()
    _log_in(other, carol)
    other.get_by_role("button", name="Rebuild my key").wait_for(timeout=30_000)
    _rebuild(other, fingerprint)
    axe(other)
    narrow(other, "rebuilt")


def test_a_cloud_key_made_by_the_cli_rebuilds_in_the_browser(env, browser_page, tmp_path, axe, narrow, screenshot):
    dave = accountkit.signup(env.server, "dave").email
    cfg = tmp_path / "dave-cli"
    r = run_cli(["login", "--server", env.server.url, "--email", dave], cfg, {"C11_PASSWORD": PASSWORD})
    assert r.returncode == 0, r.stderr
    shard = cloudkey.dearmor(next((cfg / "recovery").glob("c11_recovery_*.shard")).read_text())
    assert shard.version == 2
    page = browser_page()
    _log_in(page, dave)
    page.get_by_role("button", name="Rebuild my key").wait_for(timeout=30_000)
    _rebuild(page, shard.fingerprint)
    _session_key_used_by_pages(page, dave, shard.fingerprint, cfg, tmp_path, [axe, narrow, screenshot])


_IDLE_LOCK_MS = 15 * 60 * 1000  # web/src/app/unlocked.ts IDLE_LOCK_MS

_STORED = """async () => {
  const out = [JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage })];
  for (const { name } of await indexedDB.databases()) {
    const db = await new Promise((ok, ko) => { const r = indexedDB.open(name); r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
    for (const store of db.objectStoreNames) {
      const all = await new Promise((ok, ko) => { const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => ok(r.result); r.onerror = () => ko(r.error); });
      out.push(name + "/" + store + ":" + JSON.stringify(all, (k, v) => v instanceof Uint8Array ? Array.from(v) : v));
    }
    db.close();
  }
  return out.join("\\n");
}"""


def _nav(page: Any, name: str) -> None:  # in-app navigation: a page load would drop the session (memory only)
    page.get_by_role("navigation").get_by_role("link", name=name, exact=True).click()


def _session_key_used_by_pages(
    page: Any, email: str, fingerprint: str, cfg: Path, tmp_path: Path, looks: list[Any]
) -> None:
    """The rebuilt key is the session's unlocked key: Open and Encrypt use it without a key file; "Lock now" and
    the idle lock wipe it (the pages ask for a key file again); nothing key-like is stored by the browser."""
    cli_env = {"C11_PASSWORD": PASSWORD}
    plain = tmp_path / "memo.txt"
    plain.write_text("opened with the session key\n")
    r = run_cli(["encrypt", "-r", email, "-o", str(tmp_path / "memo.txt.c11"), str(plain)], cfg, cli_env)
    assert r.returncode == 0, r.stderr
    banner = page.locator("[data-unlocked]")
    assert banner.get_attribute("data-unlocked") == fingerprint
    _nav(page, "Open")
    assert page.get_by_label("Your key file (.key)").count() == 0  # no key file asked
    page.get_by_label("Protected file (.c11)").set_input_files(str(tmp_path / "memo.txt.c11"))
    page.get_by_role("button", name="Open").click()
    save = page.get_by_role("link", name="Save memo.txt").or_(page.get_by_role("alert"))
    save.wait_for(timeout=60_000)
    assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").inner_text()
    with page.expect_download() as dl:
        page.get_by_role("link", name="Save memo.txt").click()
    assert Path(dl.value.path()).read_bytes() == plain.read_bytes()
    axe, narrow, screenshot = looks
    axe(page)  # the unlocked bar and the page without a key-file picker
    screenshot(page, "open-unlocked")
    narrow(page, "open-unlocked")

    _nav(page, "Encrypt")
    assert page.get_by_label("Your key file (.key)").count() == 0
    page.get_by_label("People (email addresses)").fill(email)
    page.get_by_label("File to protect").set_input_files(str(plain))
    page.get_by_role("button", name="Encrypt").click()
    save = page.get_by_role("link", name="Save memo.txt.c11").or_(page.get_by_role("alert"))
    save.wait_for(timeout=60_000)
    assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").inner_text()
    with page.expect_download() as dl:
        page.get_by_role("link", name="Save memo.txt.c11").click()
    made = tmp_path / "browser.c11"
    dl.value.save_as(str(made))
    r = run_cli(["decrypt", "-o", str(tmp_path / "back.txt"), str(made)], cfg, cli_env)  # signed by the session key
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "back.txt").read_bytes() == plain.read_bytes() and email in r.stderr

    _nav(page, "Messages")  # write a message signed with the session key, then read it with it
    assert page.get_by_label("Your key file (.key)").count() == 0
    page.get_by_label("Message", exact=True).fill("a message for me")
    page.get_by_label("People (email addresses)").fill(email)
    page.get_by_role("button", name="Encrypt message").click()
    out = page.get_by_label("Protected message (send this block)").or_(page.get_by_role("alert"))
    out.wait_for(timeout=60_000)
    assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").inner_text()
    page.get_by_label("Protected message (paste the whole block)").fill(out.input_value())
    page.get_by_role("button", name="Read", exact=True).click()
    page.get_by_test_id("message-text").wait_for(timeout=60_000)
    assert page.get_by_test_id("message-text").inner_text() == "a message for me"

    _nav(page, "Send")  # signs with the session key too (no key file asked)
    page.get_by_text("Signed with your unlocked key").first.wait_for()
    assert page.get_by_label("Your key file (.key)").count() == 0

    stored = page.evaluate(_STORED)
    assert "c11-log-trust/" in stored  # the scan reads IndexedDB (the pinned log key, public)
    recovery = next((cfg / "recovery").glob("c11_recovery_*.shard")).read_text()
    body = "".join(line for line in recovery.splitlines() if line and not line.startswith("-----") and ":" not in line)
    for secret in (PASSWORD, body[:40], "-----BEGIN", "Seed", "seed", "private"):
        assert secret not in stored, (secret, stored[:500])

    page.get_by_role("button", name="Lock now").click()  # "Lock now": wiped; the pages ask for a key file again
    banner.wait_for(state="detached")
    assert page.get_by_label("Your key file (.key)").is_visible()  # Send asks again
    _nav(page, "Open")
    assert page.get_by_label("Your key file (.key)").is_visible()

    _nav(page, "Account")  # unlock again, then the idle lock (its timer set after the fake clock is installed)
    page.clock.install()
    _rebuild(page, fingerprint)
    banner.wait_for()
    page.clock.fast_forward(_IDLE_LOCK_MS - 60_000)
    assert banner.is_visible()
    page.clock.fast_forward(61_000)
    banner.wait_for(state="detached")
    _nav(page, "Open")
    assert page.get_by_label("Your key file (.key)").is_visible()
