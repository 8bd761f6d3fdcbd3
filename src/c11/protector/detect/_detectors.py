"""The built-in content detectors: a candidate regex each, then a validation that makes false positives rare
(Luhn and issuer prefixes for cards, ISO 13616 mod 97 for IBANs, python-stdnum for national IDs,
libphonenumber for phone numbers, entropy for generic tokens)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

#: (start, end, matched text, kind) of one validated match in the text
Hit = tuple[int, int, str, str]
Finder = Callable[[str, "DetectorOptions"], Iterator[Hit]]


@dataclass(frozen=True)
class DetectorOptions:
    """Settings a detector reads: the default region of phone numbers without a country code."""

    phone_region: str = "US"


# -- email -----------------------------------------------------------------------------------------------

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,63})@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,24}(?![\w-])"
)
#: "file@2x.png", "logo@3x.webp": asset names, not addresses
_NOT_TLD = {"png", "jpg", "jpeg", "gif", "svg", "webp", "css", "js", "ts", "map", "ico", "bmp", "tif", "tiff"}


def _emails(text: str, opts: DetectorOptions) -> Iterator[Hit]:
    if "@" not in text:
        return
    for m in _EMAIL.finditer(text):
        s = m.group()
        local, _, domain = s.rpartition("@")
        tld = domain.rsplit(".", 1)[-1].lower()
        if tld in _NOT_TLD or ".." in local or local.endswith("."):
            continue
        yield m.start(), m.end(), s, "email"


# -- phone -----------------------------------------------------------------------------------------------

_PHONE = re.compile(r"(?<![\w+.-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]\d{2,4}){1,4}(?![\w.-])")


def _phones(text: str, opts: DetectorOptions) -> Iterator[Hit]:
    import phonenumbers

    for m in _PHONE.finditer(text):
        s = m.group()
        digits = sum(c.isdigit() for c in s)
        if not 8 <= digits <= 15 or re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):  # an ISO date is no phone number
            continue
        try:
            num = phonenumbers.parse(s, None if s.startswith("+") else opts.phone_region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(num):
            yield m.start(), m.end(), s, "phone"


# -- payment cards ---------------------------------------------------------------------------------------

_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_ISSUERS = (
    (re.compile(r"4\d{12}(?:\d{3}){0,2}"), "visa"),
    (re.compile(r"(?:5[1-5]\d{2}|222[1-9]|22[3-9]\d|2[3-6]\d{2}|27[01]\d|2720)\d{12}"), "mastercard"),
    (re.compile(r"3[47]\d{13}"), "amex"),
    (re.compile(r"(?:6011|65\d{2}|64[4-9]\d)\d{12,15}"), "discover"),
    (re.compile(r"35(?:2[89]|[3-8]\d)\d{12,15}"), "jcb"),
    (re.compile(r"3(?:0[0-5]|[68]\d)\d{11,16}"), "diners"),
    (re.compile(r"62\d{14,17}"), "unionpay"),
    (re.compile(r"(?:5[06-9]|6\d)\d{10,17}"), "maestro"),
)


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a digit string (python-stdnum's)."""
    from stdnum import luhn

    return bool(luhn.is_valid(digits))


def _cards(text: str, opts: DetectorOptions) -> Iterator[Hit]:
    for m in _CARD.finditer(text):
        s = m.group()
        seps = {c for c in s if not c.isdigit()}
        if len(seps) > 1:  # "4111 1111-1111 1111": mixed separators, not a written card number
            continue
        digits = re.sub(r"\D", "", s)
        if len(set(digits)) == 1 or not luhn_ok(digits):
            continue
        for pattern, kind in _ISSUERS:
            if pattern.fullmatch(digits):
                yield m.start(), m.end(), s, kind
                break


# -- IBAN ------------------------------------------------------------------------------------------------

_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}(?![A-Za-z0-9])")


def _ibans(text: str, opts: DetectorOptions) -> Iterator[Hit]:
    from stdnum import iban

    for m in _IBAN.finditer(text):
        s = m.group().rstrip()
        if iban.is_valid(s):
            yield m.start(), m.start() + len(s), s, "iban"


# -- national IDs ----------------------------------------------------------------------------------------

_SSN = re.compile(r"(?<![\d-])\d{3}([- ])\d{2}\1\d{4}(?![\d-])")


def _ssns(text: str, opts: DetectorOptions) -> Iterator[Hit]:
    from stdnum.us import ssn

    for m in _SSN.finditer(text):
        if ssn.is_valid(m.group()):  # area 000/666/9xx, group 00, serial 0000 and the known fakes refused
            yield m.start(), m.end(), m.group(), "us_ssn"


_NATIONAL = (
    (re.compile(r"(?<![\w])\d{8}-?[A-Z](?![\w])"), "stdnum.es.dni", "es_dni"),
    (re.compile(r"(?<![\w])[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z](?![\w])"), "stdnum.it.codicefiscale", "it_cf"),
    (
        re.compile(r"(?<![\w])[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}(?![\w])"),
        "stdnum.fr.nir",
        "fr_nir",
    ),
    (re.compile(r"(?<![\w])\d{3}\.?\d{3}\.?\d{3}-?\d{2}(?![\w])"), "stdnum.br.cpf", "br_cpf"),
)


def _national(text: str, opts: DetectorOptions) -> Iterator[Hit]:
    import importlib

    for pattern, module, kind in _NATIONAL:
        validator = importlib.import_module(module)
        for m in pattern.finditer(text):
            s = m.group()
            if len(set(re.sub(r"\W", "", s))) < 3:  # 000.000.000-00 and the like
                continue
            if validator.is_valid(s):
                yield m.start(), m.end(), s, kind


# -- secrets ---------------------------------------------------------------------------------------------

_PEM = re.compile(
    r"-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----"
    r"([\sA-Za-z0-9+/=:,\-]{64,}?)-----END \1-----"
)
_PUTTY = re.compile(r"PuTTY-User-Key-File-[23]: [\w-]+\r?\n(?:.*\r?\n){1,6}?Private-Lines: \d+")


def _private_keys(text: str, opts: DetectorOptions) -> Iterator[Hit]:
    if "PRIVATE KEY-----" not in text and "PuTTY-User-Key-File-" not in text:
        return
    for m in _PEM.finditer(text):
        yield m.start(), m.end(), m.group(), m.group(1).split(" ")[0].lower() if " " in m.group(1) else "pkcs8"
    for m in _PUTTY.finditer(text):
        yield m.start(), m.end(), m.group(), "putty"


_AWS = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Z0-9])")
_AWS_SECRET = re.compile(r"(?i)aws_?secret_?(?:access_?)?key[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])")


def _aws(text: str, opts: DetectorOptions) -> Iterator[Hit]:
    if not any(p in text for p in ("AKIA", "ASIA", "ABIA", "ACCA")) and "secret" not in text.lower():
        return
    for m in _AWS.finditer(text):
        if not m.group().endswith("EXAMPLE"):  # AWS's documentation placeholder AKIAIOSFODNN7EXAMPLE
            yield m.start(), m.end(), m.group(), "access_key_id"
    for m in _AWS_SECRET.finditer(text):
        if "EXAMPLEKEY" not in m.group(1) and entropy(m.group(1)) >= 4.0:
            yield m.start(1), m.end(1), m.group(1), "secret_access_key"


_GITHUB = re.compile(
    r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})(?![A-Za-z0-9_])"
)


def _github(text: str, opts: DetectorOptions) -> Iterator[Hit]:
    if "gh" not in text and "github_pat_" not in text:
        return
    for m in _GITHUB.finditer(text):
        body = m.group().split("_", 1)[1]
        if entropy(body) >= 3.5:
            yield m.start(), m.end(), m.group(), m.group()[:4].rstrip("_")


_SLACK = re.compile(
    r"(?<![A-Za-z0-9-])xox[abposr]-\d{6,}-[A-Za-z0-9-]{10,}(?![A-Za-z0-9-])"
    r"|https://hooks\.slack\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{20,}"
)


def _slack(text: str, opts: DetectorOptions) -> Iterator[Hit]:
    if "xox" not in text and "hooks.slack.com" not in text:
        return
    for m in _SLACK.finditer(text):
        yield m.start(), m.end(), m.group(), "webhook" if m.group().startswith("https") else m.group()[:4]


#: tokens with a known prefix (the service's own format), then a high-entropy body
_PREFIXED = re.compile(
    r"(?<![A-Za-z0-9_-])(?:"
    r"(?P<stripe>[sr]k_live_[A-Za-z0-9]{20,99})"
    r"|(?P<gitlab>glpat-[A-Za-z0-9_-]{20})"
    r"|(?P<google>AIza[0-9A-Za-z_-]{35})"
    r"|(?P<npm>npm_[A-Za-z0-9]{36})"
    r"|(?P<pypi>pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})"
    r"|(?P<openai>sk-(?:proj-)?[A-Za-z0-9_-]{40,})"
    r")(?![A-Za-z0-9_-])"
)
#: `api_key = "..."`, `token: ...`: an assignment of a long random-looking value
_ASSIGNED = re.compile(
    r"(?i)(?:api[_-]?key|api[_-]?token|access[_-]?token|auth[_-]?token|secret[_-]?key|client[_-]?secret)"
    r"[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9_\-+/.=]{20,200})"
)


def entropy(s: str) -> float:
    """Shannon entropy of `s` in bits per character."""
    if not s:
        return 0.0
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


#: substrings without which neither token pattern can match (a cheap test before the regular expressions)
_TOKEN_HINTS = ("k_live_", "glpat-", "AIza", "npm_", "pypi-", "sk-")
_ASSIGNED_HINTS = ("key", "token", "secret")


def _tokens(text: str, opts: DetectorOptions) -> Iterator[Hit]:
    if any(h in text for h in _TOKEN_HINTS):
        yield from _prefixed(text)
    lower = text.lower()
    if any(h in lower for h in _ASSIGNED_HINTS):
        yield from _assigned(text)


def _prefixed(text: str) -> Iterator[Hit]:
    for m in _PREFIXED.finditer(text):
        kind = m.lastgroup or "token"
        if entropy(m.group()) >= 3.5:
            yield m.start(), m.end(), m.group(), kind


def _assigned(text: str) -> Iterator[Hit]:
    for m in _ASSIGNED.finditer(text):
        v = m.group(1)
        has_mix = any(c.isdigit() for c in v) and any(c.isalpha() for c in v)
        if has_mix and entropy(v) >= 3.8 and not _PREFIXED.fullmatch(v):
            yield m.start(1), m.end(1), v, "assigned"


#: the built-in detectors, by the name rules and reports use
DETECTORS: dict[str, Finder] = {
    "email": _emails,
    "phone": _phones,
    "payment_card": _cards,
    "iban": _ibans,
    "us_ssn": _ssns,
    "national_id": _national,
    "private_key": _private_keys,
    "aws_key": _aws,
    "github_token": _github,
    "slack_token": _slack,
    "api_token": _tokens,
}
