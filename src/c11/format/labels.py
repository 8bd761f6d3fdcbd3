"""Identity labels in headers and key files (docs/format.md §2.8): bounded, printable Unicode.

A label is shown to people ("written by alice@example.com"), so it may not hold characters that change
how a terminal or a page lays text out: controls (newlines), format and bidi controls, separators.
"""

from __future__ import annotations

import unicodedata

MAX_LABEL_BYTES = 256
_REFUSED = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def check_label(label: str) -> str:
    """Return `label` if it is a valid identity label; raise ValueError saying what is wrong."""
    if len(label.encode("utf-8", "surrogatepass")) > MAX_LABEL_BYTES:
        raise ValueError(f"is longer than {MAX_LABEL_BYTES} bytes")
    for ch in label:
        if unicodedata.category(ch) in _REFUSED:
            raise ValueError(f"contains the control or formatting character U+{ord(ch):04X}")
    return label


def label_ok(label: str) -> bool:
    """Whether `label` may be written into a header or key file."""
    try:
        check_label(label)
        return True
    except ValueError:
        return False
