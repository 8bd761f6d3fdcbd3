"""Safe display of text that came from a file or a server (sender labels, names, emails).

Such text is attacker-chosen: a newline would print a forged line of its own, a bidi override would
reorder what the terminal shows. `safe_text` escapes every control, format (bidi, zero-width), surrogate,
private-use, unassigned, line/paragraph separator and non-ASCII space character as `\\uXXXX` (newline,
carriage return and tab as `\\n`, `\\r`, `\\t`; the backslash itself as `\\\\`), and shortens long text.
"""

from __future__ import annotations

import unicodedata

#: Longest text shown (in characters of the original); longer text ends with "…".
DEFAULT_LIMIT = 200
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def unsafe_char(ch: str) -> bool:
    """True for a character that must never reach a terminal raw (see the module docstring)."""
    cat = unicodedata.category(ch)
    return cat[0] == "C" or cat in ("Zl", "Zp") or (cat == "Zs" and ch != " ")


def is_safe(text: str) -> bool:
    """True when `safe_text` would show `text` unchanged (no escapes needed, not too long)."""
    return not any(ch in _NAMED or unsafe_char(ch) for ch in text)


def safe_text(text: str, limit: int = DEFAULT_LIMIT) -> str:
    """`text` with every unsafe character escaped, at most `limit` characters of it (then "…")."""
    cut = len(text) > limit
    return "".join(_escape(ch, True) for ch in (text[:limit] if cut else text)) + ("…" if cut else "")


def one_line(text: str) -> str:
    """`text` with every unsafe character escaped but backslashes kept and no length limit: for messages
    that may quote a server or a file (`c11: error: ...`)."""
    return "".join(_escape(ch, False) for ch in text)


def quoted(text: str, limit: int = DEFAULT_LIMIT) -> str:
    """`safe_text` between single quotes (a quote inside is escaped), for a self-asserted label."""
    return "'" + safe_text(text, limit).replace("'", "\\'") + "'"


def _escape(ch: str, backslash: bool) -> str:
    if ch in _NAMED and (backslash or ch != "\\"):
        return _NAMED[ch]
    if unsafe_char(ch):
        return f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}"
    return ch
