"""Where c11 keeps per-user files: the config folder (C11_CONFIG_DIR overrides it)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

CREDENTIALS_FILE = "credentials.json"


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """C11_CONFIG_DIR, else $XDG_CONFIG_HOME/c11, else ~/.config/c11."""
    env = os.environ if env is None else env
    if env.get("C11_CONFIG_DIR"):
        return Path(env["C11_CONFIG_DIR"]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "c11"


def credentials_path() -> Path:
    """Where `c11 login` keeps the server, email and token (read by the client)."""
    return config_dir() / CREDENTIALS_FILE


def keys_dir() -> Path:
    """Folder of the user's own key files, used when no -i is given."""
    return config_dir() / "keys"
