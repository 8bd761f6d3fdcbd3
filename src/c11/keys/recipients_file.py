"""Recipients files: a file of public key lines, or a key file whose public key is used (`-R FILE`).

keys = read_recipients_file(Path("team.txt"))
"""

from __future__ import annotations

import json
from pathlib import Path

from c11.errors import RecipientError
from c11.keys.publickey import PublicKey, parse_recipients


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
