"""The master key (key-encryption key) that wraps members' private keys at rest: in an HSM, or a key file.

A wrapped key is `nonce (12) || AES-256-GCM(kek, nonce, seed, aad)`; with PKCS#11 the AES-GCM runs inside the
token with a non-extractable key, so the database alone opens nothing. Each wrapped row names its KEK by ID
(`pkcs11:<label>` or `file:<name>`); a `KeyRing` opens any KEK it is asked for, which is how master key rotation
works while the server runs (docs/enterprise.md, "Master key rotation").
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from c11.errors import C11Error

NONCE_SIZE = 12
_AAD = b"c11 enterprise member key\x00"


class KekError(C11Error):
    """The master key cannot be used (wrong PIN, missing key, HSM unreachable, bad key file)."""


class UnwrapError(C11Error):
    """A wrapped key does not open under its master key (tampered row, or another KEK)."""


class Kek(Protocol):
    """One master key: wraps and unwraps small secrets with associated data."""

    kek_id: str

    def wrap(self, secret: bytes, aad: bytes) -> bytes: ...

    def unwrap(self, blob: bytes, aad: bytes) -> bytes: ...


def aad(member_id: str, kek_id: str, purpose: str) -> bytes:
    """The associated data of a wrapped key: which member, which KEK, which of the member's keys."""
    return _AAD + member_id.encode() + b"\x00" + kek_id.encode() + b"\x00" + purpose.encode()


class FileKek:
    """A 32-byte AES key in a file (mode 0600): for small deployments; weaker than an HSM (docs/enterprise.md)."""

    def __init__(self, folder: Path, name: str, *, create: bool = False) -> None:
        if not name or not name.replace("-", "").replace("_", "").isalnum():
            raise KekError(f"invalid key file name {name!r}: use letters, digits, - and _")
        self.kek_id = f"file:{name}"
        path = folder / f"{name}.kek"
        if create and not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(os.urandom(32))
        try:
            key = path.read_bytes()
        except OSError as e:
            raise KekError(f"cannot read the master key file {path}: {e.strerror}") from None
        if len(key) != 32:
            raise KekError(f"the master key file {path} must hold exactly 32 bytes")
        self._aead = AESGCM(key)

    def wrap(self, secret: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, secret, aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        try:
            return self._aead.decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:], aad)
        except (InvalidTag, ValueError):
            raise UnwrapError("a wrapped key does not open under its master key") from None


@dataclass(frozen=True)
class Pkcs11Token:
    """Where the HSM is: the PKCS#11 module (a .so), the token label and the user PIN."""

    module: str
    token: str
    pin: str

    def __repr__(self) -> str:
        return f"Pkcs11Token(module={self.module!r}, token={self.token!r})"


class Pkcs11Kek:
    """A non-extractable AES-256 key in a PKCS#11 token; wrapping is CKM_AES_GCM inside the token."""

    def __init__(self, token: Pkcs11Token, label: str, *, create: bool = False) -> None:
        import pkcs11
        from pkcs11 import Attribute, KeyType
        from pkcs11.exceptions import NoSuchKey, PinIncorrect, PKCS11Error, UserAlreadyLoggedIn

        self.kek_id = f"pkcs11:{label}"
        self._lock = threading.Lock()
        try:
            lib = pkcs11.lib(token.module)
        except (RuntimeError, OSError) as e:
            raise KekError(f"cannot load the PKCS#11 module {token.module}: {e}") from None
        try:
            tok = lib.get_token(token_label=token.token)
        except (NoSuchKey, PKCS11Error, RuntimeError):
            raise KekError(f"no PKCS#11 token labelled {token.token!r} in {token.module}") from None
        try:
            self._session: Any = tok.open(user_pin=token.pin, rw=create)
        except UserAlreadyLoggedIn:  # PKCS#11 logins are per process: another KEK of this process logged in
            self._session = tok.open(rw=create)
        except PinIncorrect:
            raise KekError(f"the HSM refused the PIN of token {token.token!r} (wrong PIN)") from None
        except PKCS11Error as e:
            raise KekError(f"cannot open a session on token {token.token!r}: {type(e).__name__}") from None
        try:
            self._key: Any = self._session.get_key(label=label, key_type=KeyType.AES)
        except NoSuchKey:
            if not create:
                self._session.close()
                raise KekError(f"no AES key labelled {label!r} in token {token.token!r} (create it first)") from None
            self._key = self._session.generate_key(
                KeyType.AES,
                256,
                label=label,
                store=True,
                template={Attribute.EXTRACTABLE: False, Attribute.SENSITIVE: True, Attribute.TOKEN: True},
            )
        except PKCS11Error as e:
            raise KekError(f"cannot find key {label!r} in token {token.token!r}: {type(e).__name__}") from None

    def _gcm(self, op: str, data: bytes, nonce: bytes, aad: bytes) -> bytes:
        from pkcs11 import Mechanism
        from pkcs11.mechanisms import GCMParams

        with self._lock:
            out: bytes = getattr(self._key, op)(
                data, mechanism=Mechanism.AES_GCM, mechanism_param=GCMParams(nonce, aad, 128)
            )
        return out

    def wrap(self, secret: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._gcm("encrypt", secret, nonce, aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        from pkcs11.exceptions import PKCS11Error

        try:
            return self._gcm("decrypt", blob[NONCE_SIZE:], blob[:NONCE_SIZE], aad)
        except PKCS11Error:
            raise UnwrapError("a wrapped key does not open under its master key") from None

    def close(self) -> None:
        self._session.close()


@dataclass(frozen=True)
class KekSource:
    """How to open KEKs by ID: a PKCS#11 token, and/or a folder of key files."""

    token: Pkcs11Token | None = None
    folder: Path | None = None

    def open(self, kek_id: str, *, create: bool = False) -> Kek:
        kind, _, name = kek_id.partition(":")
        if kind == "pkcs11" and self.token is not None and name:
            return Pkcs11Kek(self.token, name, create=create)
        if kind == "file" and self.folder is not None and name:
            return FileKek(self.folder, name, create=create)
        raise KekError(f"master key {kek_id!r} is not reachable with this configuration")


class KeyRing:
    """The current KEK (new wraps) and every KEK opened so far; opens an older or newer one on first use."""

    def __init__(self, source: KekSource, current: Kek) -> None:
        self.source = source
        self._lock = threading.Lock()
        self._keks: dict[str, Kek] = {current.kek_id: current}
        self.current = current

    def get(self, kek_id: str) -> Kek:
        kek = self._keks.get(kek_id)
        if kek is None:
            with self._lock:
                kek = self._keks.get(kek_id) or self.source.open(kek_id)
                self._keks[kek_id] = kek
        return kek

    def close(self) -> None:
        """Close the HSM sessions this ring opened."""
        with self._lock:
            for kek in self._keks.values():
                close = getattr(kek, "close", None)
                if close is not None:
                    close()
            self._keks.clear()

    def use(self, kek: Kek) -> None:
        """Make `kek` the one new wraps use (after a rotation)."""
        with self._lock:
            self._keks[kek.kek_id] = kek
            self.current = kek
