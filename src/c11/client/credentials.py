"""Where the CLI keeps its login: `<config dir>/credentials.json`, mode 0600 (folder 0700).

The config dir is `C11_CONFIG_DIR`, else `$XDG_CONFIG_HOME/c11`, else `~/.config/c11`.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from c11._internal.paths import CREDENTIALS_FILE as FILE_NAME
from c11._internal.paths import config_dir
from c11.errors import ConfigError

__all__ = ["FILE_NAME", "Credentials", "CredentialsStore", "config_dir"]


@dataclass(frozen=True)
class Credentials:
    """A stored login: the server, who, and the bearer token."""

    server: str
    email: str
    token: str

    def __repr__(self) -> str:  # never show the token
        return f"Credentials(server={self.server!r}, email={self.email!r})"


class CredentialsStore:
    """Reads and writes the credentials file."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or config_dir()
        self.path = self.folder / FILE_NAME

    def load(self) -> Credentials | None:
        try:
            data = json.loads(self.path.read_text("utf-8"))
            return Credentials(server=data["server"], email=data["email"], token=data["token"])
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"{self.path} is damaged; run `c11 logout` then `c11 login`") from e

    def save(self, creds: Credentials) -> None:
        """Write atomically with mode 0600 (the file never exists with looser permissions)."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(asdict(creds), f, indent=2)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def clear(self) -> bool:
        """Forget the login; True if there was one."""
        try:
            self.path.unlink()
            return True
        except FileNotFoundError:
            return False
