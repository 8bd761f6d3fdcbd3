"""Sessions this device got by logging in to shard stores with OPAQUE (docs/shards.md §8).

Kept in memory, or in a JSON file of mode 0600 (the CLI: `<config dir>/store-sessions.json`). The c11 server never
sees them: they go from the store to this device and back only.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

FILE_NAME = "store-sessions.json"


class StoreSessions:
    """Store session values by (store URL, user ID), with their expiry (Unix seconds)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._items: dict[str, dict[str, object]] = {}
        if path is not None:
            try:
                data = json.loads(path.read_text("utf-8"))
                if isinstance(data, dict):
                    self._items = {k: v for k, v in data.items() if isinstance(v, dict)}
            except (OSError, ValueError):
                self._items = {}

    @staticmethod
    def _key(store: str, user_id: str) -> str:
        return f"{store} {user_id}"

    def get(self, store: str, user_id: str) -> str | None:
        item = self._items.get(self._key(store, user_id)) or {}
        value, expires = item.get("session"), item.get("expires")
        if not isinstance(value, str) or not isinstance(expires, int) or expires < time.time() + 60:
            return None
        return value

    def put(self, store: str, user_id: str, value: str, expires: int) -> None:
        self._items[self._key(store, user_id)] = {"session": value, "expires": int(expires)}
        self._save()

    def drop(self, store: str, user_id: str) -> None:
        if self._items.pop(self._key(store, user_id), None) is not None:
            self._save()

    def clear(self) -> None:
        self._items = {}
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    def _save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self._items, f, indent=2)
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
