"""Trusted-keys files: public keys you vouch for yourself, each optionally with its owner's email.

They let a signature be shown as "signed by alice@example.com" with no server (docs/registry.md §8).
Format (UTF-8, at most 1 MiB): one entry a line, `<public key line>[ <email>]`, blank lines and lines
starting with `#` ignored. A recipients file (key lines only) is a trusted-keys file whose entries have
no email. The default file is `<config dir>/trusted-keys`, written by `c11 trust add`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from c11._internal import emails as _emails
from c11._internal.atomic import atomic_write_bytes
from c11._internal.paths import config_dir
from c11.errors import EmailAddressError, RecipientError
from c11.keys.publickey import PublicKey

FILE_NAME = "trusted-keys"
MAX_SIZE = 1 << 20
_HEADER = (
    "# c11 trusted keys: one public key line a line, optionally followed by its owner's email.\n"
    "# A signature by one of these keys is shown as verified (docs/registry.md).\n"
)


def default_path() -> Path:
    """`<config dir>/trusted-keys` (C11_CONFIG_DIR, else ~/.config/c11)."""
    return config_dir() / FILE_NAME


def load_default() -> TrustedKeys:
    """The entries of `default_path()` (none if it does not exist). Like ssh's known files, a file that
    others may write is refused: whoever can add a line there can make any key "verified"."""
    path = default_path()
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return TrustedKeys()
    if mode & 0o022:
        raise RecipientError(
            f"{path} may be written by other users: `chmod 600 {path}` (then check its entries with `c11 trust list`)"
        )
    return TrustedKeys.load([path])


def normalize_email(email: str, where: str = "email") -> str:
    """The email's one normal form (`c11._internal.emails`: what the registry uses), or RecipientError."""
    try:
        return _emails.normalize_email(email)
    except EmailAddressError as e:
        raise RecipientError(f"{where}: {e}") from None


@dataclass(frozen=True)
class TrustedKey:
    """One entry: a public key (with its Ed25519 signing key) and the email you say it belongs to."""

    key: PublicKey
    email: str | None
    source: str

    @property
    def sig_fingerprint(self) -> str | None:
        return self.key.sig_fingerprint

    def line(self) -> str:
        return self.key.line() + (f" {self.email}" if self.email else "")


class TrustedKeys:
    """The entries of one or more trusted-keys files, found by signing-key fingerprint."""

    def __init__(self, entries: list[TrustedKey] | None = None) -> None:
        self.entries = list(entries or [])

    @classmethod
    def load(cls, paths: list[Path], *, missing_ok: bool = False) -> TrustedKeys:
        """Read `paths` in order (the first entry for a signing key wins)."""
        out = cls()
        for p in paths:
            out.entries.extend(read(Path(p), missing_ok=missing_ok))
        return out

    def of_email(self, email: str) -> list[TrustedKey]:
        """The entries listed as `email`'s."""
        return [e for e in self.entries if e.email == email]

    def find(self, sig_fingerprint: str) -> TrustedKey | None:
        """The first entry whose signing key has this fingerprint."""
        for e in self.entries:
            if e.sig_fingerprint == sig_fingerprint:
                return e
        return None


def parse(text: str, source: str) -> list[TrustedKey]:
    """Entries of a trusted-keys file's text; RecipientError naming the line that is wrong."""
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if len(words) > 2:
            raise RecipientError(f"{source}, line {n}: expected a public key line and at most one email")
        try:
            key = PublicKey.parse(words[0])
        except RecipientError as e:
            raise RecipientError(f"{source}, line {n}: {e}") from None
        email = normalize_email(words[1], f"{source}, line {n}") if len(words) == 2 else None
        out.append(TrustedKey(key, email, source))
    return out


def read(path: Path, *, missing_ok: bool = False) -> list[TrustedKey]:
    """Entries of the file at `path` (bounded to MAX_SIZE)."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_SIZE + 1)
    except FileNotFoundError:
        if missing_ok:
            return []
        raise RecipientError(f"{path}: no such trusted-keys file") from None
    except IsADirectoryError:
        raise RecipientError(f"{path}: a folder, not a trusted-keys file") from None
    if len(data) > MAX_SIZE:
        raise RecipientError(f"{path}: a trusted-keys file is at most {MAX_SIZE} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RecipientError(f"{path}: not a trusted-keys file (not UTF-8 text)") from None
    if text.lstrip().startswith("{"):
        raise RecipientError(f"{path}: a key file, not a trusted-keys file (use `c11 pubkey` for its key line)")
    return parse(text, str(path))


def write(path: Path, entries: list[TrustedKey]) -> None:
    """Replace the file at `path` with `entries`, atomically (mode 0600, folder 0700)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = _HEADER + "".join(e.line() + "\n" for e in entries)
    atomic_write_bytes(path, body.encode("utf-8"), mode=0o600, force=True)
    os.chmod(path, 0o600)


def add(path: Path, key: PublicKey, email: str | None) -> tuple[TrustedKey, bool]:
    """Add (or re-label) `key` in the file at `path`; returns the entry and whether anything changed."""
    if key.sig is None:
        raise RecipientError("this public key line has no signing key: it cannot verify a signature")
    email = normalize_email(email) if email else None
    entries = read(path, missing_ok=True)
    new = TrustedKey(key, email, str(path))
    for i, e in enumerate(entries):
        if e.sig_fingerprint == key.sig_fingerprint:
            if e.key == key and e.email == email:
                return e, False
            entries[i] = new
            write(path, entries)
            return new, True
    write(path, [*entries, new])
    return new, True


def remove(path: Path, what: str) -> list[TrustedKey]:
    """Remove entries matching `what` (a key line, an encryption or signing fingerprint or a prefix of
    at least 8 hex digits, or an email); returns the removed entries."""
    entries = read(path, missing_ok=True)
    keep: list[TrustedKey] = []
    gone: list[TrustedKey] = []
    for e in entries:
        (gone if _matches(e, what.strip()) else keep).append(e)
    if gone:
        write(path, keep)
    return gone


def _matches(e: TrustedKey, what: str) -> bool:
    if what.startswith("c11:"):
        return e.key.line() == what
    if "@" in what:
        return e.email == what.lower()
    w = what.lower()
    return len(w) >= 8 and (e.key.fingerprint.startswith(w) or (e.sig_fingerprint or "").startswith(w))
