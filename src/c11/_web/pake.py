"""OPAQUE (RFC 9807) for shard-store logins, through opaque-ke-py (bindings of facebook/opaque-ke).

Suite (docs/shards.md §8): OPRF ristretto255-SHA512, 3DH over ristretto255 with SHA-512, KSF Argon2id
(m = 19456 KiB, t = 2, p = 1: the argon2 crate's defaults). Messages travel as unpadded base64url. Nothing of the
protocol is written here: this module only names, bounds and converts the library's calls.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field
from pathlib import Path

import opaque_ke_py as _ok

from c11.errors import AuthError, FormatError

MAX_MESSAGE = 4096  # bytes of any OPAQUE message, record or state (real ones are < 400)


def b64u(data: bytes) -> str:
    """Unpadded base64url, as the wire carries OPAQUE messages (and @serenity-kit/opaque expects)."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def unb64u(text: str, what: str = "OPAQUE message") -> bytes:
    """Bytes of an unpadded (or padded) base64url `text` of at most MAX_MESSAGE bytes; FormatError if not."""
    if not isinstance(text, str) or len(text) > MAX_MESSAGE * 4 // 3 + 4:
        raise FormatError(f"bad {what}: too long or not text")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise FormatError(f"bad {what}: not base64url") from None


def credential_id(server: str, user_id: str) -> bytes:
    """The OPAQUE credential identifier of a user at a store: UTF-8 of `<c11 server URL> LF <user ID>`."""
    return f"{server}\n{user_id}".encode()


# -- server (the shard store) -------------------------------------------------------------------------------


class ServerSetup:
    """The store's OPRF seed and static key pair (serialized by the library; never leaves the store)."""

    def __init__(self, data: bytes | None = None) -> None:
        try:
            self._setup = _ok.ServerSetupData.from_bytes(data) if data is not None else _ok.server_setup()
        except Exception:  # the library raises plain exceptions for bad bytes
            raise FormatError("the OPAQUE server setup is damaged") from None

    def to_bytes(self) -> bytes:
        return bytes(self._setup.to_bytes())

    def registration_response(self, request: bytes, cred: bytes) -> bytes:
        """The answer to a client's registration request (stateless on this side)."""
        try:
            return bytes(_ok.server_registration_start(self._setup, request, cred).get_message())
        except Exception:
            raise FormatError("bad OPAQUE registration request") from None

    def login_start(self, record: bytes, request: bytes, cred: bytes) -> tuple[bytes, bytes]:
        """(KE2 for the client, this side's state for `login_finish`) from a stored record and a KE1."""
        try:
            r = _ok.server_login_start(self._setup, record, request, cred)
        except Exception:
            raise FormatError("bad OPAQUE login request") from None
        return bytes(r.get_message()), bytes(r.get_state())


def registration_record(upload: bytes) -> bytes:
    """The record to keep from a client's registration upload; FormatError if it is not one."""
    try:
        return bytes(_ok.server_registration_finish(upload).get_password_file())
    except Exception:
        raise FormatError("bad OPAQUE registration upload") from None


def login_finish(state: bytes, finalization: bytes) -> bytes:
    """The session key once the client's KE3 proves the password; AuthError if it does not."""
    try:
        return bytes(_ok.server_login_finish(state, finalization).get_session_key())
    except Exception:
        raise AuthError("OPAQUE login failed: wrong password", 401) from None


# -- client -------------------------------------------------------------------------------------------------


@dataclass
class ClientRegistration:
    """A registration in progress on the client: `request` goes to the server; `finish` makes the upload."""

    password: bytes = field(repr=False)
    request: bytes = b""
    _state: bytes = field(default=b"", repr=False)

    @classmethod
    def start(cls, password: str) -> ClientRegistration:
        r = _ok.client_registration_start(password.encode())
        return cls(password.encode(), bytes(r.get_message()), bytes(r.get_state()))

    def finish(self, response: bytes) -> bytes:
        """The registration upload (the record the server keeps) for the server's `response`."""
        try:
            return bytes(_ok.client_registration_finish(self.password, self._state, response).get_message())
        except Exception:
            raise FormatError("bad OPAQUE registration response") from None


@dataclass
class ClientLogin:
    """A login in progress on the client: `request` (KE1) goes to the server; `finish` checks KE2."""

    password: bytes = field(repr=False)
    request: bytes = b""
    _state: bytes = field(default=b"", repr=False)

    @classmethod
    def start(cls, password: str) -> ClientLogin:
        r = _ok.client_login_start(password.encode())
        return cls(password.encode(), bytes(r.get_message()), bytes(r.get_state()))

    def finish(self, response: bytes) -> tuple[bytes, bytes]:
        """(KE3 for the server, session key); AuthError for a wrong password or a forged KE2."""
        try:
            r = _ok.client_login_finish(self.password, self._state, response)
        except Exception:
            raise AuthError(
                "OPAQUE login failed: wrong password (or not the server you registered with)", 401
            ) from None
        return bytes(r.get_message()), bytes(r.get_session_key())


def load_setup(path: Path) -> ServerSetup:
    """The OPAQUE server setup kept in `path`, made there (mode 0600) at first use."""
    if path.exists():
        return ServerSetup(path.read_bytes())
    setup = ServerSetup()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(setup.to_bytes())
    os.replace(tmp, path)
    return setup
