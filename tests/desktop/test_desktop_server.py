"""The desktop app against the real server on loopback (issue 21): sign in with a password and a key file,
encrypt for a colleague by email (registry lookup with proofs) under an online policy with an expiry, and the
colleague's CLI opens it; the app lists the document with its access history, revokes and restores it; a file
the colleague's CLI encrypted opens in the app with the sender verified through the registry's log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from desktopkit import finish, shot
from regkit import Device, ok, signup_verified
from srvkit import PASSWORD, RunningServer, server_config, start_server

from c11.client import Client, Credentials, CredentialsStore
from c11.keys import keyfile
from c11.keys.identity import Identity


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("desktop-server")
    server = start_server(server_config(tmp / "data", f"sqlite:///{tmp / 'c11.db'}"), "sqlite")
    try:
        people = {tag: _person(server, tag, tmp / tag) for tag in ("alice", "bob")}
        yield {"server": server, "tmp": tmp, **people}
    finally:
        server.stop()


def _person(server: RunningServer, tag: str, folder: Path) -> tuple[Device, Identity, Path]:
    """A verified account with a published key, its key file, and a CLI config folder logged in."""
    email = signup_verified(server, tag)
    identity = Identity.generate(email)
    with Client(server.url) as c:
        token = c.login(email, PASSWORD).token
        c.state_dir = folder
        c.registry.publish(identity)
    CredentialsStore(folder).save(Credentials(server.url, email, token))
    (folder / "keys").mkdir(mode=0o700)
    key = folder / "keys" / identity.file_stem
    keyfile.write(key, identity, None)
    return Device(server, email, folder), identity, key


def _sign_in(qtbot, window, server: RunningServer, device: Device, key: Path) -> None:  # noqa: ANN001
    page = window.sign_in_page
    page.server.setText(server.url)
    page.email.setText(device.email)
    page.password.setText(PASSWORD)
    page.file.setChecked(True)
    page.key_path.setText(str(key))
    page.sign_in.click()
    finish(qtbot, window)
    assert window.session is not None, page.busy.status.text()
    assert window.session.email == device.email


def test_encrypt_for_an_email_online_then_revoke_and_restore(qtbot, window, world):
    server, tmp = world["server"], world["tmp"]
    alice, _alice_id, alice_key = world["alice"]
    bob, _bob_id, _ = world["bob"]
    _sign_in(qtbot, window, server, alice, alice_key)
    assert window.settings_page.account.text() == alice.email
    shot(window.settings_page, "settings-signed-in")
    doc = tmp / "plan.txt"
    doc.write_text("the plan\n")
    page = window.encrypt_page
    page.add_paths([str(doc)])
    page.recipients.setText(bob.email)
    page.online.setChecked(True)
    page.expires.setText("7d")
    page.encrypt.click()
    finish(qtbot, window)
    assert page.busy.status.text().startswith("Wrote"), page.busy.status.text()
    protected = tmp / "plan.txt.c11"
    r = ok(bob.run("decrypt", "-o", str(tmp / "bob.txt"), str(protected)))
    assert (tmp / "bob.txt").read_text() == "the plan\n"
    assert f"signed by {alice.email} (registry, log-proven" in r.stderr

    page.load_recent()  # the recipient set was saved as a policy: offered again
    finish(qtbot, window)
    offered = [page.recent.itemText(i) for i in range(page.recent.count())]
    assert any(bob.email in o for o in offered), offered
    page.recipients.clear()
    page.recent.activated.emit(next(i for i, o in enumerate(offered) if bob.email in o))
    assert bob.email in page.recipients.text()

    docs = window.documents_page
    window.tabs.setCurrentWidget(docs)
    docs.refresh.click()
    finish(qtbot, window)
    assert docs.table.rowCount() == 1
    assert docs.table.item(0, 3).text() == "active" and docs.table.item(0, 2).text() != "never"
    docs.table.selectRow(0)
    docs.accesses.click()
    finish(qtbot, window)
    history = [docs.history.item(i).text() for i in range(docs.history.count())]
    assert any(bob.email in h and "allowed" in h for h in history), history
    shot(window, "online-documents")

    docs.revoke.click()
    finish(qtbot, window)
    assert docs.table.item(0, 3).text() == "revoked"
    r = bob.run("decrypt", "-o", str(tmp / "bob2.txt"), str(protected))
    assert r.returncode != 0 and "revoked" in r.stderr.lower() and not (tmp / "bob2.txt").exists()
    docs.table.selectRow(0)
    docs.restore.click()
    finish(qtbot, window)
    assert docs.table.item(0, 3).text() == "active"
    ok(bob.run("decrypt", "-o", str(tmp / "bob3.txt"), str(protected)))


def test_file_from_a_colleagues_cli_shows_the_registry_verified_sender(qtbot, window, world):
    server, tmp = world["server"], world["tmp"]
    alice, alice_id, alice_key = world["alice"]
    bob, _bob_id, _ = world["bob"]
    src = tmp / "from-bob.txt"
    src.write_text("hello alice\n")
    ok(bob.run("encrypt", "-r", alice.email, "-o", str(tmp / "from-bob.txt.c11"), str(src)))
    src.unlink()
    _sign_in(qtbot, window, server, alice, alice_key)
    window.open_file(str(tmp / "from-bob.txt.c11"))
    finish(qtbot, window)
    text = window.open_page.signer.text()
    assert text.startswith(f"Signed by {bob.email} — verified in the registry (log-proven"), text
    mine = [window.open_page.recipients.item(i).text() for i in range(window.open_page.recipients.count())]
    assert any(alice_id.fingerprint in m and "(you)" in m for m in mine), mine
    window.open_page.decrypt.click()
    finish(qtbot, window)
    assert src.read_text() == "hello alice\n"


def test_wrong_password_is_a_clear_message(qtbot, window, world):
    server = world["server"]
    alice, _, alice_key = world["alice"]
    page = window.sign_in_page
    page.server.setText(server.url)
    page.email.setText(alice.email)
    page.password.setText("not the password")
    page.sign_in.click()
    finish(qtbot, window)
    assert window.session is None
    status = page.busy.status.text()
    assert status.startswith("Error:") and "Traceback" not in status, status


def test_unregistered_email_is_invited_when_the_user_agrees(qtbot, window, world, monkeypatch):
    server, tmp = world["server"], world["tmp"]
    alice, _, alice_key = world["alice"]
    _sign_in(qtbot, window, server, alice, alice_key)
    page = window.encrypt_page
    asked: list[str] = []
    monkeypatch.setattr(page, "ask_invite", lambda email: asked.append(email) or True)
    doc = tmp / "welcome.txt"
    doc.write_text("welcome aboard\n")
    page.add_paths([str(doc)])
    page.recipients.setText("newcomer@example.com")
    page.encrypt.click()
    finish(qtbot, window)
    assert asked == ["newcomer@example.com"]
    status = page.busy.status.text()
    assert status.startswith("Wrote") and "Invited newcomer@example.com" in status, status
    assert (tmp / "welcome.txt.c11").is_file()


def test_declined_invitation_writes_nothing(qtbot, window, world, monkeypatch):
    server, tmp = world["server"], world["tmp"]
    alice, _, alice_key = world["alice"]
    _sign_in(qtbot, window, server, alice, alice_key)
    page = window.encrypt_page
    monkeypatch.setattr(page, "ask_invite", lambda email: False)
    doc = tmp / "private.txt"
    doc.write_text("not for strangers\n")
    page.add_paths([str(doc)])
    page.recipients.setText("stranger@example.com")
    page.encrypt.click()
    finish(qtbot, window)
    assert "stranger@example.com has no c11 key" in page.busy.status.text()
    assert not (tmp / "private.txt.c11").exists()


def test_machine_tokens_create_list_revoke(qtbot, window, world):
    server = world["server"]
    alice, _, alice_key = world["alice"]
    _sign_in(qtbot, window, server, alice, alice_key)
    page = window.settings_page
    page.token_name.setText("ci-backup")
    page.token_scopes.setText("documents:read keys:read")
    page.create_token.click()
    finish(qtbot, window)
    secret = page.new_token.text()
    assert secret and page.new_token.isReadOnly(), page.token_status.text()
    rows = {page.tokens.item(r, 0).text(): r for r in range(page.tokens.rowCount())}
    row = rows["ci-backup"]
    assert page.tokens.item(row, 1).text() == "documents:read keys:read"
    assert page.tokens.item(row, 3).text() == "active"
    with Client(server.url, secret) as c:
        assert c.whoami().email == alice.email  # the token shown once works
    page.tokens.selectRow(row)
    page.revoke_token.click()
    finish(qtbot, window)
    rows = {page.tokens.item(r, 0).text(): r for r in range(page.tokens.rowCount())}
    assert page.tokens.item(rows["ci-backup"], 3).text() == "revoked"
    window.sign_out()
    assert page.new_token.text() == "" and page.tokens.rowCount() == 0
