"""Known-device tokens: what a password login hands a new device, sent back at the next logins.

With the right password, a known device is never held back by the login backoff that someone else's wrong
passwords cause. One file per config folder (`known_devices.json`, mode 0600), one token per server and email.
"""

from __future__ import annotations

import json
from pathlib import Path

from c11._internal.atomic import atomic_write_bytes
from c11._internal.paths import config_dir

FILE_NAME = "known_devices.json"
_MAX_BYTES = 1 << 20


class DeviceTokens:
    """The device tokens of this config folder."""

    def __init__(self, folder: Path | None = None) -> None:
        self.path = (folder or config_dir()) / FILE_NAME

    def get(self, server: str, email: str) -> str | None:
        token = self._read().get(_key(server, email))
        return token if isinstance(token, str) else None

    def put(self, server: str, email: str, token: str) -> None:
        data = self._read()
        data[_key(server, email)] = token
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write_bytes(self.path, json.dumps(data, indent=1, sort_keys=True).encode(), mode=0o600, force=True)

    def _read(self) -> dict[str, object]:
        try:
            if self.path.stat().st_size > _MAX_BYTES:
                return {}
            data = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}


def _key(server: str, email: str) -> str:
    return f"{server.rstrip('/')} {email.strip().lower()}"
