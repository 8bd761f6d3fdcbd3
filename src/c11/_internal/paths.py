"""Where c11 keeps per-user files: the config folder (C11_CONFIG_DIR overrides it)."""

from __future__ import annotations

import os
from pathlib import Path


def config_dir() -> Path:
    """C11_CONFIG_DIR, else $XDG_CONFIG_HOME/c11, else ~/.config/c11."""
    env = os.environ.get("C11_CONFIG_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "c11"


def keys_dir() -> Path:
    """Folder of the user's own key files, used when no -i is given."""
    return config_dir() / "keys"
