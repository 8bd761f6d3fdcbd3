"""One app per user session: a second `c11 desktop FILE` hands FILE to the running app and exits.

The running app listens on a local socket (QLocalServer: a Unix socket in the runtime folder, a named pipe on
Windows) named per user; a new start first tries to connect and send its file paths, one per line (UTF-8).
"""

from __future__ import annotations

import getpass
import hashlib
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject
from PySide6.QtNetwork import QLocalServer, QLocalSocket

#: Longest message accepted from another instance (file paths, one per line).
MAX_MESSAGE = 64 << 10
TIMEOUT_MS = 1000


def socket_name(tag: str = "") -> str:
    """The per-user socket name (`tag` separates test runs)."""
    user = hashlib.sha256(f"{getpass.getuser()}|{tag}".encode()).hexdigest()[:16]
    return f"c11-desktop-{user}"


def hand_over(paths: Sequence[str], name: str) -> bool:
    """Send `paths` to a running app; False when none is running (then this process becomes the app)."""
    sock = QLocalSocket()
    sock.connectToServer(name)
    if not sock.waitForConnected(TIMEOUT_MS):
        return False
    sock.write(("\n".join(paths) + "\n").encode())
    sock.flush()
    sock.waitForBytesWritten(TIMEOUT_MS)
    sock.disconnectFromServer()
    return True


class Listener(QObject):
    """The running app's side: `on_paths(list_of_paths)` for each hand-over."""

    def __init__(self, name: str, on_paths: Callable[[list[str]], None]) -> None:
        super().__init__()
        self._on_paths = on_paths
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)  # this user only
        if not self.server.listen(name):
            QLocalServer.removeServer(name)  # a stale socket left by a crash
            self.server.listen(name)
        self.server.newConnection.connect(self._accept)

    @property
    def listening(self) -> bool:
        return self.server.isListening()

    def _accept(self) -> None:
        while (sock := self.server.nextPendingConnection()) is not None:
            buf = bytearray()

            def read(s: QLocalSocket = sock, b: bytearray = buf) -> None:
                b += bytes(s.readAll().data())
                if len(b) > MAX_MESSAGE:
                    s.abort()

            def done(b: bytearray = buf) -> None:
                paths = [p for p in b[:MAX_MESSAGE].decode("utf-8", "replace").split("\n") if p]
                if paths:
                    self._on_paths(paths)

            sock.readyRead.connect(read)
            sock.disconnected.connect(done)
            sock.disconnected.connect(sock.deleteLater)

    def close(self) -> None:
        self.server.close()
