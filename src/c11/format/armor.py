"""ASCII armor: a protected file as PEM-style base64 text that survives email and chat (docs/format.md §7).

The body is the standard base64 of the binary file in lines of 64 columns (docs/format.md §7).
"""

from __future__ import annotations

import base64
import binascii

from c11.errors import FormatError, TruncatedError

BEGIN = "-----BEGIN C11 MESSAGE-----"
END = "-----END C11 MESSAGE-----"
COLUMNS = 64
MAX_ARMORED = 64 << 20


def armor(data: bytes) -> str:
    b64 = base64.b64encode(data).decode()
    lines = [b64[i : i + COLUMNS] for i in range(0, len(b64), COLUMNS)]
    return "\n".join([BEGIN, *lines, END]) + "\n"


def is_armored(head: bytes) -> bool:
    """True if the first bytes look like armor (leading whitespace allowed)."""
    return head.lstrip().startswith(b"-----BEGIN C11")


def dearmor(text: str | bytes) -> bytes:
    """Decode armor (docs/format.md §7): spaces, tabs and CR around lines and blank lines around the block
    are tolerated; blank lines inside, text after END and non-canonical base64 are refused."""
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError:
            raise FormatError("armored message contains non-ASCII characters") from None
    lines = [line.strip(" \t\r") for line in text.strip(" \t\r\n").split("\n")]
    if not lines or lines[0] != BEGIN:
        raise FormatError(f"not an armored c11 message (expected {BEGIN})")
    if END in lines[:-1]:
        raise FormatError(f"the armored message has text after its {END} line")
    if lines[-1] != END:
        raise TruncatedError(f"the armored message is incomplete (no {END} line)")
    body = lines[1:-1]
    for i, line in enumerate(body):
        if len(line) > COLUMNS or (len(line) < COLUMNS and i != len(body) - 1) or not line:
            raise FormatError("armored message has a malformed line (was it re-wrapped or cut?)")
    joined = "".join(body)
    try:
        data = base64.b64decode(joined, validate=True)
    except (binascii.Error, ValueError):
        raise FormatError("armored message has invalid base64") from None
    if base64.b64encode(data).decode("ascii") != joined:
        raise FormatError("armored message has non-canonical base64 (padding bits set)")
    return data
