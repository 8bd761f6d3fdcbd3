"""The desktop app without a server (issue 21): accessible names and mnemonics on every control, a keyboard-only
flow, drag and drop, cancel in the middle of a large file, a tampered file, and files made in the app opening
with the CLI and the other way round."""

from __future__ import annotations

from pathlib import Path

import pytest
from desktopkit import cli, finish, shot
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QProgressBar,
    QWidget,
)

from c11 import files
from c11.keys.identity import Identity


def _controls(root: QWidget) -> list[QWidget]:
    """The app's own controls (not the parts Qt builds inside a view, such as a table's corner button)."""
    found = []
    for w in root.findChildren(QWidget):
        if isinstance(w, (QAbstractButton, QLineEdit, QAbstractItemView, QProgressBar, QComboBox)):
            parent = w.parent()
            ancestor = parent
            while ancestor is not None and not isinstance(ancestor, QComboBox):
                ancestor = ancestor.parent()
            if ancestor is not None:
                continue  # a combo box's own pop-up list
            if isinstance(parent, QAbstractItemView) or (
                parent is not None and isinstance(parent.parent(), QAbstractItemView)
            ):
                continue
            if type(w).__name__ in ("QTabBar", "QToolButton") or w.objectName().startswith("qt_"):
                continue
            found.append(w)
    return found


def test_every_control_has_an_accessible_name(window):
    controls = _controls(window)
    assert len(controls) > 30
    unnamed = [f"{type(w).__name__} {getattr(w, 'text', lambda: '')()!r}" for w in controls if not w.accessibleName()]
    assert unnamed == []
    for i in range(window.tabs.count()):
        assert window.tabs.widget(i).accessibleName()


def _mnemonic(text: str) -> str | None:
    i = text.replace("&&", "").find("&")
    return text.replace("&&", "")[i + 1].lower() if i >= 0 else None


def test_mnemonics_are_unique_on_each_page(window):
    tabs = [_mnemonic(window.tabs.tabText(i)) for i in range(window.tabs.count())]
    assert None not in tabs and len(set(tabs)) == len(tabs)
    for i in range(window.tabs.count()):
        page = window.tabs.widget(i)
        keys = [
            _mnemonic(w.text())
            for w in page.findChildren(QWidget)
            if isinstance(w, (QAbstractButton, QLabel)) and w.isVisibleTo(page) and _mnemonic(w.text())
        ]
        clash = sorted({k for k in keys if keys.count(k) > 1 or k in tabs})
        assert clash == [], f"page {window.tabs.tabText(i)}: {clash}"


def _alt(qtbot, window, key) -> None:
    qtbot.keyClick(QApplication.focusWidget() or window, key, Qt.KeyboardModifier.AltModifier)
    qtbot.wait(250)  # a button's mnemonic clicks it after a short animation


def test_keyboard_only_offline_encrypt_and_open(qtbot, window, me, tmp_path):
    """Sign in with a key file, encrypt a typed path for a key line, open the result: keys only."""
    identity, key = me
    friend = Identity.generate("friend@example.com")
    doc = tmp_path / "notes.txt"
    doc.write_text("keyboard only\n")
    window.activateWindow()
    _alt(qtbot, window, Qt.Key.Key_F)  # Key &file on this device
    qtbot.waitUntil(window.sign_in_page.file.isChecked, timeout=5000)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)  # from the radio button to the key file field
    assert QApplication.focusWidget() is window.sign_in_page.key_path
    qtbot.keyClicks(window.sign_in_page.key_path, str(key))
    _alt(qtbot, window, Qt.Key.Key_O)  # Use &offline
    qtbot.waitUntil(lambda: bool(window.tasks), timeout=5000)  # the click comes after a short animation
    finish(qtbot, window)
    assert window.session is not None and window.session.key.fingerprint == identity.fingerprint
    assert window.tabs.currentWidget() is window.encrypt_page
    _alt(qtbot, window, Qt.Key.Key_A)  # P&ath
    assert QApplication.focusWidget() is window.encrypt_page.add_path
    qtbot.keyClicks(window.encrypt_page.add_path, str(doc))
    qtbot.keyClick(window.encrypt_page.add_path, Qt.Key.Key_Return)
    assert window.encrypt_page.paths() == [doc]
    assert window.encrypt_page.output.text() == str(doc) + ".c11"
    _alt(qtbot, window, Qt.Key.Key_T)  # Recipien&ts
    qtbot.keyClicks(QApplication.focusWidget(), friend.public.line())
    _alt(qtbot, window, Qt.Key.Key_E)  # &Encrypt
    qtbot.waitUntil(lambda: len(window.tasks) >= 2, timeout=5000)
    finish(qtbot, window)
    assert "Wrote" in window.encrypt_page.busy.status.text(), window.encrypt_page.busy.status.text()
    out = Path(str(doc) + ".c11")
    assert files.decrypt_bytes(out.read_bytes(), [friend]).plaintext == b"keyboard only\n"
    _alt(qtbot, window, Qt.Key.Key_P)  # O&pen tab
    assert window.tabs.currentWidget() is window.open_page
    _alt(qtbot, window, Qt.Key.Key_F)  # &File
    qtbot.keyClicks(window.open_page.path, str(out))
    qtbot.keyClick(window.open_page.path, Qt.Key.Key_Return)
    finish(qtbot, window)
    assert "UNVERIFIED" in window.open_page.signer.text()  # offline, no trusted keys: the label is self-asserted
    assert window.open_page.output.text() == str(doc)
    _alt(qtbot, window, Qt.Key.Key_T)  # Decrypt &to
    QApplication.focusWidget().selectAll()
    qtbot.keyClicks(QApplication.focusWidget(), str(tmp_path / "back.txt"))
    _alt(qtbot, window, Qt.Key.Key_D)  # &Decrypt
    qtbot.waitUntil(lambda: len(window.tasks) >= 4, timeout=5000)
    finish(qtbot, window)
    assert (tmp_path / "back.txt").read_text() == "keyboard only\n"


def _drop(widget: QWidget, paths: list[Path]) -> None:
    """What a file manager's drop delivers: a drag entering with file URLs, then the drop."""
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    center = widget.rect().center()
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(center, Qt.DropAction.CopyAction, data, buttons, mods)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(center), Qt.DropAction.CopyAction, data, buttons, mods)
    QApplication.sendEvent(widget, drop)
    assert drop.isAccepted()


def _offline(qtbot, window, key: Path) -> None:
    page = window.sign_in_page
    page.file.setChecked(True)
    page.key_path.setText(str(key))
    page.offline.click()
    finish(qtbot, window)
    assert window.session is not None, page.busy.status.text()


def test_dropped_folder_encrypts_to_a_bundle_the_cli_opens(qtbot, window, me, tmp_path):
    identity, key = me
    folder = tmp_path / "project"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("alpha\n")
    (folder / "sub" / "b.bin").write_bytes(bytes(range(256)) * 100)
    _offline(qtbot, window, key)
    _drop(window.encrypt_page.inputs, [folder])
    assert window.encrypt_page.paths() == [folder]
    bundle = tmp_path / "project.c11.zip"
    assert window.encrypt_page.output.text() == str(bundle)
    shot(window, "encrypt")
    window.encrypt_page.encrypt.click()
    finish(qtbot, window)
    assert bundle.is_file(), window.encrypt_page.busy.status.text()
    r = cli(tmp_path / "cfg", "decrypt", "-i", str(key), "-o", str(tmp_path / "restored"), str(bundle))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "restored" / "a.txt").read_text() == "alpha\n"
    assert (tmp_path / "restored" / "sub" / "b.bin").read_bytes() == bytes(range(256)) * 100


def test_file_from_the_cli_opens_in_the_app_with_the_trusted_sender(qtbot, window, me, tmp_path, monkeypatch):
    identity, key = me
    alice = Identity.generate("alice@example.com")
    from c11.keys import keyfile

    keyfile.write(tmp_path / "alice.key", alice, None)
    src = tmp_path / "q3.txt"
    src.write_text("from the command line\n")
    r = cli(tmp_path / "cfg", "encrypt", "-i", str(tmp_path / "alice.key"), "-r", identity.public.line(), str(src))
    assert r.returncode == 0, r.stderr
    src.unlink()
    _offline(qtbot, window, key)
    from c11.client.trusted import TrustedKeys, parse

    window.session.trusted = TrustedKeys(parse(f"{alice.public.line()} alice@example.com", "test trust"))
    window.open_file(str(tmp_path / "q3.txt.c11"))  # as a double-click
    finish(qtbot, window)
    text = window.open_page.signer.text()
    assert text.startswith("Signed by alice@example.com") and "trusted keys" in text, text
    assert window.open_page.recipients.count() == 2  # me, and alice (the author)
    shot(window, "open")
    window.open_page.decrypt.click()
    finish(qtbot, window)
    assert src.read_text() == "from the command line\n"


def test_tampered_file_says_so_and_writes_nothing(qtbot, window, me, tmp_path):
    identity, key = me
    blob = bytearray(files.encrypt_bytes(b"x" * 200_000, [identity.public], identity))
    blob[-40] ^= 1
    bad = tmp_path / "bad.txt.c11"
    bad.write_bytes(bytes(blob))
    _offline(qtbot, window, key)
    window.open_file(str(bad))
    finish(qtbot, window)
    assert "INVALID" in window.open_page.signer.text()
    window.open_page.decrypt.click()
    finish(qtbot, window)
    status = window.open_page.busy.status.text()
    assert status.startswith("Error:") and (
        "tamper" in status or "integrity" in status.lower() or "signature" in status
    ), status
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt.c11", "me.key"]


def test_cancel_in_the_middle_of_a_large_file_leaves_nothing(qtbot, window, me, tmp_path):
    identity, key = me
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.truncate(1 << 30)  # sparse: reading it costs no disk; large enough that Cancel lands mid-file
    _offline(qtbot, window, key)
    page = window.encrypt_page
    page.add_paths([str(big)])
    seen: list[int] = []

    def on_progress(n: float) -> None:
        seen.append(int(n))
        if len(seen) == 1:
            page.busy.cancel.click()

    page.encrypt.click()
    window.tasks[-1].signals.progress.connect(on_progress)
    finish(qtbot, window)
    assert page.busy.status.text().startswith("Error: cancelled"), page.busy.status.text()
    assert seen and max(seen) < (1 << 30)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin", "me.key"]  # no .c11, no .part


def test_single_instance_hands_files_to_the_running_app(qtbot, window, tmp_path):
    from c11.desktop import app, instance

    got: list[list[str]] = []
    name = instance.socket_name(f"test-{tmp_path.name}")
    listener = instance.Listener(name, got.append)
    try:
        assert listener.listening
        assert instance.hand_over(["open:/tmp/a.c11", "encrypt:/tmp/b b"], name)
        qtbot.waitUntil(lambda: bool(got), timeout=5000)
        assert got == [["open:/tmp/a.c11", "encrypt:/tmp/b b"]]
        (tmp_path / "plain.txt").write_text("x")
        app._route(window, [f"encrypt:{tmp_path / 'plain.txt'}"])
        assert window.encrypt_page.paths() == [tmp_path / "plain.txt"]
    finally:
        listener.close()
    assert not instance.hand_over(["open:/x"], name)  # nobody listening any more: this process becomes the app


@pytest.mark.parametrize("tab", ["sign-in", "settings", "documents"])
def test_screenshots(qtbot, window, tab):
    pages = {"sign-in": window.sign_in_page, "settings": window.settings_page, "documents": window.documents_page}
    window.tabs.setCurrentWidget(pages[tab])
    qtbot.wait(50)
    assert shot(window, tab).stat().st_size > 1000


def test_change_recipients_add_remove_and_rotate(qtbot, window, me, tmp_path):
    identity, key = me
    friend, other = Identity.generate("friend@example.com"), Identity.generate("other@example.com")
    path = tmp_path / "share.txt.c11"
    path.write_bytes(files.encrypt_bytes(b"shared later\n", [other.public], identity))
    _offline(qtbot, window, key)
    window.open_file(str(path))
    finish(qtbot, window)
    page = window.open_page
    page.add.setText(friend.public.line())
    page.change.click()
    finish(qtbot, window)
    assert files.decrypt_bytes(path.read_bytes(), [friend]).plaintext == b"shared later\n"
    rows = {page.recipients.item(i).data(Qt.ItemDataRole.UserRole): i for i in range(page.recipients.count())}
    assert set(rows) == {identity.fingerprint, friend.fingerprint, other.fingerprint}
    page.recipients.item(rows[other.fingerprint]).setSelected(True)
    page.remove.click()
    finish(qtbot, window)
    fps = {r["fingerprint"] for r in files.inspect(path).recipients}
    assert fps == {identity.fingerprint, friend.fingerprint}
    before = path.read_bytes()
    page.rotate.setChecked(True)
    page.change.click()
    finish(qtbot, window)
    after = path.read_bytes()
    assert after != before and files.decrypt_bytes(after, [friend]).plaintext == b"shared later\n"
    assert files.inspect(path).content_signed
