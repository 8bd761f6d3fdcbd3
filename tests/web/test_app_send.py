"""Secure Document Send and share links in Chromium (docs/sharing.md, web/src/app/pages/Send.tsx, Receive.tsx):
`c11 send` -> the recipient's browser (log in on the link's page, verified sender, message as text, byte-equal
streamed saves); a browser send -> `c11 receive` byte-equal, its history, revoke -> a clear page; a share link
updated by the CLI while the recipient's page is open serves the new version. axe and 375 px on the pages."""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path
from typing import Any

from conftest import KEY_PASSPHRASE
from srvkit import PASSWORD


def _open_link(page: Any, link: str, person: Any) -> None:
    """The emailed link in a fresh browser: log in on its page, load the key file, open."""
    page.goto(link)
    page.get_by_label("Email", exact=True).fill(person.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator("#recv-key").or_(page.get_by_test_id("closed")).wait_for(timeout=30_000)
    if page.get_by_test_id("closed").count():  # revoked, expired, used up, not for this account: said at once
        return
    page.locator("#recv-key").set_input_files(str(person.key))
    page.locator("#recv-pass").fill(KEY_PASSPHRASE)
    page.get_by_role("button", name="Open").click()
    page.get_by_test_id("sender").or_(page.get_by_role("alert")).or_(page.get_by_test_id("closed")).wait_for(
        timeout=60_000
    )


def _save(page: Any, label: str, to: Path) -> bytes:
    with page.expect_download(timeout=60_000) as dl:
        page.get_by_role("link", name=label, exact=True).click()
    dl.value.save_as(str(to))
    return to.read_bytes()


def test_cli_send_opens_in_the_browser(people, new_page, axe, narrow, screenshot, tmp_path: Path) -> None:
    alice, bob = people["alice"], people["bob"]
    (tmp_path / "report.txt").write_text("Q3 figures: 42\n")
    (tmp_path / "project" / "sub").mkdir(parents=True)
    blob = os.urandom(300_000)
    (tmp_path / "project" / "sub" / "b.bin").write_bytes(blob)
    note = "see <b>the</b> figures\nsecond line"
    r = alice.cli("send", str(tmp_path / "report.txt"), str(tmp_path / "project"), "--to", bob.email, "-m", note)
    assert r.returncode == 0, r.stderr
    link = next(w for w in r.stdout.split() if "/r/" in w)
    page = new_page()
    _open_link(page, link, bob)
    assert page.get_by_test_id("sender").inner_text() == alice.email
    assert "verified" in page.locator(".signer.verified").inner_text()  # alice's registry key signed the envelope
    assert page.get_by_test_id("send-message").inner_text() == note  # text, never HTML
    assert page.locator("b").count() == 0
    axe(page)
    screenshot(page, "received")
    narrow(page, "received")
    assert _save(page, "Save report.txt", tmp_path / "got.txt") == b"Q3 figures: 42\n"
    assert _save(page, "Save project/sub/b.bin", tmp_path / "got.bin") == blob
    shown = alice.cli("sends", "show", link, "--json")
    assert '"downloaded"' in shown.stdout, shown.stdout


def test_browser_send_cli_receive_history_revoke(
    people, new_page, log_in, axe, narrow, screenshot, tmp_path: Path
) -> None:
    alice, bob = people["alice"], people["bob"]
    one, two = tmp_path / "plan.pdf", tmp_path / "notes.txt"
    one.write_bytes(b"%PDF-1.7 " + os.urandom(200_000))
    two.write_text("notes for bob")
    page = new_page()
    log_in(page, alice.email)
    page.get_by_role("navigation").get_by_role("link", name="Send").click()
    page.get_by_label("People (email addresses)").fill(bob.email)
    page.locator("#send-files").set_input_files([str(one), str(two)])
    page.get_by_label("Message (optional, encrypted with the files)").fill("for the meeting")
    page.get_by_label("Download limit (optional)").fill("2")
    page.locator("#send-key").set_input_files(str(alice.key))
    page.locator("#send-pass").fill(KEY_PASSPHRASE)
    axe(page)
    narrow(page, "send-form")
    page.get_by_role("button", name="Encrypt and send").click()
    page.get_by_role("heading", name="Sent").or_(page.get_by_role("alert")).wait_for(timeout=90_000)
    assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").inner_text()
    link = page.get_by_test_id("send-link").inner_text()
    screenshot(page, "sent")

    out = tmp_path / "in"
    r = bob.cli("receive", link, "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert (out / "plan.pdf").read_bytes() == one.read_bytes() and (out / "notes.txt").read_bytes() == two.read_bytes()
    assert "for the meeting" in r.stdout + r.stderr

    send_id = link.rsplit("/", 1)[1]
    row = page.locator(f'tr[data-send="{send_id}"]')
    row.get_by_role("button", name="Details", exact=False).click()
    assert page.get_by_test_id(f"status-{bob.email}").inner_text() == "downloaded"
    axe(page)
    screenshot(page, "history")
    narrow(page, "history")
    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name="Revoke", exact=False).click()
    page.get_by_text("Revoked: log entry").wait_for(timeout=30_000)
    page.get_by_test_id(f"state-{send_id}").filter(has_text="revoked").wait_for(timeout=30_000)

    gone = new_page()
    _open_link(gone, link, bob)
    assert gone.get_by_test_id("closed").inner_text() == "This link was revoked"
    axe(gone)
    screenshot(gone, "revoked")


def test_share_link_update_while_open(people, new_page, screenshot, tmp_path: Path) -> None:
    alice, bob = people["alice"], people["bob"]
    doc = tmp_path / "plan.txt"
    doc.write_text("version one")
    r = alice.cli("share", "create", str(doc), "--to", bob.email)
    assert r.returncode == 0, r.stderr
    link = next(w for w in r.stdout.split() if "/r/" in w)
    page = new_page()
    _open_link(page, link, bob)
    assert page.get_by_role("heading", name="Files (version 1)").is_visible()
    assert _save(page, "Save plan.txt", tmp_path / "v1.txt") == b"version one"
    doc.write_text("version two, longer")
    r = alice.cli("share", "update", link, str(doc))
    assert r.returncode == 0, r.stderr
    # no click on "Check for a newer version": a save asks the server first and never serves version 1 again;
    # else the page's own check shows version 2 within seconds
    page.get_by_role("link", name="Save plan.txt", exact=True).click()
    page.get_by_role("heading", name="Files (version 2)").wait_for(timeout=30_000)
    assert page.get_by_role("heading", name="Files (version 1)").count() == 0
    assert _save(page, "Save plan.txt", tmp_path / "v2.txt") == b"version two, longer"
    screenshot(page, "link-v2")
    other = new_page()  # someone the link was not sent to learns nothing
    _open_link(other, link, people["mallory"])
    assert other.get_by_test_id("closed").inner_text() == "Nothing here for this account"
    r = alice.cli("share", "revoke", link)  # revoked while the page is open: the page says so by itself
    assert r.returncode == 0, r.stderr
    page.get_by_test_id("closed").wait_for(timeout=30_000)
    assert page.get_by_test_id("closed").inner_text() == "This link was revoked"


def test_share_link_version_by_another_signer_is_refused(
    people, new_page, axe, narrow, screenshot, web_server, tmp_path: Path
) -> None:
    """The page pins the link's signer at the first verified open: the server hands alice's link to mallory
    (another registered account) who adds version 2 — verified as "from mallory", but not the pinned key: the
    page refuses it loudly and offers nothing to save."""
    from sqlalchemy import select, update

    from c11.server.accounts.models import User
    from c11.server.db import Database
    from c11.server.sharing.models import Send

    alice, bob, mallory = people["alice"], people["bob"], people["mallory"]
    doc = tmp_path / "terms.txt"
    doc.write_text("IBAN: ALICE")
    r = alice.cli("share", "create", str(doc), "--to", bob.email)
    assert r.returncode == 0, r.stderr
    link = next(w for w in r.stdout.split() if "/r/" in w)
    page = new_page()
    _open_link(page, link, bob)
    assert page.get_by_test_id("sender").inner_text() == alice.email
    db = Database(web_server.config.database_url)
    with db.session() as s:
        mallory_id = s.scalars(select(User.id).where(User.email == mallory.email)).one()
        s.execute(update(Send).where(Send.id == link.rsplit("/", 1)[1]).values(sender_id=mallory_id))
    db.dispose()
    doc.write_text("IBAN: ATTACKER")
    r = mallory.cli("share", "update", link, str(doc))
    assert r.returncode == 0, r.stderr
    page.get_by_role("button", name="Check for a newer version").click()
    alert = page.get_by_role("alert")
    alert.wait_for(timeout=30_000)
    assert "version 2 of this link is signed by another key" in alert.inner_text(), alert.inner_text()
    assert page.get_by_test_id("send-files").count() == 0 and page.get_by_test_id("sender").count() == 0
    screenshot(page, "link-other-signer")
    narrow(page, "link-other-signer")
    axe(page)
    # opened again (the key file once more): still refused, the pin is kept in this browser
    page.locator("#recv-key").set_input_files(str(bob.key))
    page.locator("#recv-pass").fill(KEY_PASSPHRASE)
    first = alert.element_handle()
    page.get_by_role("button", name="Open").click()
    page.wait_for_function("el => !el.isConnected", arg=first, timeout=60_000)  # opened anew: the old alert went
    page.get_by_role("alert").filter(has_text="signed by another key").wait_for(timeout=60_000)
    assert page.get_by_test_id("send-files").count() == 0


def test_folder_link_tree_and_save_all(people, new_page, axe, narrow, screenshot, web_server, tmp_path: Path) -> None:
    """A folder share link: the tree with the names decrypted in the page; one file, or all of them as one ZIP
    streamed from the decrypted files (the browser's counterpart of the folder `c11 receive` writes)."""
    alice, bob = people["alice"], people["bob"]
    root = tmp_path / "project"
    (root / "docs" / "deep").mkdir(parents=True)
    files = {
        "project/a.txt": b"alpha\n",
        "project/docs/plan <b>x.txt": b"plan",
        "project/docs/deep/big.bin": os.urandom(3_000_000),
        "project/empty.txt": b"",
    }
    for rel, data in files.items():
        (tmp_path / rel).write_bytes(data)
    r = alice.cli("share", "create", str(root), "--to", bob.email)
    assert r.returncode == 0, r.stderr
    link = next(w for w in r.stdout.split() if "/r/" in w)
    page = new_page()
    _open_link(page, link, bob)
    tree = page.get_by_test_id("send-files")
    assert [t.strip() for t in tree.locator(".filename").all_inner_texts()] == [
        "project/",
        "docs/",
        "deep/",
        "big.bin",
        "plan <b>x.txt",
        "a.txt",
        "empty.txt",
    ]
    assert page.locator("b").count() == 0  # names are text
    axe(page)
    screenshot(page, "folder-link")
    narrow(page, "folder-link")
    got = _save(page, "Save project/docs/deep/big.bin", tmp_path / "one.bin")
    assert got == files["project/docs/deep/big.bin"]
    with page.expect_download(timeout=60_000) as dl:
        page.get_by_role("link", name="Save all 4 files (project.zip)").click()
    assert dl.value.suggested_filename == "project.zip"
    dl.value.save_as(str(tmp_path / "all.zip"))
    with zipfile.ZipFile(tmp_path / "all.zip") as z:
        assert z.testzip() is None
        assert {n: z.read(n) for n in z.namelist()} == files
    screenshot(page, "folder-saved")
    # the server swaps a byte of big.bin's ciphertext: the ZIP save fails and says so, no ZIP holds a bad file
    (stored,) = [
        f
        for f in (web_server.data_dir / "blobs").rglob("*")
        if f.is_file() and 3_000_000 < f.stat().st_size < 3_100_000 and f.stat().st_mtime > time.time() - 600
    ]
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 1
    stored.write_bytes(bytes(data))
    page.get_by_role("link", name="Save all 4 files (project.zip)").click()
    failed = page.get_by_role("alert").filter(has_text="Not saved")
    failed.wait_for(timeout=60_000)
    assert "not the one the sender listed" in failed.inner_text() and "Nothing was kept" in failed.inner_text()


def test_expired_link_says_so(people, new_page, axe, screenshot, web_server, tmp_path: Path) -> None:
    alice, bob = people["alice"], people["bob"]
    (tmp_path / "x.txt").write_text("x")
    r = alice.cli("send", str(tmp_path / "x.txt"), "--to", bob.email, "--expires", "1h")
    assert r.returncode == 0, r.stderr
    link = next(w for w in r.stdout.split() if "/r/" in w)
    _expire(web_server, link.rsplit("/", 1)[1])
    page = new_page()
    _open_link(page, link, bob)
    assert page.get_by_test_id("closed").inner_text() == "This link has expired"
    assert "Ask the sender to send them again" in page.get_by_role("main").inner_text()
    axe(page)
    screenshot(page, "expired")


def test_browser_upload_resumes_after_a_broken_connection(people, chromium, web_server, log_in, tmp_path: Path) -> None:
    """A large file is encrypted and uploaded as a stream in pieces; a PATCH whose connection breaks is resumed
    from the server's offset (HEAD), and the recipient gets the exact bytes. (Its own context: the broken
    connection is a console error the other tests' pages must not have.)"""
    alice, bob = people["alice"], people["bob"]
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 * 2**20 + 12345))  # three pieces of 8 MiB
    context = chromium.new_context(base_url=web_server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    expected = ("ERR_CONNECTION_RESET", "the server responded with a status of 4")  # the break; 4xx answers handled
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type == "error" and not any(x in m.text for x in expected) else None,
    )
    log_in(page, alice.email)
    seen: list[tuple[str, str | None]] = []
    broken: list[str] = []

    def route(r: Any) -> None:
        req = r.request
        seen.append((req.method, req.headers.get("upload-offset")))
        if req.method == "PATCH" and req.headers.get("upload-offset") not in (None, "0") and not broken:
            broken.append(req.headers["upload-offset"])
            r.abort("connectionreset")
        else:
            r.continue_()

    page.route("**/api/v1/uploads/*", route)
    page.get_by_role("navigation").get_by_role("link", name="Send").click()
    page.get_by_label("People (email addresses)").fill(bob.email)
    page.locator("#send-files").set_input_files(str(big))
    page.locator("#send-key").set_input_files(str(alice.key))
    page.locator("#send-pass").fill(KEY_PASSPHRASE)
    page.get_by_role("button", name="Encrypt and send").click()
    page.get_by_role("heading", name="Sent").or_(page.get_by_role("alert")).wait_for(timeout=120_000)
    assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").inner_text()
    assert broken and ("HEAD", None) in seen  # one PATCH broke, the page asked where to go on
    patches = [int(o) for m, o in seen if m == "PATCH" and o is not None]
    assert patches.count(int(broken[0])) == 2  # that piece sent again, from the server's offset
    link = page.get_by_test_id("send-link").inner_text()
    context.close()
    assert not errors, errors
    r = bob.cli("receive", link, "-o", str(tmp_path / "in"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "in" / "big.bin").read_bytes() == big.read_bytes()


def _expire(srv: Any, send_id: str) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from c11.server.db import Database
    from c11.server.sharing.models import Send

    db = Database(srv.config.database_url)
    with db.session() as s:
        s.execute(update(Send).where(Send.id == send_id).values(expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    db.dispose()


def test_browser_share_link_create_and_update(people, new_page, log_in, screenshot, tmp_path: Path) -> None:
    alice, bob = people["alice"], people["bob"]
    doc = tmp_path / "terms.txt"
    doc.write_text("terms v1")
    page = new_page()
    log_in(page, alice.email)
    page.get_by_role("navigation").get_by_role("link", name="Send").click()
    page.get_by_label("A share link (always the latest version you upload)").check()
    page.get_by_label("People (email addresses)").fill(bob.email)
    page.locator("#send-files").set_input_files(str(doc))
    page.locator("#send-key").set_input_files(str(alice.key))
    page.locator("#send-pass").fill(KEY_PASSPHRASE)
    page.get_by_role("button", name="Encrypt and create the link").click()
    page.get_by_role("heading", name="Link created").or_(page.get_by_role("alert")).wait_for(timeout=90_000)
    assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").inner_text()
    link = page.get_by_test_id("send-link").inner_text()
    row = page.locator(f'tr[data-send="{link.rsplit("/", 1)[1]}"]')
    row.get_by_role("button", name="Details", exact=False).click()
    doc.write_text("terms v2, amended")
    page.locator("#upd-files").set_input_files(str(doc))
    page.locator("#upd-key").set_input_files(str(alice.key))
    page.locator("#upd-pass").fill(KEY_PASSPHRASE)
    page.get_by_role("button", name="Encrypt and upload the new version").click()
    page.get_by_text("Version 2 is what the recipients get now.").or_(page.get_by_role("alert")).wait_for(
        timeout=90_000
    )
    assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").inner_text()
    screenshot(page, "link-updated")
    r = bob.cli("receive", link, "-o", str(tmp_path / "in"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "in" / "terms.txt").read_text() == "terms v2, amended"


def test_browser_upload_survives_a_server_kill(chromium, pg_schemas, web_dist, tmp_path: Path) -> None:
    """A `c11 serve` process on PostgreSQL is killed (SIGKILL) while the Send page streams a PATCH, and started
    again on the same port: the page resumes from the server's offset and the send completes; while it was
    incomplete the store held no object. (Its own server: the module's runs inside the test process.)"""
    import signal
    import subprocess
    import sys
    import threading

    from conftest import Person
    from srvkit import server_config, start_server

    from c11.server.storage import open_store

    cfg = server_config(tmp_path / "data", pg_schemas.new())
    first = start_server(cfg, "postgresql")  # migrates; the people sign up and publish keys through it
    alice, bob = (Person(first, tag, tmp_path / "people") for tag in ("alice", "bob"))
    port = first.config.port
    first.stop()
    env = {
        **os.environ,
        "C11_DATA_DIR": str(cfg.data_dir),
        "C11_DATABASE_URL": cfg.database_url,
        "C11_WEB_DIST": str(web_dist),
    }
    log = tmp_path / "serve.log"

    def serve() -> subprocess.Popen[bytes]:
        import httpx

        with open(log, "ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "c11.cli.main", "serve", "--port", str(port)], env=env, stdout=out, stderr=out
            )
        for _ in range(600):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    return proc
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, log.read_text()[-3000:]
            threading.Event().wait(0.1)
        raise AssertionError("the server did not start")

    procs = [serve()]
    killed = threading.Event()
    uploads: list[str] = []
    store = open_store(cfg)  # the served process's store: the folder under the same data directory
    seen_while_down: list[int | None] = []

    def kill_and_restart() -> None:
        os.kill(procs[-1].pid, signal.SIGKILL)
        procs[-1].wait()
        killed.set()
        seen_while_down.append(store.size("blobs/" + uploads[-1]))  # nothing visible
        threading.Event().wait(2)  # down for a while: the page's retries fail to connect
        procs.append(serve())

    def on_request(req: Any) -> None:
        if req.method == "PATCH" and "/api/v1/uploads/" in req.url:
            uploads.append(req.url.rsplit("/", 1)[1])
            if req.headers.get("upload-offset") not in (None, "0") and not killed.is_set() and len(procs) == 1:
                threading.Thread(target=kill_and_restart, daemon=True).start()

    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 * 2**20 + 4321))
    context = chromium.new_context(base_url=f"http://127.0.0.1:{port}")
    try:
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("Email", exact=True).fill(alice.email)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_text(f"Logged in as {alice.email}").wait_for(timeout=60_000)
        page.on("request", on_request)
        page.get_by_role("navigation").get_by_role("link", name="Send").click()
        page.get_by_label("People (email addresses)").fill(bob.email)
        page.locator("#send-files").set_input_files(str(big))
        page.locator("#send-key").set_input_files(str(alice.key))
        page.locator("#send-pass").fill(KEY_PASSPHRASE)
        page.get_by_role("button", name="Encrypt and send").click()
        page.get_by_role("heading", name="Sent").or_(page.get_by_role("alert")).wait_for(timeout=180_000)
        assert page.get_by_role("alert").count() == 0, page.get_by_role("alert").inner_text()
        assert killed.is_set() and len(procs) == 2 and seen_while_down == [None]
        link = page.get_by_test_id("send-link").inner_text()
        r = bob.cli("receive", link, "-o", str(tmp_path / "in"))
        assert r.returncode == 0, r.stderr
        assert (tmp_path / "in" / "big.bin").read_bytes() == big.read_bytes()
    finally:
        context.close()
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait(10)
