"""The embedded default transport: each message becomes `<data-dir>/outbox/<id>.eml` (owner-only, atomic).

Nothing leaves the machine; an operator (or a test) reads the files. The file name comes from the
message's Message-ID, so delivering the same message again overwrites rather than duplicates it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from email.message import EmailMessage
from pathlib import Path

from c11.errors import PermanentDeliveryError, TransientDeliveryError


class OutboxFolderTransport:
    name = "outbox-folder"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @staticmethod
    def file_name(message: EmailMessage) -> str:
        mid = str(message.get("Message-ID") or "")
        local = mid.strip("<>").split("@")[0]
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,128}", local or ""):
            local = hashlib.sha256((mid or message.as_string()).encode()).hexdigest()[:32]
        return f"{local}.eml"

    def send(self, message: EmailMessage) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".part")  # not *.eml: readers glob that
        except PermissionError as e:
            raise PermanentDeliveryError(
                f"cannot write to {self.folder}: {e}",
                "Give the server's user write access to the outbox folder.",
                config=True,
            ) from e
        except OSError as e:
            raise TransientDeliveryError(f"cannot write to {self.folder}: {e}") from e
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(message.as_bytes())
            os.replace(tmp, self.folder / self.file_name(message))
        except OSError as e:
            Path(tmp).unlink(missing_ok=True)
            raise TransientDeliveryError(f"cannot write to {self.folder}: {e}", "Is the disk full?") from e

    def close(self) -> None:
        pass
