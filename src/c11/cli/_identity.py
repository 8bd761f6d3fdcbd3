"""Loading the caller's key files for the CLI: -i paths, C11_IDENTITY, the config folder.

Passphrases come from C11_PASSPHRASE, C11_PASSPHRASE_FILE or a prompt on the terminal.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from c11._internal.paths import keys_dir
from c11.errors import KeyFileError, UsageError, WrongPassphraseError
from c11.keys import keyfile
from c11.keys.identity import Identity


def passphrase_from_env() -> str | None:
    if os.environ.get("C11_PASSPHRASE"):
        return os.environ["C11_PASSPHRASE"]
    pf = os.environ.get("C11_PASSPHRASE_FILE")
    if pf:
        return read_passphrase_file(Path(pf))
    return None


def read_passphrase_file(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot read passphrase file {path}: {e.strerror}") from None
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise UsageError(f"passphrase file {path} is empty")
    return lines[0]


def _prompt(prompt: str) -> str | None:
    import getpass

    try:
        with open("/dev/tty"):
            pass
    except OSError:
        return None
    try:
        return getpass.getpass(prompt)
    except (EOFError, OSError):
        return None


def _unlocked() -> dict[Path, Identity]:
    """The key files this command already opened (or made), kept on the command's click context: asked once."""
    import click

    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return {}  # outside a command: nothing is remembered
    unlocked: dict[Path, Identity] = ctx.find_root().meta.setdefault("c11.unlocked", {})
    return unlocked


def remember(path: str | Path, identity: Identity) -> None:
    """Note that this command holds `path`'s identity (e.g. just made), so `load` asks no passphrase again."""
    _unlocked()[Path(path).resolve()] = identity


def load(path: str | Path) -> Identity:
    """Open one key file, asking for its passphrase if it has one (once per command)."""
    known = _unlocked().get(Path(path).resolve())
    if known is not None:
        return known
    kf = keyfile.load(path)
    if not kf.encrypted:
        return kf.unlock()
    pw = passphrase_from_env()
    if pw is not None:
        return kf.unlock(pw)
    for attempt in range(3):
        pw = _prompt(f"Passphrase for {path}: ")
        if pw is None:
            raise WrongPassphraseError(
                f"{path} is passphrase-protected: set C11_PASSPHRASE (or C11_PASSPHRASE_FILE) or run in a terminal"
            )
        try:
            identity = kf.unlock(pw)
            remember(path, identity)
            return identity
        except WrongPassphraseError:
            if attempt == 2:
                raise
            print("c11: wrong passphrase, try again", file=sys.stderr)
    raise AssertionError("unreachable")


def default_paths() -> list[Path]:
    """C11_IDENTITY (paths separated by the OS path separator), then the config folder's keys."""
    env = os.environ.get("C11_IDENTITY")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    d = keys_dir()
    return sorted(d.glob("*.key")) if d.is_dir() else []


def load_many(paths: list[str] | tuple[str, ...]) -> list[Identity]:
    """Identities for decrypting: the given paths, or the defaults."""
    chosen = [Path(p) for p in paths]
    if not chosen:
        from c11._internal.paths import keys_dir
        from c11.client.key_lifecycle import temporary_paths  # temporary keys received at login (docs/keyserver.md)

        chosen = default_paths() + ([] if os.environ.get("C11_IDENTITY") else temporary_paths(keys_dir()))
    if not chosen:
        raise KeyFileError("no key to decrypt with: pass -i KEYFILE (or set C11_IDENTITY, or log in with `c11 login`)")
    return [load(p) for p in chosen]


def load_sender(path: str | None) -> Identity:
    """The key that signs: -i, else the single default identity."""
    if path:
        return load(path)
    defaults = default_paths()
    if not defaults:
        from c11.cli._cloud import cloud_sender  # logged in with a cloud-stored key (docs/shards.md)

        cloud = cloud_sender()
        if cloud is not None:
            return cloud
        raise KeyFileError(
            "c11 signs what it encrypts: pass -i KEYFILE (create one with `c11 keygen`) or set C11_IDENTITY"
        )
    return load(defaults[0])
