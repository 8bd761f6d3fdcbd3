"""Reading settings: a TOML file and one value given as text (environment) or TOML (typed).

Shared by the server's and the notifications' configuration, which both take C11_* variables and TOML.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from c11.errors import ConfigError


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML document at `path`; ConfigError when missing or invalid."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError as e:
        raise ConfigError(f"config file not found: {path}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path} is not valid TOML: {e}") from e


def parse_value(name: str, kind: type, raw: Any) -> Any:
    """`raw` as `kind` (str, bool or int); `name` (the variable) is only for the error message."""
    if raw is None or kind is str:
        return raw if raw is None or isinstance(raw, str) else str(raw)
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        low = str(raw).strip().lower()
        if low in {"1", "true", "yes", "on"}:
            return True
        if low in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{name} must be true or false, not {raw!r}")
    try:
        return int(raw)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{name} must be an integer, not {raw!r}") from e
