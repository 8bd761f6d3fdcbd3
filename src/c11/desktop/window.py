"""The desktop app's window: Sign in, Encrypt, Open, Online documents, Settings (one tab each).

UI only: each action calls `c11.client.workstation.Workstation` on a worker (`_tasks`). Every control has an
accessible name and a keyboard path (mnemonics, tab order); sizes follow the font, so QT_SCALE_FACTOR=2 reads.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QThreadPool, QTimer
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from c11 import __version__ as c11_version
from c11 import files
from c11._internal.display import safe_text
from c11.client import updates
from c11.client.sender import REGISTRY, REGISTRY_FORMER, TRUSTED, SenderCheck
from c11.client.updates import Release, UpdateSettings
from c11.client.workstation import Opened, Workstation
from c11.desktop import _tasks
from c11.errors import UnregisteredRecipientError

TITLE = "c11"


def _named(widget: Any, name: str, description: str = "") -> Any:
    widget.setAccessibleName(name)
    if description:
        widget.setAccessibleDescription(description)
        widget.setToolTip(description)
    return widget


def _label(text: str, buddy: QWidget) -> QLabel:
    label = QLabel(text)
    label.setBuddy(buddy)
    label.setAccessibleName(text.replace("&", ""))
    return label


def _status() -> QLabel:
    label = QLabel("")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setAccessibleName("Status")
    return label


def signer_text(check: SenderCheck) -> tuple[str, bool]:
    """What the Open tab shows about who signed, and whether it is verified (shown green) or not (orange)."""
    email = safe_text(check.email) if check.email else None
    where = safe_text(check.source or "?")
    if check.status == REGISTRY:
        text = f"Signed by {email} — verified in the registry (log-proven, entry {check.log_index}, {where})"
    elif check.status == REGISTRY_FORMER:
        text = f"Signed by {email} with a FORMER key — verified in the registry's log (entry {check.log_index})"
    elif check.status == TRUSTED:
        text = f"Signed by {email or 'a key you trust'} — in your trusted keys ({where})"
    else:
        state = "FALSE" if check.conflict else "not verified"
        label = safe_text(check.label) or "(no label)"
        return (
            f"UNVERIFIED sender: the file says {label}, which is {state} ({safe_text(check.reason or '', 300)})",
            False,
        )
    if check.label.strip() and not check.label_matches:
        text += f"; the file's label {safe_text(check.label)} is NOT theirs"
    return text, True


class _Busy:
    """The progress bar, Cancel button and status line of a tab, and its one running task."""

    def __init__(self, window: MainWindow, what: str) -> None:
        self.window = window
        self.bar = _named(QProgressBar(), f"{what} progress")
        self.bar.setVisible(False)
        self.cancel = _named(QPushButton("&Cancel"), f"Cancel {what.lower()}", "Stop; nothing is written")
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(self.stop)
        self.status = _status()
        self.task: _tasks.Task | None = None

    def run(
        self,
        work: _tasks.Work,
        done: Callable[[Any], None],
        total: int | None = None,
        message: str = "Working…",
    ) -> _tasks.Task:
        self.status.setText(message)
        self.bar.setVisible(True)
        self.bar.setRange(0, 0 if not total else 1000)
        self.bar.setValue(0)
        self.cancel.setEnabled(True)

        def progress(n: float) -> None:
            if total:
                self.bar.setValue(min(1000, int(n * 1000 / total)))

        def finished(result: Any) -> None:
            self._end()
            done(result)

        def failed(message: str) -> None:
            self._end()
            self.status.setText(f"Error: {message}")

        task = _tasks.start(self.window.pool, work, finished, failed)
        task.signals.progress.connect(progress)
        self.task = task
        self.window.tasks.append(task)
        return task

    def _end(self) -> None:
        self.bar.setVisible(False)
        self.cancel.setEnabled(False)
        self.task = None

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.status.setText("Cancelling…")


class SignInPage(QWidget):
    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window_ = window
        self.server = _named(
            QLineEdit(window.default_server), "Server", "Your c11 server, e.g. https://c11.example.com"
        )
        self.email = _named(QLineEdit(), "Email")
        self.password = _named(QLineEdit(), "Password", "Your c11 password; it never leaves this device (OPAQUE)")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.cloud = _named(QRadioButton("Cloud-stored &key (in shards)"), "Use my cloud-stored key")
        self.file = _named(QRadioButton("Key &file on this device"), "Use a key file on this device")
        self.cloud.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.cloud)
        group.addButton(self.file)
        self.key_path = _named(QLineEdit(), "Key file")
        self.browse = _named(QPushButton("&Browse…"), "Choose key file")
        self.passphrase = _named(QLineEdit(), "Key file passphrase", "Empty when the key file has none")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.sign_in = _named(QPushButton("&Sign in"), "Sign in")
        self.offline = _named(
            QPushButton("Use &offline with the key file"), "Use offline", "No server: key lines and trusted keys only"
        )
        self.provider = _named(QLineEdit(), "Identity provider", "The provider's name on your server (OIDC)")
        self.oidc = _named(
            QPushButton("Sign in through the provi&der"),
            "Sign in through the identity provider",
            "Opens your browser at your organization's sign-in page",
        )
        self.busy = _Busy(window, "Sign in")
        self.oidc.clicked.connect(self._sign_in_oidc)
        self.browse.clicked.connect(self._browse)
        self.sign_in.clicked.connect(self._sign_in)
        self.offline.clicked.connect(self._offline)
        self.file.toggled.connect(self._key_mode)
        self.password.returnPressed.connect(self._sign_in)

        form = QFormLayout()
        form.addRow(_label("Se&rver:", self.server), self.server)
        form.addRow(_label("&Email:", self.email), self.email)
        form.addRow(_label("Pass&word:", self.password), self.password)
        keys = QGroupBox("Your key")
        keys.setAccessibleName("Your key")
        kl = QVBoxLayout(keys)
        kl.addWidget(self.cloud)
        kl.addWidget(self.file)
        row = QHBoxLayout()
        row.addWidget(_label("Key file:", self.key_path))
        row.addWidget(self.key_path, 1)
        row.addWidget(self.browse)
        kl.addLayout(row)
        prow = QHBoxLayout()
        prow.addWidget(_label("P&assphrase:", self.passphrase))
        prow.addWidget(self.passphrase, 1)
        kl.addLayout(prow)
        buttons = QHBoxLayout()
        buttons.addWidget(self.sign_in)
        buttons.addWidget(self.offline)
        buttons.addStretch(1)
        sso = QHBoxLayout()
        sso.addWidget(_label("Pro&vider:", self.provider))
        sso.addWidget(self.provider, 1)
        sso.addWidget(self.oidc)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(keys)
        layout.addLayout(buttons)
        layout.addLayout(sso)
        layout.addWidget(self.busy.bar)
        layout.addWidget(self.busy.status)
        layout.addStretch(1)
        self._key_mode(False)

    def _key_mode(self, use_file: bool) -> None:
        for w in (self.key_path, self.browse, self.passphrase):
            w.setEnabled(use_file)
        self.offline.setEnabled(use_file)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose your key file", "", "c11 key files (*.key);;All files (*)")
        if path:
            self.key_path.setText(path)
            self.file.setChecked(True)

    def _key_file(self) -> str | None:
        return self.key_path.text().strip() or None if self.file.isChecked() else None

    def _sign_in(self) -> None:
        server, email, password = self.server.text().strip(), self.email.text().strip(), self.password.text()
        if not (server and email and password):
            self.busy.status.setText("Enter the server, your email and your password.")
            return
        key, passphrase = self._key_file(), self.passphrase.text() or None
        if self.file.isChecked() and not key:
            self.busy.status.setText("Choose your key file (or pick the cloud-stored key).")
            return
        self.busy.run(
            lambda _p, _c: Workstation.sign_in(server, email, password, key, passphrase),
            self.window_.signed_in,
            message=f"Signing in to {server}…",
        )

    def _sign_in_oidc(self) -> None:
        server, provider = self.server.text().strip(), self.provider.text().strip()
        if not (server and provider):
            self.busy.status.setText("Enter the server and your identity provider's name.")
            return
        key, passphrase = self._key_file(), self.passphrase.text() or None
        if self.file.isChecked() and not key:
            self.busy.status.setText("Choose your key file (or pick the cloud-stored key).")
            return
        opener = self.window_.open_url
        self.busy.run(
            lambda _p, _c: Workstation.sign_in_oidc(server, provider, opener, key, passphrase),
            self.window_.signed_in,
            message=f"Continue in your browser: signing in through {provider}…",
        )

    def _offline(self) -> None:
        key, passphrase = self._key_file(), self.passphrase.text() or None
        if not key:
            self.busy.status.setText("Choose your key file first.")
            return
        self.busy.run(lambda _p, _c: Workstation.offline(key, passphrase), self.window_.signed_in)


class _DropList(QListWidget):
    """The files and folders to encrypt; accepts drops from the file manager."""

    def __init__(self, on_paths: Callable[[list[str]], None]) -> None:
        super().__init__()
        self._on_paths = on_paths
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragMoveEvent(self, event: Any) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self._on_paths(paths)
            event.acceptProposedAction()


class EncryptPage(QWidget):
    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window_ = window
        self.inputs = _named(_DropList(self.add_paths), "Files to encrypt", "Drop files or folders here")
        self.add_files = _named(QPushButton("Add &files…"), "Add files")
        self.add_folder = _named(QPushButton("Add fol&der…"), "Add folder")
        self.remove = _named(QPushButton("&Remove"), "Remove selected")
        self.add_path = _named(QLineEdit(), "Path to add", "Type a file or folder path and press Enter")
        self.add_path.returnPressed.connect(self._typed)
        self.recipients = _named(
            QLineEdit(),
            "Recipients",
            "Emails (looked up in the registry with proofs), group:NAME, or c11:… key lines; separated by commas",
        )
        self.recipients.setPlaceholderText("bob@example.com, group:finance")
        self.online = _named(QCheckBox("&Online policy (revocable, audited)"), "Online policy")
        self.expires = _named(QLineEdit(), "Expires", "With an online policy: 7d, 12h, 2026-12-31 (empty: never)")
        self.expires.setPlaceholderText("never (e.g. 7d or 2026-12-31)")
        self.expires.setEnabled(False)
        self.output = _named(QLineEdit(), "Save as", "Default: next to the input, ending in .c11 (.c11.zip)")
        self.browse = _named(QPushButton("Bro&wse…"), "Choose where to save")
        self.encrypt = _named(QPushButton("&Encrypt"), "Encrypt")
        self.busy = _Busy(window, "Encrypt")
        self.online.toggled.connect(self.expires.setEnabled)
        self.add_files.clicked.connect(self._pick_files)
        self.add_folder.clicked.connect(self._pick_folder)
        self.remove.clicked.connect(self._remove)
        self.browse.clicked.connect(self._browse)
        self.encrypt.clicked.connect(lambda: self.start())
        self.recent = _named(QComboBox(), "Recently used recipients", "Your recent recipient sets (signed in)")
        self.recent.addItem("(choose a recent set of recipients)", None)
        self.recent.activated.connect(self._use_recent)

        hint = QLabel("Drag files or folders onto this window, or add them:")
        hint.setAccessibleName("Drag files or folders onto this window, or add them")
        picks = QHBoxLayout()
        for b in (self.add_files, self.add_folder, self.remove):
            picks.addWidget(b)
        picks.addWidget(_label("P&ath:", self.add_path))
        picks.addWidget(self.add_path, 1)
        form = QFormLayout()
        form.addRow(_label("Recipien&ts:", self.recipients), self.recipients)
        form.addRow(_label("Recentl&y used:", self.recent), self.recent)
        form.addRow("", self.online)
        form.addRow(_label("E&xpires:", self.expires), self.expires)
        out = QHBoxLayout()
        out.addWidget(self.output, 1)
        out.addWidget(self.browse)
        form.addRow(_label("&Save as:", self.output), out)
        actions = QHBoxLayout()
        actions.addWidget(self.encrypt)
        actions.addWidget(self.busy.cancel)
        actions.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(self.inputs, 1)
        layout.addLayout(picks)
        layout.addLayout(form)
        layout.addLayout(actions)
        layout.addWidget(self.busy.bar)
        layout.addWidget(self.busy.status)

    def paths(self) -> list[Path]:
        return [Path(self.inputs.item(i).text()) for i in range(self.inputs.count())]

    def add_paths(self, paths: list[str]) -> None:
        have = {str(p) for p in self.paths()}
        for p in paths:
            if p not in have:
                self.inputs.addItem(p)
                have.add(p)
        if not self.output.text().strip():
            try:
                self.output.setText(str(files.default_output(self.paths())))
            except Exception:  # noqa: BLE001 - several inputs: the user names the bundle
                self.output.setPlaceholderText("several inputs make one bundle: name it (….c11.zip)")

    def _typed(self) -> None:
        text = self.add_path.text().strip()
        if not text:
            return
        if not Path(text).exists():
            self.busy.status.setText(f"{text}: no such file or folder")
            return
        self.add_paths([text])
        self.add_path.clear()

    def _pick_files(self) -> None:
        chosen, _ = QFileDialog.getOpenFileNames(self, "Files to encrypt")
        self.add_paths(chosen)

    def _pick_folder(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Folder to encrypt")
        if chosen:
            self.add_paths([chosen])

    def _remove(self) -> None:
        for item in self.inputs.selectedItems():
            self.inputs.takeItem(self.inputs.row(item))

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the protected file as", self.output.text())
        if path:
            self.output.setText(path)

    def ask_invite(self, email: str) -> bool:
        """Whether to invite an email that has no key yet (it gets an invitation; a temporary key the key server
        holds lets you encrypt for it now)."""
        answer = QMessageBox.question(
            self,
            "Invite?",
            f"{email} has no c11 key yet. Invite them (they get an email; you can encrypt for them now, to a "
            "temporary key the key server holds until they register)?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        return answer == QMessageBox.StandardButton.Yes

    def load_recent(self) -> None:
        """Fill Recently used with your saved recipient sets (signed in only)."""
        ws = self.window_.session
        self.recent.clear()
        self.recent.addItem("(choose a recent set of recipients)", None)
        if ws is None or ws.client is None:
            return

        def fill(policies: list[Any]) -> None:
            for pol in policies:
                members = [m.email or m.public_key for m in pol.members if m.email or m.public_key]
                self.recent.addItem(safe_text(pol.name or pol.describe(), 200), ", ".join(members))

        task = _tasks.start(self.window_.pool, lambda _p, _c: ws.policies(), fill, lambda _m: None)
        self.window_.tasks.append(task)

    def _use_recent(self, index: int) -> None:
        members = self.recent.itemData(index)
        if members:
            self.recipients.setText(members)

    def start(self, invited: frozenset[str] = frozenset()) -> None:
        ws = self.window_.session
        if ws is None:
            self.busy.status.setText("Sign in first (Sign in tab).")
            return
        inputs = self.paths()
        if not inputs:
            self.busy.status.setText("Add files or folders to encrypt (or drop them here).")
            return
        if not self.output.text().strip():
            self.busy.status.setText("Choose where to save (Save as).")
            return
        output = Path(self.output.text().strip())
        wanted = [r.strip() for r in self.recipients.text().replace(";", ",").split(",") if r.strip()]
        online, expires = self.online.isChecked(), self.expires.text().strip() or None
        total = sum(p.stat().st_size for p in inputs if p.is_file()) or None

        def work(progress: Callable[[int], None], cancelled: Callable[[], bool]) -> tuple[Any, Any]:
            try:
                plan = ws.plan(wanted, online=online, expires=expires, invite=lambda e: e.lower() in invited)
            except UnregisteredRecipientError as e:
                return None, e.email  # asked on the UI thread, then encrypted again
            info = ws.encrypt(inputs, output, plan, progress=progress, cancelled=cancelled)
            return plan, info

        def done(result: tuple[Any, Any]) -> None:
            plan, info = result
            if plan is None:
                if self.ask_invite(info):
                    self.start(invited | {info.lower()})
                else:
                    self.busy.status.setText(f"{info} has no c11 key: invite them, or remove them from Recipients.")
                return
            invited_note = "".join(f" Invited {e} (invitation email sent)." for e in plan.invited)
            notes = "; ".join([*plan.notes, *plan.warnings])
            self.busy.status.setText(
                f"Wrote {output} for {len(info.recipients)} recipient(s).{invited_note}"
                + (f" {notes}" if notes else "")
            )

        self.busy.run(work, done, total, f"Encrypting to {output.name}…")


class OpenPage(QWidget):
    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window_ = window
        self.opened: Opened | None = None
        self.path = _named(QLineEdit(), "Protected file", "A .c11 file, .c11.zip bundle or armored message")
        self.choose = _named(QPushButton("C&hoose…"), "Choose a protected file")
        self.check = _named(QPushButton("Chec&k sender"), "Check sender")
        self.signer = _named(QLabel("Choose a protected file to see who sent it."), "Sender")
        self.signer.setWordWrap(True)
        font = QFont(self.signer.font())
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.signer.setFont(font)
        self.signer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.recipients = _named(QListWidget(), "Recipients of the file")
        self.output = _named(QLineEdit(), "Decrypt to", "A file (a folder for a bundle); must not exist yet")
        self.browse = _named(QPushButton("Bro&wse…"), "Choose where to decrypt")
        self.decrypt = _named(QPushButton("&Decrypt"), "Decrypt")
        self.busy = _Busy(window, "Decrypt")
        self.recipients.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.add = _named(
            QLineEdit(), "Add recipients", "Emails (registry lookup with proofs), group:NAME or c11:… key lines"
        )
        self.remove = _named(QPushButton("Re&move selected"), "Remove selected recipients")
        self.rotate = _named(QCheckBox("R&otate the file key"), "Rotate the file key", "Re-encrypt everything")
        self.change = _named(QPushButton("Change recipi&ents"), "Change recipients", "Rewrites the file in place")
        self.remove.clicked.connect(lambda: self.change_recipients(remove_selected=True))
        self.change.clicked.connect(lambda: self.change_recipients(remove_selected=False))
        self.choose.clicked.connect(self._choose)
        self.check.clicked.connect(lambda: self.open_path(self.path.text().strip()))
        self.path.returnPressed.connect(lambda: self.open_path(self.path.text().strip()))
        self.browse.clicked.connect(self._browse)
        self.decrypt.clicked.connect(self.start)

        top = QHBoxLayout()
        top.addWidget(_label("&File:", self.path))
        top.addWidget(self.path, 1)
        top.addWidget(self.choose)
        top.addWidget(self.check)
        out = QHBoxLayout()
        out.addWidget(_label("Decrypt &to:", self.output))
        out.addWidget(self.output, 1)
        out.addWidget(self.browse)
        actions = QHBoxLayout()
        actions.addWidget(self.decrypt)
        actions.addWidget(self.busy.cancel)
        actions.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.signer)
        layout.addWidget(_label("&Recipients:", self.recipients))
        layout.addWidget(self.recipients, 1)
        edit = QHBoxLayout()
        edit.addWidget(_label("&Add:", self.add))
        edit.addWidget(self.add, 1)
        edit.addWidget(self.rotate)
        edit.addWidget(self.change)
        edit.addWidget(self.remove)
        layout.addLayout(edit)
        layout.addLayout(out)
        layout.addLayout(actions)
        layout.addWidget(self.busy.bar)
        layout.addWidget(self.busy.status)

    def _choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a protected file", "", "c11 files (*.c11 *.c11.zip);;All (*)")
        if path:
            self.open_path(path)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Decrypt to", self.output.text())
        if path:
            self.output.setText(path)

    def open_path(self, path: str) -> None:
        """Show the sender and recipients of `path` (header only: nothing is decrypted yet)."""
        ws = self.window_.session
        if not path:
            self.busy.status.setText("Choose a protected file.")
            return
        self.path.setText(path)
        self.opened = None
        self.recipients.clear()
        if ws is None:
            self.busy.status.setText("Sign in first (Sign in tab) to open it.")
            return
        self.busy.run(lambda _p, _c: ws.inspect(Path(path)), self._show, message="Checking the sender…")

    def _show(self, opened: Opened) -> None:
        self.opened = opened
        text, verified = signer_text(opened.signer)
        if not opened.info.signature_valid:
            text, verified = "The file's signature is INVALID: it was changed after it was signed.", False
        self.signer.setText(text)
        self.signer.setStyleSheet("color: #1b5e20;" if verified else "color: #8a3b00;")
        ws = self.window_.session
        mine = ws.key.fingerprint if ws is not None else None
        for r in opened.info.recipients:  # the header names keys, not people (labels are not in it)
            fp = str(r.get("fingerprint") or "?")
            kind = safe_text(str(r.get("type") or ""))
            item = QListWidgetItem(f"{safe_text(fp)}  {kind}" + ("  (you)" if fp == mine else ""))
            item.setData(Qt.ItemDataRole.UserRole, fp)
            self.recipients.addItem(item)
        name = opened.path.name
        for suffix in (files.BUNDLE_SUFFIX, files.SUFFIX):
            if name.endswith(suffix) and len(name) > len(suffix):
                self.output.setText(str(opened.path.with_name(name[: -len(suffix)])))
                break
        info = opened.info
        size = f", {info.size:,} bytes" if info.size is not None else ""
        what = {"bundle": "A protected folder", "message": "A protected message"}.get(info.kind, "A protected file")
        self.busy.status.setText(f"{what}: {safe_text(info.name or name)}{size}. Decrypt to see its content.")

    def change_recipients(self, remove_selected: bool) -> None:
        """Add the typed recipients (and rotate, if checked), or remove the selected ones: `c11 reencrypt`."""
        ws, opened = self.window_.session, self.opened
        if ws is None or opened is None:
            self.busy.status.setText("Open a protected file first (Check sender).")
            return
        remove = (
            [str(i.data(Qt.ItemDataRole.UserRole)) for i in self.recipients.selectedItems()] if remove_selected else []
        )
        add = [] if remove_selected else [r.strip() for r in self.add.text().replace(";", ",").split(",") if r.strip()]
        rotate = self.rotate.isChecked() and not remove_selected
        if remove_selected and not remove:
            self.busy.status.setText("Select the recipients to remove.")
            return
        if not (add or remove or rotate):
            self.busy.status.setText("Type recipients to add, or check Rotate the file key.")
            return
        remove_self = ws.key.fingerprint in remove
        if remove_self:
            answer = QMessageBox.question(
                self,
                "Remove your own key?",
                "You are removing your own key: you will no longer be able to open this file. Continue?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        path = opened.path
        total = path.stat().st_size if rotate else None

        def done(info: Any) -> None:
            self.add.clear()
            self.open_path(str(path))
            self.window_.statusBar().showMessage(f"Updated {path.name}: {len(info.recipients)} recipient(s)")

        self.busy.run(
            lambda p, c: ws.change_recipients(
                path, add=add, remove=remove, rotate=rotate, remove_self=remove_self, progress=p, cancelled=c
            ),
            done,
            total,
            "Changing the recipients…",
        )

    def start(self) -> None:
        ws = self.window_.session
        if ws is None:
            self.busy.status.setText("Sign in first (Sign in tab).")
            return
        src, out = self.path.text().strip(), self.output.text().strip()
        if not src or not out:
            self.busy.status.setText("Choose a protected file and where to decrypt it.")
            return
        total = Path(src).stat().st_size if Path(src).is_file() else None

        def done(result: Any) -> None:
            self.busy.status.setText(f"Wrote {result.output}.")

        self.busy.run(
            lambda p, c: ws.decrypt(Path(src), Path(out), progress=p, cancelled=c), done, total, "Decrypting…"
        )


class DocumentsPage(QWidget):
    COLUMNS = ("Document", "Created", "Expires", "State", "Recipients")

    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window_ = window
        self.table = _named(QTableWidget(0, len(self.COLUMNS)), "My online documents")
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        self.history = _named(QListWidget(), "Access history")
        self.refresh = _named(QPushButton("Re&fresh"), "Refresh")
        self.revoke = _named(QPushButton("Re&voke"), "Revoke", "Nobody can open it until you restore it")
        self.restore = _named(QPushButton("Rest&ore"), "Restore")
        self.accesses = _named(QPushButton("Access &history"), "Show access history")
        self.busy = _Busy(window, "Online documents")
        self.refresh.clicked.connect(self.load)
        self.revoke.clicked.connect(lambda: self._act("revoke"))
        self.restore.clicked.connect(lambda: self._act("restore"))
        self.accesses.clicked.connect(self._history)
        buttons = QHBoxLayout()
        for b in (self.refresh, self.revoke, self.restore, self.accesses):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(_label("&Documents with an online policy:", self.table))
        layout.addWidget(self.table, 2)
        layout.addLayout(buttons)
        layout.addWidget(_label("Access histor&y (each entry proven in the log):", self.history))
        layout.addWidget(self.history, 1)
        layout.addWidget(self.busy.bar)
        layout.addWidget(self.busy.status)

    def _selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        item = self.table.item(rows[0].row(), 0) if rows else None
        return item.text() if item is not None else None

    def load(self) -> None:
        ws = self.window_.session
        if ws is None or ws.client is None:
            self.busy.status.setText("Sign in to your server to see your online documents.")
            return
        self.busy.run(lambda _p, _c: ws.documents(), self._fill, message="Loading…")

    def _fill(self, docs: list[Any]) -> None:
        self.table.setRowCount(len(docs))
        for row, d in enumerate(docs):
            cells = (
                d.doc_id,
                d.created_at.strftime("%Y-%m-%d %H:%M"),
                d.expires_at.strftime("%Y-%m-%d %H:%M") if d.expires_at else "never",
                "revoked" if d.revoked else "active",
                ", ".join(safe_text(r.email or r.key or "?") for r in d.recipients),
            )
            for col, text in enumerate(cells):
                self.table.setItem(row, col, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.busy.status.setText(f"{len(docs)} document(s).")

    def _act(self, action: str) -> None:
        ws, doc = self.window_.session, self._selected()
        if ws is None or doc is None:
            self.busy.status.setText("Select a document first.")
            return
        call = ws.revoke if action == "revoke" else ws.restore
        self.busy.run(lambda _p, _c: call(doc), lambda _d: self.load(), message=f"{action.title()}…")

    def _history(self) -> None:
        ws, doc = self.window_.session, self._selected()
        if ws is None or doc is None:
            self.busy.status.setText("Select a document first.")
            return

        def show(accesses: list[Any]) -> None:
            self.history.clear()
            for a in accesses:
                d = a.to_dict()
                when = d.get("at") or d.get("time") or ""
                who = safe_text(str(d.get("email") or d.get("recipient") or "?"))
                verdict = "allowed" if a.allowed else "refused"
                self.history.addItem(f"{when}  {who}  {verdict}")
            self.busy.status.setText(f"{len(accesses)} access(es) to {doc}.")

        self.busy.run(lambda _p, _c: ws.accesses(doc), show, message="Loading the access history…")


class SettingsPage(QWidget):
    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window_ = window
        self.server = _named(QLabel("—"), "Server")
        self.account = _named(QLabel("—"), "Account")
        self.key = _named(QLabel("—"), "Key status")
        self.trusted = _named(QLabel("—"), "Trusted keys")
        self.updates = _named(QLabel("—"), "Updates")
        for w in (self.server, self.account, self.key, self.trusted, self.updates):
            w.setWordWrap(True)
            w.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.sign_out = _named(QPushButton("Sign o&ut"), "Sign out")
        self.sign_out.clicked.connect(window.sign_out)
        form = QFormLayout(self)
        form.addRow("Server:", self.server)
        form.addRow("Account:", self.account)
        form.addRow("Key:", self.key)
        form.addRow("Trusted keys:", self.trusted)
        form.addRow("Updates:", self.updates)
        row = QHBoxLayout()
        row.addWidget(self.sign_out)
        row.addStretch(1)
        form.addRow("", row)
        self.tokens = _named(QTableWidget(0, 4), "Machine tokens")
        self.tokens.setHorizontalHeaderLabels(["Name", "Scopes", "Expires", "State"])
        self.tokens.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.tokens.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tokens.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tokens.verticalHeader().setVisible(False)
        self.tokens.horizontalHeader().setStretchLastSection(True)
        self.token_name = _named(QLineEdit(), "Token name", "What the token is for, e.g. ci-backup")
        self.token_scopes = _named(
            QLineEdit("documents:read"),
            "Token scopes",
            "Separated by spaces: keys:read, keys:write, documents:read, documents:write, tokens:manage",
        )
        self.create_token = _named(QPushButton("Crea&te token"), "Create token", "Valid 90 days")
        self.revoke_token = _named(QPushButton("Re&voke token"), "Revoke selected token")
        self.refresh_tokens = _named(QPushButton("Re&fresh tokens"), "Refresh tokens")
        self.new_token = _named(QLineEdit(), "New token (shown once)", "Copy it now: it is not shown again")
        self.new_token.setReadOnly(True)
        self.token_status = _status()
        self.create_token.clicked.connect(self._create)
        self.revoke_token.clicked.connect(self._revoke)
        self.refresh_tokens.clicked.connect(self.load_tokens)
        form.addRow(_label("Machine to&kens:", self.tokens), self.tokens)
        make = QHBoxLayout()
        make.addWidget(_label("Na&me:", self.token_name))
        make.addWidget(self.token_name, 1)
        make.addWidget(_label("S&copes:", self.token_scopes))
        make.addWidget(self.token_scopes, 1)
        form.addRow("", make)
        actions = QHBoxLayout()
        for b in (self.create_token, self.revoke_token, self.refresh_tokens):
            actions.addWidget(b)
        actions.addStretch(1)
        form.addRow("", actions)
        form.addRow(_label("Ne&w token:", self.new_token), self.new_token)
        form.addRow("", self.token_status)

    def _run(self, work: _tasks.Work, done: Callable[[Any], None]) -> None:
        def failed(message: str) -> None:
            self.token_status.setText(f"Error: {message}")

        self.window_.tasks.append(_tasks.start(self.window_.pool, work, done, failed))

    def load_tokens(self) -> None:
        ws = self.window_.session
        if ws is None or ws.client is None:
            self.token_status.setText("Sign in to your server to manage machine tokens.")
            return
        self._run(lambda _p, _c: ws.tokens(), self._fill)

    def _fill(self, tokens: list[Any]) -> None:
        self.tokens.setRowCount(len(tokens))
        for row, t in enumerate(tokens):
            state = "revoked" if t.revoked else "active"
            cells = (safe_text(t.name, 100), " ".join(t.scopes), t.expires_at.strftime("%Y-%m-%d"), state)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, t.id)
                self.tokens.setItem(row, col, item)
        self.token_status.setText(f"{len(tokens)} machine token(s).")

    def _create(self) -> None:
        ws, name = self.window_.session, self.token_name.text().strip()
        scopes = self.token_scopes.text().split()
        if ws is None or ws.client is None or not name or not scopes:
            self.token_status.setText("Sign in, then give the token a name and its scopes.")
            return

        def made(created: Any) -> None:
            self.new_token.setText(created.token)
            self.token_name.clear()
            self.load_tokens()

        self._run(lambda _p, _c: ws.create_token(name, scopes), made)

    def _revoke(self) -> None:
        ws, rows = self.window_.session, self.tokens.selectionModel().selectedRows()
        item = self.tokens.item(rows[0].row(), 0) if rows else None
        if ws is None or item is None:
            self.token_status.setText("Select a token to revoke.")
            return
        token_id = str(item.data(Qt.ItemDataRole.UserRole))
        self._run(lambda _p, _c: ws.revoke_token(token_id), lambda _r: self.load_tokens())

    def refresh(self, ws: Workstation | None) -> None:
        self.new_token.clear()
        if ws is None:
            for w in (self.server, self.account, self.key, self.trusted):
                w.setText("— (not signed in)")
            self.tokens.setRowCount(0)
            return
        self.server.setText(ws.server or "none (offline)")
        self.account.setText(safe_text(ws.email) if ws.email else "—")
        where = "cloud-stored in shards" if ws.key.source == "cloud" else f"key file {ws.key.path}"
        self.key.setText(f"{ws.key.fingerprint} ({safe_text(ws.key.label)}; {where})")
        self.trusted.setText(f"{len(ws.trusted.entries)} key(s) in your trusted keys")


def _system_browser(url: str) -> None:
    import webbrowser

    webbrowser.open(url)


class MainWindow(QMainWindow):
    """The app's one window; `session` is the signed-in `Workstation` (None before signing in)."""

    def __init__(
        self, default_server: str = "", pool: QThreadPool | None = None, updates: UpdateSettings | None = None
    ) -> None:
        super().__init__()
        self.setWindowTitle(TITLE)
        self.setAccessibleName("c11")
        self.pool = pool or QThreadPool.globalInstance()
        self.tasks: list[_tasks.Task] = []
        self.default_server = default_server
        self.session: Workstation | None = None
        #: Opens a sign-in page in the system browser (called on a worker thread).
        self.open_url: Callable[[str], None] = _system_browser
        self.tabs = _named(QTabWidget(), "Sections")
        self.sign_in_page = SignInPage(self)
        self.encrypt_page = EncryptPage(self)
        self.open_page = OpenPage(self)
        self.documents_page = DocumentsPage(self)
        self.settings_page = SettingsPage(self)
        for page, title in (
            (self.sign_in_page, "Sign &in"),
            (self.encrypt_page, "E&ncrypt"),
            (self.open_page, "O&pen"),
            (self.documents_page, "On&line documents"),
            (self.settings_page, "Settin&gs"),
        ):
            page.setAccessibleName(title.replace("&", ""))
            self.tabs.addTab(page, title)
        self.setCentralWidget(self.tabs)
        self.setAcceptDrops(True)
        self.settings_page.refresh(None)
        self.statusBar().showMessage("Not signed in")
        self.check_updates(updates)
        self.resize(self.fontMetrics().averageCharWidth() * 110, self.fontMetrics().height() * 34)

    def check_updates(self, settings: UpdateSettings | None) -> None:
        """Ask the admin's signed release feed whether a newer version exists (shown, never installed)."""
        label = self.settings_page.updates
        if settings is None or not settings.enabled:
            label.setText(f"not checked: {settings.off_reason if settings else 'no release feed configured'}")
            return
        running = c11_version

        def shown(release: Release | None) -> None:
            if release is None:
                return
            if release.newer:
                text = f"c11 {release.version} is available: {release.url} (this is {running}; nothing is installed)"
                self.statusBar().showMessage(safe_text(text, 300))
            else:
                text = f"up to date ({running}; the signed feed announces {release.version})"
            label.setText(safe_text(text, 300))

        label.setText("checking the signed release feed…")
        task = _tasks.start(
            self.pool,
            lambda _p, _c: updates.check(settings, running),
            shown,
            lambda message: label.setText(f"not checked: {message}"),
        )
        self.tasks.append(task)

    # -- session ----------------------------------------------------------------------------------------

    def signed_in(self, ws: Workstation) -> None:
        if self.session is not None:
            self.session.close()
        self.session = ws
        who = ws.email or "offline"
        self.statusBar().showMessage(f"Signed in: {who} — key {ws.key.fingerprint[:16]}… ({ws.key.source})")
        self.sign_in_page.busy.status.setText(f"Signed in as {who}.")
        self.sign_in_page.password.clear()  # the session holds what it needs; the field keeps nothing
        self.sign_in_page.passphrase.clear()
        self.settings_page.refresh(ws)
        if ws.client is not None:
            self.settings_page.load_tokens()
        self.tabs.setCurrentWidget(self.encrypt_page)
        self.encrypt_page.load_recent()
        pending = getattr(self, "_pending", [])
        self._pending: list[str] = []
        for p in pending:
            self.open_file(p)

    def sign_out(self) -> None:
        if self.session is not None:
            self.session.close()
        self.session = None
        self.settings_page.refresh(None)
        self.statusBar().showMessage("Not signed in")
        self.tabs.setCurrentWidget(self.sign_in_page)

    # -- files from outside -----------------------------------------------------------------------------

    def open_file(self, path: str) -> None:
        """A double-clicked (or handed-over) file: a protected one opens in Open, anything else goes to Encrypt."""
        QTimer.singleShot(0, self._to_front)  # from the event loop, not from inside the event that brought the file
        if self.session is None:
            self._pending = [*getattr(self, "_pending", []), path]
            self.statusBar().showMessage(f"Sign in to open {Path(path).name}")
            return
        try:
            kind = files.sniff(Path(path))
        except Exception:  # noqa: BLE001 - not a c11 file (or unreadable): offer to encrypt it
            kind = None
        if kind in ("file", "bundle", "armor"):
            self.tabs.setCurrentWidget(self.open_page)
            self.open_page.open_path(path)
        else:
            self.tabs.setCurrentWidget(self.encrypt_page)
            self.encrypt_page.add_paths([path])

    def _to_front(self) -> None:
        if self.isVisible():
            self.raise_()
            self.activateWindow()

    def encrypt_files(self, paths: list[str]) -> None:
        self.tabs.setCurrentWidget(self.encrypt_page)
        self.encrypt_page.add_paths(paths)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        for p in paths:
            self.open_file(p)
        event.acceptProposedAction()

    def wait(self, timeout: float = 30.0) -> None:
        """Wait for the running tasks (tests, closing)."""
        deadline = time.monotonic() + timeout
        for t in self.tasks:
            t.ended.wait(max(0.0, deadline - time.monotonic()))

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        for t in self.tasks:
            t.cancel()
        self.pool.waitForDone(5000)
        if self.session is not None:
            self.session.close()
        super().closeEvent(event)
