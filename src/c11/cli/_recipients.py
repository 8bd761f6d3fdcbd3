"""Turning -r and -R arguments into public keys: key lines, recipients files, key files."""

from __future__ import annotations

import json
from pathlib import Path

from c11.errors import RecipientError
from c11.keys.publickey import PREFIX, PublicKey, parse_recipients


def resolve(values: tuple[str, ...], files: tuple[str, ...]) -> list[PublicKey]:
    keys: list[PublicKey] = []
    for v in values:
        if v.startswith(PREFIX):
            keys.append(PublicKey.parse(v))
        elif v.startswith("group:"):
            from c11.cli._registry import lookup_group  # a group of your organization (its current key)

            keys.append(lookup_group(v))
        elif "@" in v and "/" not in v:
            from c11.cli._registry import lookup_email  # verified through the registry's log

            keys.append(lookup_email(v))
        else:
            raise RecipientError(f"{v!r} is not a public key line (c11:<type>:...); use -R for files")
    for f in files:
        keys.extend(read_recipients_file(Path(f)))
    return keys


def read_recipients_file(path: Path) -> list[PublicKey]:
    """A file of public key lines, or a key file (its public key is used)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipientError(f"{path}: no such recipients file") from None
    except (UnicodeDecodeError, IsADirectoryError):
        raise RecipientError(f"{path}: not a recipients file") from None
    if text.lstrip().startswith("{"):
        try:
            return [PublicKey.parse(json.loads(text)["public"])]
        except (ValueError, KeyError, TypeError, RecursionError):
            raise RecipientError(f"{path}: not a recipients file or key file") from None
    keys = parse_recipients(text, str(path))
    if not keys:
        raise RecipientError(f"{path}: no recipients in the file")
    return keys
