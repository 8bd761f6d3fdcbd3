"""Email addresses as identifiers: one normal form, and a refusal of look-alike or invisible characters.

`normalize_email` is what sign-up, login, invitations, organization members, SCIM and lookups all use.
"""

from __future__ import annotations

import unicodedata

import idna

from c11.errors import EmailAddressError

MAX_LENGTH = 320  # what the database columns hold (RFC 5321 paths are shorter: 254)
MAX_LOCAL = 64
_SHOWN = 40  # an address is quoted in errors only up to this length (never a long input back)
#: Characters a dot-atom local part may hold besides letters and digits (RFC 5322 atext).
_ATEXT = set("!#$%&'*+-/=?^_`{|}~")
#: Refused categories: controls (NUL...), format characters (zero-width, bidi overrides, BOM, soft hyphen),
#: separators (any space), surrogates, private use and unassigned code points.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}


def normalize_email(value: str) -> str:
    """The canonical form of an email address (local part NFC and lower case, domain IDNA A-label), or
    `EmailAddressError` naming what is wrong; never echoes invisible characters raw."""
    if not isinstance(value, str):
        raise EmailAddressError("an email address must be text")
    text = value.strip(" \t\r\n")
    if not text:
        raise EmailAddressError("the email address is empty")
    if len(text) > MAX_LENGTH:
        raise EmailAddressError(f"the email address is longer than {MAX_LENGTH} characters")
    _refuse_invisible(text)
    if unicodedata.normalize("NFKC", text) != unicodedata.normalize("NFC", text):
        raise EmailAddressError(
            "the email address has compatibility characters (such as full-width letters "
            "or ligatures) that look like other ones; type it with ordinary characters"
        )
    text = unicodedata.normalize("NFC", text)
    if text.count("@") != 1:
        raise EmailAddressError(f"{_shown(text)} is not an email address (it needs one @)")
    local, domain = text.split("@")
    local = _local_part(local.lower(), text)
    domain = _domain(domain.lower(), text)
    address = f"{local}@{domain}"
    if len(address) > MAX_LENGTH:
        raise EmailAddressError(f"the email address is longer than {MAX_LENGTH} characters")
    return address


def _refuse_invisible(text: str) -> None:
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in _REFUSED_CATEGORIES:
            what = "a space" if cat.startswith("Z") else "an invisible or control character"
            raise EmailAddressError(f"the email address contains {what} (U+{ord(ch):04X}); type it again without it")


def _local_part(local: str, whole: str) -> str:
    if not local or len(local) > MAX_LOCAL:
        raise EmailAddressError(f"{_shown(whole)}: the part before @ must have 1 to {MAX_LOCAL} characters")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise EmailAddressError(f"{_shown(whole)}: the part before @ has a misplaced dot")
    for ch in local:
        if ch.isascii():
            if not (ch.isalnum() or ch in _ATEXT or ch == "."):
                raise EmailAddressError(f"{_shown(whole)}: {ch!r} is not allowed before @")
        elif unicodedata.category(ch)[0] not in "LMN":
            raise EmailAddressError(f"{_shown(whole)}: U+{ord(ch):04X} is not allowed before @")
    _single_script(local, whole)
    return local


def _domain(domain: str, whole: str) -> str:
    if "." not in domain.strip("."):
        raise EmailAddressError(f"{_shown(whole)}: the domain needs a dot (such as example.com)")
    for label in domain.split("."):
        _single_script(label, whole)
    try:
        ascii_domain = idna.encode(domain, uts46=False).decode("ascii")
    except (idna.IDNAError, UnicodeError) as e:
        raise EmailAddressError(f"{_shown(whole)}: the domain is not valid ({e})") from None
    if ascii_domain.rsplit(".", 1)[-1].isdigit():
        raise EmailAddressError(f"{_shown(whole)}: the domain must be a name, not an address")
    return ascii_domain


def _script(ch: str) -> str:
    """The script of a letter, approximated by the first word of its Unicode name (LATIN, CYRILLIC...)."""
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else "UNKNOWN"


def _single_script(part: str, whole: str) -> None:
    """Refuse a label mixing scripts (e.g. a Cyrillic а among Latin letters): the classic look-alike."""
    scripts = {_script(ch) for ch in part if ch.isalpha()}
    scripts.discard("")
    if len(scripts) > 1:
        raise EmailAddressError(
            f"{_shown(whole)} mixes alphabets ({', '.join(sorted(scripts))}) that can look alike; type it again"
        )


def _shown(text: str) -> str:
    """An address as it may be shown in an error: ASCII-escaped (no raw look-alikes), short ones only."""
    return ascii(text) if len(text) <= _SHOWN else "the email address"
