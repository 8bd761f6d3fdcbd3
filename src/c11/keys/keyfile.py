"""Key files (`c11_key_<16 hex>.key`): an identity stored as JSON, its seeds sealed under scrypt.

Format in docs/format.md §6. Writing is atomic and the file is created with mode 0600.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import json
import os
import re
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from c11._internal.atomic import atomic_write_bytes
from c11.crypto.kem import SEED_SIZE
from c11.errors import KeyFileError, RecipientError, WrongPassphraseError
from c11.format.labels import check_label, label_ok
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey

FORMAT = "c11-key/v1"
SCRYPT_LOG_N = 16  # 64 MiB of memory with r=8
SCRYPT_R = 8
SCRYPT_P = 2
_MAX_LOG_N = 20
MAX_SCRYPT_MEMORY = 256 << 20  # 128 * r * 2^log_n bytes (docs/format.md §6)
_CREATED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_FINGERPRINT = re.compile(r"[0-9a-f]{32}")
#: Test suites only: a lower scrypt log_n for key files written without an explicit `ScryptCost` (a CLI run in a
#: subprocess has no other way to get one). Logged as a warning at each use; docs/security.md.
TEST_ONLY_SCRYPT_ENV = "C11_TEST_ONLY_INSECURE_SCRYPT_LOG_N"


@dataclass(frozen=True)
class ScryptCost:
    """scrypt parameters of a new key file's passphrase seal (docs/format.md §6).

    The default is the production cost; `ScryptCost.test_only()` is the lowest any reader accepts.
    """

    log_n: int = SCRYPT_LOG_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P

    @classmethod
    def test_only(cls) -> ScryptCost:
        """log_n 10 (1 MiB): for tests only, never for a real person's key."""
        return cls(log_n=10)

    @classmethod
    def default(cls, env: Mapping[str, str] | None = None) -> ScryptCost:
        """The production cost, unless `C11_TEST_ONLY_INSECURE_SCRYPT_LOG_N` (10..16) asks for a lower log_n."""
        raw = (os.environ if env is None else env).get(TEST_ONLY_SCRYPT_ENV, "")
        if not raw:
            return cls()
        if not raw.isdigit() or not 10 <= int(raw) <= SCRYPT_LOG_N:
            raise KeyFileError(f"{TEST_ONLY_SCRYPT_ENV} must be an integer from 10 to {SCRYPT_LOG_N}")
        import logging  # on use: logging costs every key-file load start-up

        logging.getLogger(__name__).warning(
            "%s=%s: TEST-ONLY scrypt cost for a new key file; never use it for a real key", TEST_ONLY_SCRYPT_ENV, raw
        )
        return cls(log_n=int(raw))


def scrypt_params_ok(log_n: int, r: int, p: int) -> bool:
    """Whether scrypt parameters are allowed: RFC 7914's N < 2^(16 r), and at most 256 MiB of memory."""
    return (
        10 <= log_n <= _MAX_LOG_N
        and 1 <= r <= 32
        and 1 <= p <= 16
        and log_n < 16 * r
        and 128 * r * (1 << log_n) <= MAX_SCRYPT_MEMORY
    )


def _passphrase_bytes(passphrase: str) -> bytes:
    """The passphrase as scrypt input: UTF-8 of its NFC form (the same bytes on every system)."""
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def _aad(public_line: str) -> bytes:
    return b"c11/v1 key file\x00" + public_line.encode()


def _kek(passphrase: str | bytes, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    raw = passphrase if isinstance(passphrase, bytes) else _passphrase_bytes(passphrase)
    return Scrypt(salt=salt, length=32, n=1 << log_n, r=r, p=p).derive(raw)


def dumps(identity: Identity, passphrase: str | None, cost: ScryptCost | None = None) -> bytes:
    """Serialize an identity; with a passphrase the seeds are sealed with scrypt (`cost`, default
    `ScryptCost.default()`) + AES-256-GCM."""
    line = identity.public.line()
    if not label_ok(identity.label):
        raise KeyFileError("the label may not hold control or formatting characters or exceed 256 bytes")
    seeds = identity.enc_seed + identity.sig_seed
    secret: dict[str, str | int]
    if passphrase is None:
        secret = {"protection": "none", "seeds": base64.b64encode(seeds).decode()}
    else:
        if not passphrase:
            raise KeyFileError("the passphrase is empty")
        cost = cost or ScryptCost.default()
        if not scrypt_params_ok(cost.log_n, cost.r, cost.p):
            raise KeyFileError("scrypt parameters out of range (docs/format.md §6)")
        salt, nonce = os.urandom(16), os.urandom(12)
        kek = _kek(passphrase, salt, cost.log_n, cost.r, cost.p)
        ct = AESGCM(kek).encrypt(nonce, seeds, _aad(line))
        secret = {
            "protection": "scrypt",
            "log_n": cost.log_n,
            "r": cost.r,
            "p": cost.p,
            "salt": base64.b64encode(salt).decode(),
            "nonce": base64.b64encode(nonce).decode(),
            "ciphertext": base64.b64encode(ct).decode(),
        }
    doc = {
        "format": FORMAT,
        "label": identity.label,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(identity.created or time.time())),
        "fingerprint": identity.fingerprint,
        "public": line,
        "secret": secret,
    }
    return (json.dumps(doc, indent=2) + "\n").encode()


def write(
    path: str | Path, identity: Identity, passphrase: str | None, *, force: bool = False, cost: ScryptCost | None = None
) -> Path:
    """Write a key file atomically with mode 0600; refuse to replace one unless `force`."""
    return atomic_write_bytes(Path(path), dumps(identity, passphrase, cost), mode=0o600, force=force)


class KeyFile:
    """A parsed key file whose public part is readable without the passphrase."""

    def __init__(self, doc: dict[str, Any], source: str) -> None:
        self.source = source
        try:
            label, public, created, fp = doc.get("label", ""), doc["public"], doc.get("created"), doc.get("fingerprint")
            if not isinstance(label, str) or not isinstance(public, str) or not isinstance(doc["secret"], dict):
                raise ValueError("label, public and secret must be a string, a string and an object")
            self.label = check_label(label)
            self.public = PublicKey.parse(public)
            if self.public.sig is None:
                raise ValueError("the public line of a key file must include the signing key")
            if fp is not None and (
                not isinstance(fp, str) or not _FINGERPRINT.fullmatch(fp) or fp != self.public.fingerprint
            ):
                raise ValueError("fingerprint is not the public key's (32 lowercase hex digits)")
            self.secret = dict(doc["secret"])
            self.protection = str(self.secret["protection"])
            if created is not None and (not isinstance(created, str) or not _CREATED.fullmatch(created)):
                raise ValueError("created is not YYYY-MM-DDTHH:MM:SSZ")
            self.created = calendar.timegm(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ")) if created else 0
        except (KeyError, TypeError, ValueError, RecipientError) as e:
            raise KeyFileError(f"{source}: malformed key file ({e})") from None
        if self.protection not in {"none", "scrypt"}:
            raise KeyFileError(f"{source}: unknown key protection {self.protection!r}")

    def _open(self, passphrase: str, salt: bytes, nonce: bytes, ct: bytes, log_n: int, r: int, p: int) -> bytes:
        """Seeds from the sealed secret; a passphrase written before NFC normalisation is tried as typed too."""
        tries = [_passphrase_bytes(passphrase)]
        if passphrase.encode("utf-8") != tries[0]:
            tries.append(passphrase.encode("utf-8"))
        for raw in tries:
            try:
                return AESGCM(_kek(raw, salt, log_n, r, p)).decrypt(nonce, ct, _aad(self.public.line()))
            except InvalidTag:
                continue
        raise WrongPassphraseError(f"{self.source}: wrong passphrase (or the key file was modified)")

    @property
    def encrypted(self) -> bool:
        return self.protection != "none"

    def unlock(self, passphrase: str | None = None) -> Identity:
        """Return the identity; raises WrongPassphraseError if the passphrase does not open it."""
        s = self.secret
        try:
            if self.protection == "none":
                seeds = _b64(s["seeds"])
            else:
                if passphrase is None:
                    raise WrongPassphraseError(f"{self.source}: a passphrase is needed")
                log_n, r, p = s["log_n"], s["r"], s["p"]
                if not all(isinstance(v, int) and not isinstance(v, bool) for v in (log_n, r, p)):
                    raise KeyFileError(f"{self.source}: malformed key file (scrypt parameters are not integers)")
                if not scrypt_params_ok(log_n, r, p):
                    raise KeyFileError(
                        f"{self.source}: scrypt parameters out of range (10 <= log_n <= 20, "
                        "1 <= r <= 32, 1 <= p <= 16, log_n < 16 r, at most 256 MiB)"
                    )
                salt, nonce = _b64(s["salt"]), _b64(s["nonce"])
                if len(salt) != 16 or len(nonce) != 12:
                    raise KeyFileError(f"{self.source}: malformed key file (salt or nonce length)")
                seeds = self._open(passphrase, salt, nonce, _b64(s["ciphertext"]), log_n, r, p)
        except (KeyError, ValueError, binascii.Error) as e:
            raise KeyFileError(f"{self.source}: malformed key file ({type(e).__name__})") from None
        if len(seeds) != 2 * SEED_SIZE:
            raise KeyFileError(f"{self.source}: malformed key file (seed length)")
        identity = Identity(self.label, self.public.kem, seeds[:SEED_SIZE], seeds[SEED_SIZE:], self.created)
        if identity.public != self.public:
            raise KeyFileError(f"{self.source}: the private key does not match the public key")
        return identity


def _b64(value: object) -> bytes:
    """Standard base64 with padding (RFC 4648 §4), canonical: what re-encodes to the same text."""
    if not isinstance(value, str):
        raise ValueError("base64 value is not a string")
    data = base64.b64decode(value, validate=True)
    if base64.b64encode(data).decode("ascii") != value:
        raise ValueError("non-canonical base64")
    return data


def load(path: str | Path) -> KeyFile:
    """Read and parse a key file (without unlocking it)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{p}: no such key file") from None
    except IsADirectoryError:
        raise KeyFileError(f"{p}: is a folder, not a key file") from None
    if len(raw) > 1 << 20:
        raise KeyFileError(f"{p}: not a c11 key file (too large)")
    if raw.lstrip().startswith(b"c11:"):
        raise KeyFileError(
            f"{p} holds a public key line, not your own key file (c11_key_<hex>.key)", reason="public-key-line"
        )
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise KeyFileError(f"{p}: not a c11 key file") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise KeyFileError(f"{p}: not a c11 key file (format {doc.get('format') if isinstance(doc, dict) else '?'!r})")
    return KeyFile(doc, str(p))
