"""Mail transports: how an outbox email leaves the server. `outbox-folder` writes `.eml` files.

A transport is anything with `name` and `send(message)`; the notifications issue adds SMTP and Graph.
"""

from __future__ import annotations

import os
import tempfile
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol


class Transport(Protocol):
    """Delivers one email or raises."""

    name: str

    def send(self, message: EmailMessage, message_id: str) -> None: ...


class FolderTransport:
    """Writes each email as `<folder>/<message id>.eml` (atomically, readable only by the owner)."""

    name = "outbox-folder"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage, message_id: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{message_id}.eml"
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(message.as_bytes())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def make_transport(kind: str, outbox_dir: Path) -> Transport:
    """The transport a config names."""
    if kind == "outbox-folder":
        return FolderTransport(outbox_dir)
    raise ValueError(f"unknown mail transport {kind!r}")
