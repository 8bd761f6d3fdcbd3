"""Named storage locations (connections): a URL, options, and secrets that never leave the protector's side.

The list lives in `connections.json` in the protector's data folder (`protector_dir`); a connection's secrets
(keys, passwords) are never in that file. They come from one of three places, chosen per connection:
`env` (C11_PROTECTOR_<NAME>_<SECRET> variables, read when the connection is opened), `keyring` (the OS keyring
through the `keyring` package) or `file` (`secrets.enc` beside the list: AES-256-GCM under a key derived with
scrypt from C11_PROTECTOR_PASSPHRASE; the byte format is in docs/protector.md#secrets-file).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets as _secrets
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from c11.errors import ConfigError, UsageError

SecretSource = Literal["env", "keyring", "file"]
SECRET_SOURCES: tuple[SecretSource, ...] = ("env", "keyring", "file")

#: the keyring "service" under which connection secrets are stored (user name: "<connection>/<secret>")
KEYRING_SERVICE = "c11-protector"
#: the variable holding the passphrase of the encrypted secrets file
PASSPHRASE_ENV = "C11_PROTECTOR_PASSPHRASE"
#: associated data of the secrets file's AES-GCM seal (binds the ciphertext to its purpose and version)
SECRETS_AAD = b"c11-protector-secrets-v1"
#: scrypt cost of a new secrets file (2^15 x 8 x 1: 32 MiB, about 0.1 s)
SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P = 15, 8, 1
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
_SECRET_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
_MAX_FILE = 4 << 20


class ConnectionError_(ConfigError):  # noqa: N801 - not the builtin ConnectionError
    """A connection is unknown, badly named, or its secrets cannot be found."""


@dataclass(frozen=True)
class Connection:
    """A named storage location: `url` (file://, s3://, smb://, azure://, gs://), `options` (endpoint, region,
    user name...) and `secrets` (keys and passwords, kept out of `repr` and of any listing)."""

    name: str
    url: str
    options: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    #: where the secrets are kept between runs
    secrets_from: SecretSource = "env"
    #: the names of the secrets (shown by `list`; their values never are)
    secret_names: tuple[str, ...] = ()

    def public(self) -> dict[str, Any]:
        """What `c11 protector list --json` shows: everything but the secrets' values."""
        return {
            "name": self.name,
            "url": self.url,
            "options": dict(self.options),
            "secrets_from": self.secrets_from,
            "secrets": list(self.secret_names),
        }


def protector_dir(env: Mapping[str, str] | None = None) -> Path:
    """The protector's data folder: C11_PROTECTOR_DIR, else $XDG_DATA_HOME/c11-protector, else
    ~/.local/share/c11-protector."""
    env = os.environ if env is None else env
    if env.get("C11_PROTECTOR_DIR"):
        return Path(env["C11_PROTECTOR_DIR"])
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local" / "share")
    return Path(base) / "c11-protector"


def check_name(name: str) -> str:
    """`name` if it is a valid connection name (lowercase letters, digits, "-" and "_", at most 63)."""
    if not _NAME.fullmatch(name):
        raise UsageError(f"bad connection name {name[:70]!r}: use lowercase letters, digits, '-' and '_'")
    return name


def check_secret_name(name: str) -> str:
    """`name` if it is a valid secret name (e.g. secret_access_key, password, account_key)."""
    if not _SECRET_NAME.fullmatch(name):
        raise UsageError(f"bad secret name {name[:70]!r}: use lowercase letters, digits and '_'")
    return name


def env_var(connection: str, secret: str) -> str:
    """The variable that holds `secret` of `connection` for `secrets_from="env"`: C11_PROTECTOR_DOCS_PASSWORD."""
    return "C11_PROTECTOR_" + re.sub(r"[^A-Z0-9]", "_", f"{connection}_{secret}".upper())


# -- the secrets file -------------------------------------------------------------------------------------


def _kdf(passphrase: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    if not (10 <= log_n <= 20 and 1 <= r <= 16 and 1 <= p <= 4):
        raise ConfigError("secrets file: scrypt parameters out of range")
    return Scrypt(salt=salt, length=32, n=1 << log_n, r=r, p=p).derive(passphrase.encode())


def seal_secrets(
    data: Mapping[str, Mapping[str, str]], passphrase: str, *, salt: bytes | None = None, nonce: bytes | None = None
) -> bytes:
    """The secrets file's bytes for `data` ({connection: {secret: value}}) under `passphrase`."""
    salt = salt or _secrets.token_bytes(16)
    nonce = nonce or _secrets.token_bytes(12)
    key = _kdf(passphrase, salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P)
    plain = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    sealed = AESGCM(key).encrypt(nonce, plain, SECRETS_AAD)
    doc = {
        "version": 1,
        "kdf": {"name": "scrypt", "log_n": SCRYPT_LOG_N, "r": SCRYPT_R, "p": SCRYPT_P, "salt": _b64(salt)},
        "nonce": _b64(nonce),
        "ciphertext": _b64(sealed),
    }
    return (json.dumps(doc, indent=2) + "\n").encode()


def open_secrets(blob: bytes, passphrase: str) -> dict[str, dict[str, str]]:
    """The {connection: {secret: value}} sealed in a secrets file (`ConfigError` if damaged or wrong passphrase)."""
    try:
        doc = json.loads(blob)
        if doc["version"] != 1 or doc["kdf"]["name"] != "scrypt":
            raise ConfigError("secrets file: unsupported version or key derivation")
        kdf = doc["kdf"]
        key = _kdf(passphrase, _unb64(kdf["salt"]), int(kdf["log_n"]), int(kdf["r"]), int(kdf["p"]))
        plain = AESGCM(key).decrypt(_unb64(doc["nonce"]), _unb64(doc["ciphertext"]), SECRETS_AAD)
    except InvalidTag:
        raise ConfigError(f"secrets file: wrong passphrase ({PASSPHRASE_ENV}) or damaged file") from None
    except (KeyError, TypeError, ValueError) as e:
        raise ConfigError(f"secrets file: malformed ({type(e).__name__})") from None
    data = json.loads(plain)
    if not isinstance(data, dict):
        raise ConfigError("secrets file: malformed content")
    return {str(k): {str(a): str(b) for a, b in v.items()} for k, v in data.items()}


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def _unb64(s: str) -> bytes:
    return base64.b64decode(s, validate=True)


# -- the store --------------------------------------------------------------------------------------------


@dataclass
class ConnectionStore:
    """The connections of one protector data folder, and their secrets.

    `env` supplies C11_PROTECTOR_* variables and the passphrase; `keyring` is the keyring module (or None when
    it is not installed or has no usable backend); `ask_passphrase` is called when the passphrase is not in
    `env` (None: refuse)."""

    folder: Path
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    keyring: Any = None
    ask_passphrase: Callable[[], str] | None = None
    _passphrase: str | None = field(default=None, repr=False)

    @property
    def list_path(self) -> Path:
        return self.folder / "connections.json"

    @property
    def secrets_path(self) -> Path:
        return self.folder / "secrets.enc"

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            raw = _read_bounded(self.list_path)
        except FileNotFoundError:
            return {}
        try:
            doc = json.loads(raw)
            conns = doc["connections"]
            if doc.get("version") != 1 or not isinstance(conns, dict):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"{self.list_path}: not a c11 connections file") from None
        return conns

    def _save(self, conns: Mapping[str, Mapping[str, Any]]) -> None:
        _write_private(self.list_path, (json.dumps({"version": 1, "connections": conns}, indent=2) + "\n").encode())

    def names(self) -> list[str]:
        """Every connection's name, sorted."""
        return sorted(self._load())

    def all(self) -> Iterator[Connection]:
        """Every connection, without its secrets' values."""
        for name, entry in sorted(self._load().items()):
            yield _connection(name, entry)

    def get(self, name: str, *, with_secrets: bool = True) -> Connection:
        """The connection `name`, with its secrets read from where they are kept."""
        entry = self._load().get(check_name(name))
        if entry is None:
            raise ConnectionError_(f"no connection named {name!r} (see `c11 protector list`)")
        conn = _connection(name, entry)
        if not with_secrets or not conn.secret_names:
            return conn
        values = self._read_secrets(conn)
        return Connection(
            name=conn.name,
            url=conn.url,
            options=conn.options,
            secrets=values,
            secrets_from=conn.secrets_from,
            secret_names=conn.secret_names,
        )

    def add(self, conn: Connection, *, replace: bool = False) -> None:
        """Save `conn` and its secrets (`replace`: overwrite a connection of the same name)."""
        check_name(conn.name)
        for s in conn.secrets:
            check_secret_name(s)
        conns = self._load()
        if conn.name in conns and not replace:
            raise ConnectionError_(f"a connection named {conn.name!r} exists", reason="output-exists")
        if conn.secrets_from == "keyring":
            kr = self._keyring()
            for k, v in conn.secrets.items():
                kr.set_password(KEYRING_SERVICE, f"{conn.name}/{k}", v)
        elif conn.secrets_from == "file":
            if conn.secrets or conn.name in self._file_secrets_names():
                data = self._file_secrets()
                data[conn.name] = dict(conn.secrets)
                _write_private(self.secrets_path, seal_secrets(data, self._get_passphrase()))
        if conn.name in conns:
            old = _connection(conn.name, conns[conn.name])
            self._forget_secrets(old, keep=set(conn.secrets) if old.secrets_from == conn.secrets_from else set())
        conns[conn.name] = {
            "url": conn.url,
            "options": dict(conn.options),
            "secrets_from": conn.secrets_from,
            "secrets": sorted(conn.secrets) if conn.secrets_from != "env" else sorted(conn.secret_names),
        }
        self._save(conns)

    def remove(self, name: str) -> Connection:
        """Forget the connection `name` and the secrets stored for it; returns what was removed."""
        conns = self._load()
        if check_name(name) not in conns:
            raise ConnectionError_(f"no connection named {name!r} (see `c11 protector list`)")
        conn = _connection(name, conns.pop(name))
        self._forget_secrets(conn, keep=set())
        self._save(conns)
        return conn

    # -- secrets ------------------------------------------------------------------------------------------

    def _keyring(self) -> Any:
        if self.keyring is None:
            raise ConnectionError_("no OS keyring is available here: keep the secrets in the encrypted file")
        return self.keyring

    def _get_passphrase(self) -> str:
        if self._passphrase is None:
            pw = self.env.get(PASSPHRASE_ENV) or (self.ask_passphrase() if self.ask_passphrase else "")
            if not pw:
                raise ConnectionError_(f"the secrets file needs a passphrase: set {PASSPHRASE_ENV}")
            self._passphrase = pw
        return self._passphrase

    def _file_secrets_names(self) -> set[str]:
        return set(self._file_secrets()) if self.secrets_path.exists() else set()

    def _file_secrets(self) -> dict[str, dict[str, str]]:
        try:
            blob = _read_bounded(self.secrets_path)
        except FileNotFoundError:
            return {}
        return open_secrets(blob, self._get_passphrase())

    def _read_secrets(self, conn: Connection) -> dict[str, str]:
        out: dict[str, str] = {}
        if conn.secrets_from == "env":
            for s in conn.secret_names:
                var = env_var(conn.name, s)
                if not self.env.get(var):
                    raise ConnectionError_(f"connection {conn.name!r}: set {var} (its {s})")
                out[s] = self.env[var]
        elif conn.secrets_from == "keyring":
            kr = self._keyring()
            for s in conn.secret_names:
                v = kr.get_password(KEYRING_SERVICE, f"{conn.name}/{s}")
                if v is None:
                    raise ConnectionError_(f"connection {conn.name!r}: its {s} is not in the OS keyring any more")
                out[s] = v
        else:
            stored = self._file_secrets().get(conn.name, {})
            for s in conn.secret_names:
                if s not in stored:
                    raise ConnectionError_(f"connection {conn.name!r}: its {s} is not in the secrets file")
                out[s] = stored[s]
        return out

    def _forget_secrets(self, conn: Connection, *, keep: set[str]) -> None:
        if conn.secrets_from == "keyring" and self.keyring is not None:
            for s in conn.secret_names:
                if s not in keep:
                    with contextlib.suppress(Exception):  # already gone from the keyring
                        self.keyring.delete_password(KEYRING_SERVICE, f"{conn.name}/{s}")
        elif conn.secrets_from == "file" and not keep and conn.name in self._file_secrets_names():
            data = self._file_secrets()
            data.pop(conn.name, None)
            _write_private(self.secrets_path, seal_secrets(data, self._get_passphrase()))


def _connection(name: str, entry: Mapping[str, Any]) -> Connection:
    source = entry.get("secrets_from", "env")
    if source not in SECRET_SOURCES:
        raise ConfigError(f"connection {name!r}: unknown secrets_from {source!r}")
    return Connection(
        name=name,
        url=str(entry["url"]),
        options={str(k): str(v) for k, v in dict(entry.get("options") or {}).items()},
        secrets_from=source,
        secret_names=tuple(str(s) for s in entry.get("secrets") or ()),
    )


def default_keyring() -> Any:
    """The `keyring` module when it is installed and has a backend that really stores secrets, else None."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken backend configuration: as if there were none
        return None
    if isinstance(backend, fail.Keyring) or not getattr(backend, "backends", True):
        return None
    return keyring


def _read_bounded(path: Path) -> bytes:
    with path.open("rb") as f:
        raw = f.read(_MAX_FILE + 1)
    if len(raw) > _MAX_FILE:
        raise ConfigError(f"{path}: larger than {_MAX_FILE} bytes")
    return raw


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` readable by its owner only, atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
