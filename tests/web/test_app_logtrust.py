"""The browser pins the server's log key at first use (per origin, in IndexedDB, as the CLI pins it) and stores
the latest verified checkpoint: after a page load, a server answering another log key is refused loudly and
nothing is encrypted; the pin and the stored checkpoint survive page loads and hold nothing secret."""

from __future__ import annotations

from pathlib import Path

from srvkit import PASSWORD

from c11.log.checkpoint import generate_log_key

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


def _encrypt(page, to: str, file: Path, key: Path) -> None:
    page.get_by_role("navigation").get_by_role("link", name="Encrypt").click()
    page.get_by_label("People (email addresses)").fill(to)
    page.get_by_label("File to protect").set_input_files(str(file))
    page.get_by_label("Your key file (.key)").set_input_files(str(key))
    page.get_by_label("Passphrase of your key file").fill(PASSPHRASE)
    page.get_by_role("button", name="Encrypt").click()


def test_log_key_pinned_at_first_use_and_a_swapped_key_refused(
    page, people, log_in, web_server, tmp_path, axe, screenshot
):
    alice, bob = people["alice"], people["bob"]
    plain = tmp_path / "note.txt"
    plain.write_text("for bob")
    log_in(page, alice.email)  # the account page looks alice's own key up: the first lookup pins the log key
    notice = page.get_by_text("log key pinned:")
    notice.wait_for(timeout=30_000)
    _encrypt(page, bob.email, plain, alice.key)
    page.get_by_role("link", name="Save note.txt.c11").wait_for(timeout=60_000)
    pin = page.evaluate(_READ_PIN)
    server_key = page.request.get(f"{web_server.url}/api/v1/log/key").text().strip()
    assert pin["logKey"] == server_key and pin["origin"] == web_server.url
    assert pin["note"] and int(pin["size"]) >= 1  # the verified checkpoint is stored
    assert set(pin) == {"origin", "logKey", "note", "size"}  # public data only

    # a new page load: the pin and the checkpoint are still there, and the notice is not repeated
    log_in(page, alice.email)
    _encrypt(page, bob.email, plain, alice.key)
    page.get_by_role("link", name="Save note.txt.c11").wait_for(timeout=60_000)
    assert page.get_by_text("log key pinned:").count() == 0
    assert int(page.evaluate(_READ_PIN)["size"]) >= int(pin["size"])

    # the server (or whoever answers for it) now presents another, well-formed log key: refused loudly
    _signer, other_key = generate_log_key(server_key.split("+", 1)[0])
    page.route(
        "**/api/v1/log/key", lambda route: route.fulfill(status=200, body=other_key + "\n", content_type="text/plain")
    )
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(alice.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    refused = page.get_by_role("alert")  # the account page's own key lookup already refuses
    refused.wait_for(timeout=30_000)
    assert "log key changed" in refused.inner_text(), refused.inner_text()
    _encrypt(page, bob.email, plain, alice.key)
    alert = page.locator("main").get_by_role("alert")
    alert.wait_for(timeout=60_000)
    assert "log key changed" in alert.inner_text() and "Refused" in alert.inner_text(), alert.inner_text()
    assert page.locator("a[download]").count() == 0
    assert page.evaluate(_READ_PIN)["logKey"] == server_key  # the pin is not replaced
    axe(page)
    screenshot(page, "log-key-swapped")


def test_a_replayed_older_log_answer_is_refused_after_a_page_load(page, people, log_in, web_server, tmp_path):
    """The checkpoint stored in the browser outlives the page: an answer recorded earlier (a smaller, genuinely
    signed log) replayed after a reload is a rollback, refused."""
    from conftest import Person

    alice, bob = people["alice"], people["bob"]
    recorded: dict[str, bytes] = {}

    def record(route):  # noqa: ANN001 - keep bob's first genuine answer
        answer = route.fetch()
        recorded.setdefault("bob", answer.body())
        route.fulfill(response=answer)

    page.route("**/api/v1/keys?*", lambda route: record(route) if "bob-" in route.request.url else route.continue_())
    plain = tmp_path / "note.txt"
    plain.write_text("for bob")
    log_in(page, alice.email)
    _encrypt(page, bob.email, plain, alice.key)
    page.get_by_role("link", name="Save note.txt.c11").wait_for(timeout=60_000)
    assert "bob" in recorded
    Person(web_server, "grow", tmp_path)  # publishes a key: the log grows
    log_in(page, alice.email)  # a new page load: the account page's lookup stores the larger checkpoint
    page.get_by_text("Checking the registry").wait_for(state="detached", timeout=30_000)
    grown = int(page.evaluate(_READ_PIN)["size"])
    page.unroute("**/api/v1/keys?*")
    page.route(
        "**/api/v1/keys?*",
        lambda route: (
            route.fulfill(status=200, body=recorded["bob"], content_type="application/json")
            if "bob-" in route.request.url
            else route.continue_()
        ),
    )
    log_in(page, alice.email)
    _encrypt(page, bob.email, plain, alice.key)
    alert = page.locator("main").get_by_role("alert")
    alert.wait_for(timeout=60_000)
    assert "rolled back or forked" in alert.inner_text(), alert.inner_text()
    assert page.locator("a[download]").count() == 0
    assert int(page.evaluate(_READ_PIN)["size"]) == grown  # the stored checkpoint is not replaced by the old one
