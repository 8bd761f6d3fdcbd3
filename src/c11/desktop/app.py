"""Start the desktop app: hand files to a running app (single instance) or open the window.

`c11 desktop [FILE...]` opens FILEs (protected ones in Open, others in Encrypt); `--encrypt FILE...` always
adds them to Encrypt (the file manager's "Encrypt with c11" action).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, qVersion
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication

from c11.desktop import instance
from c11.desktop._gc import GuiThreadCollector
from c11.desktop.window import MainWindow

_OPEN, _ENCRYPT = "open:", "encrypt:"
#: Seconds a worker thread may hold the GIL while the UI thread waits (Python's default 5 ms): shorter keeps the
#: window's event loop prompt while a worker encrypts (bench/desktop.py measures it).
SWITCH_INTERVAL = 0.001


def _route(window: MainWindow, lines: list[str]) -> None:
    for line in lines:
        if line.startswith(_ENCRYPT):
            window.encrypt_files([line[len(_ENCRYPT) :]])
        elif line.startswith(_OPEN):
            window.open_file(line[len(_OPEN) :])


class FileOpenFilter(QObject):
    """macOS delivers a double-clicked or dropped-on-the-Dock file as a QFileOpenEvent on the application, not as
    an argument: route it to the window like a file handed over."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent) and event.file():
            self.window.open_file(event.file())
            return True
        return False


def self_test() -> int:
    """Encrypt and decrypt a file through the app's own session and window code (offscreen): what a packaged
    build runs to prove it carries Qt, the SDK and its crypto. Prints one line; 0 when it round-trips."""
    import tempfile
    from pathlib import Path

    from c11.client.workstation import Workstation
    from c11.keys import keyfile
    from c11.keys.identity import Identity

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    GuiThreadCollector(app)
    window = MainWindow()
    with tempfile.TemporaryDirectory(prefix="c11-self-test-") as d:
        tmp = Path(d)
        me = Identity.generate("self-test@example.com")
        keyfile.write(tmp / "me.key", me, None)
        ws = Workstation.offline(tmp / "me.key")
        window.signed_in(ws)
        data = os.urandom(3 << 20)
        (tmp / "in.bin").write_bytes(data)
        ws.encrypt([tmp / "in.bin"], tmp / "in.bin.c11", ws.plan([]))
        opened = ws.inspect(tmp / "in.bin.c11")
        ws.decrypt(tmp / "in.bin.c11", tmp / "out.bin")
        ok = (tmp / "out.bin").read_bytes() == data and opened.info.content_signed
    window.close()
    del app
    print(f"c11 desktop self-test: {'ok' if ok else 'FAILED'} (Qt {qVersion()}, 3 MiB encrypted and decrypted)")
    return 0 if ok else 1


def run(paths: Sequence[str], *, encrypt: bool = False, server: str = "", tag: str = "") -> int:
    """The app's main loop (returns its exit status); 0 at once when a running app took the files."""
    prefix = _ENCRYPT if encrypt else _OPEN
    lines = [prefix + os.path.abspath(p) for p in paths]
    sys.setswitchinterval(SWITCH_INTERVAL)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("c11")
    app.setApplicationDisplayName("c11")
    app.setDesktopFileName("c11")
    GuiThreadCollector(app)
    name = instance.socket_name(tag)
    if instance.hand_over(lines, name):
        return 0
    from c11.client import updates
    from c11.errors import C11Error

    try:
        feed: updates.UpdateSettings | None = updates.settings()
    except C11Error as e:  # unreadable admin settings: no check, and say why in Settings
        feed = updates.UpdateSettings(None, (), False, str(e))
    window = MainWindow(server or os.environ.get("C11_SERVER", ""), updates=feed)
    listener = instance.Listener(name, lambda got: _route(window, got))
    opener = FileOpenFilter(window)
    app.installEventFilter(opener)
    window.show()
    _route(window, lines)
    try:
        return int(app.exec())
    finally:
        listener.close()
