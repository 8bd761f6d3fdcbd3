"""Discovery: what sensitive content a file holds, by name, type, size and content (docs/protector.md#detectors).

`classify(name, data, rules) -> Findings` is pure (no I/O, no global state): the scan and the protector's
workers call it on each object. Matched texts stay in memory (`Match.text`, never in `repr`); reports show
`Match.masked()` and a keyed hash (`Match.fingerprint(key)`), never the text itself.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import json
import re
import tomllib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from c11.errors import UsageError
from c11.protector.detect._detectors import DETECTORS, DetectorOptions, entropy, luhn_ok
from c11.protector.detect._extract import ExtractError, extract_text, kind_of

__all__ = [
    "DETECTORS",
    "DEFAULT_NAME_RULES",
    "CustomDetector",
    "DetectRules",
    "DetectorRule",
    "Findings",
    "Match",
    "NameRule",
    "classify",
    "classify_name",
    "entropy",
    "kind_of",
    "load_rules",
    "luhn_ok",
]

#: detectors off unless a rules file turns them on (too common in ordinary documents to mean much alone)
OFF_BY_DEFAULT = frozenset({"phone"})
#: the largest rules file read
MAX_RULES_FILE = 1 << 20
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class DetectorRule:
    """Settings of one detector: `enabled`, and `threshold` (matches a file needs before it counts)."""

    enabled: bool = True
    threshold: int = 1


@dataclass(frozen=True)
class CustomDetector:
    """An organization's own detector: a regular expression (`re` syntax) under a name."""

    name: str
    pattern: re.Pattern[str]
    threshold: int = 1


@dataclass(frozen=True)
class NameRule:
    """A finding from the file's name alone: `patterns` (fnmatch, on the base name, case-insensitive), and
    optionally a size range."""

    name: str
    patterns: tuple[str, ...]
    min_size: int = 0
    max_size: int | None = None


DEFAULT_NAME_RULES = (
    NameRule(
        "key_file",
        (
            "*.pem",
            "*.key",
            "*.p12",
            "*.pfx",
            "*.jks",
            "*.keystore",
            "*.kdbx",
            "id_rsa",
            "id_dsa",
            "id_ecdsa",
            "id_ed25519",
            "*.ppk",
        ),
    ),
    NameRule("env_file", (".env", ".env.*", "*.env")),
)


@dataclass(frozen=True)
class DetectRules:
    """An organization's detection settings (a rules file's `[detect]` table; `DetectRules()` is the default).

    `max_size`: larger objects are classified by name and size only; `max_chars`: text read per file;
    `skip`: name patterns never classified (protected files); `phone_region`: for numbers without "+"."""

    detectors: Mapping[str, DetectorRule] = field(default_factory=dict)
    custom: tuple[CustomDetector, ...] = ()
    names: tuple[NameRule, ...] = DEFAULT_NAME_RULES
    max_size: int = 64 << 20
    max_chars: int = 8 << 20
    skip: tuple[str, ...] = ("*.c11", "*.c11.zip")
    phone_region: str = "US"

    def rule(self, detector: str) -> DetectorRule:
        """The settings of a built-in detector (its default when the rules do not name it)."""
        if detector in self.detectors:
            return self.detectors[detector]
        return DetectorRule(enabled=detector not in OFF_BY_DEFAULT)

    def skipped(self, name: str) -> bool:
        """Whether `name` is never classified (a `skip` pattern matches its base name)."""
        base = PurePosixPath(name).name.lower()
        return any(fnmatch.fnmatchcase(base, p.lower()) for p in self.skip)


@dataclass(frozen=True)
class Match:
    """One match: the detector, its `kind` (e.g. "visa", "es_dni"), where in the extracted text, and the text."""

    detector: str
    kind: str
    start: int
    end: int
    text: str = field(repr=False)

    def masked(self) -> str:
        """A form that shows what was found without revealing it: the last 4 of a card, a key's type."""
        t = self.text
        if self.detector == "private_key":
            return f"[{self.kind} private key]"
        if self.detector == "payment_card":
            digits = re.sub(r"\D", "", t)
            return f"{self.kind} ****{digits[-4:]}"
        if self.detector == "us_ssn":
            return f"***-**-{t[-4:]}"
        if self.detector == "email":
            local, _, domain = t.partition("@")
            return f"{local[:1]}***@{domain}"
        if len(t) >= 12:
            return f"{t[:2]}***{t[-2:]}"
        return "***"

    def fingerprint(self, key: bytes) -> str:
        """HMAC-SHA256 under the scan's `key` of detector and normalized text (first 16 bytes, hex): the same
        value in two files has the same fingerprint, and without `key` it cannot be guessed from a list."""
        norm = re.sub(r"[\s-]", "", self.text) if self.detector in ("payment_card", "iban", "us_ssn") else self.text
        return hmac.new(key, f"{self.detector}\0{norm}".encode(), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True)
class Findings:
    """What `classify` found in one file: content `matches` (only detectors that reached their threshold),
    `names` (name rules that matched), the content `kind`, and `skipped` (why the content was not read)."""

    matches: tuple[Match, ...] = ()
    names: tuple[str, ...] = ()
    kind: str = "binary"
    skipped: str | None = None

    @property
    def detectors(self) -> tuple[str, ...]:
        """Names of every detector and name rule that found something, sorted."""
        return tuple(sorted({m.detector for m in self.matches} | set(self.names)))

    @property
    def counts(self) -> dict[str, int]:
        """Matches per detector (a name rule counts 1)."""
        c = Counter(m.detector for m in self.matches)
        c.update(self.names)
        return dict(sorted(c.items()))

    @property
    def texts(self) -> tuple[str, ...]:
        """The distinct matched texts (in memory only: what a protect-parts rule protects)."""
        return tuple(dict.fromkeys(m.text for m in self.matches))

    def __bool__(self) -> bool:
        return bool(self.matches or self.names)


def classify(name: str, data: bytes, rules: DetectRules | None = None) -> Findings:
    """The findings in the object `name` with content `data` under `rules` (the default rules when None)."""
    rules = rules or DetectRules()
    if rules.skipped(name):
        return Findings(skipped="skip pattern")
    names = _names(name, len(data), rules)
    if len(data) > rules.max_size:
        return Findings(names=names, kind=kind_of(name, data[:8192]), skipped="too large")
    try:
        kind, text = extract_text(name, data, max_chars=rules.max_chars)
    except ExtractError as e:
        return Findings(names=names, kind=kind_of(name, data), skipped=f"unreadable: {e}"[:200])
    matches: list[Match] = []
    opts = DetectorOptions(phone_region=rules.phone_region)
    for det, finder in DETECTORS.items():
        rule = rules.rule(det)
        if rule.enabled and text:
            found = [Match(det, kind_, s, e, t) for s, e, t, kind_ in finder(text, opts)]
            if len(found) >= rule.threshold:
                matches += found
    for custom in rules.custom:
        found = [Match(custom.name, "custom", m.start(), m.end(), m.group()) for m in _finditer(custom, text)]
        if found and len(found) >= custom.threshold:
            matches += found
    return Findings(matches=tuple(matches), names=names, kind=kind)


def classify_name(name: str, size: int, rules: DetectRules | None = None) -> Findings:
    """The findings of an object not read (larger than `rules.max_size`): its name and size rules only."""
    rules = rules or DetectRules()
    if rules.skipped(name):
        return Findings(skipped="skip pattern")
    return Findings(names=_names(name, size, rules), kind=kind_of(name, b""), skipped="too large")


def _names(name: str, size: int, rules: DetectRules) -> tuple[str, ...]:
    base = PurePosixPath(name).name.lower()
    return tuple(
        r.name
        for r in rules.names
        if any(fnmatch.fnmatchcase(base, p.lower()) for p in r.patterns)
        and size >= r.min_size
        and (r.max_size is None or size <= r.max_size)
    )


def _finditer(custom: CustomDetector, text: str) -> Iterator[re.Match[str]]:
    for m in custom.pattern.finditer(text):
        if m.end() > m.start():
            yield m


# -- rules files -----------------------------------------------------------------------------------------


def load_rules(path: str | Path) -> DetectRules:
    """The `[detect]` table of a TOML or JSON rules file (docs/protector.md#detection-rules); a file without
    one gives the default rules. Other tables (the protection `[[rules]]`) are left to their readers."""
    p = Path(path)
    with p.open("rb") as f:
        raw = f.read(MAX_RULES_FILE + 1)
    if len(raw) > MAX_RULES_FILE:
        raise UsageError(f"{p}: larger than {MAX_RULES_FILE} bytes")
    try:
        doc = json.loads(raw) if p.suffix.lower() == ".json" else tomllib.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise UsageError(f"{p}: not valid {'JSON' if p.suffix.lower() == '.json' else 'TOML'}: {e}") from None
    return rules_from(doc.get("detect", {}) if isinstance(doc, dict) else None, str(p))


def rules_from(table: Any, where: str = "rules") -> DetectRules:
    """`DetectRules` from a parsed `[detect]` table (`UsageError` naming the bad entry)."""
    if not isinstance(table, dict):
        raise UsageError(f"{where}: [detect] must be a table")
    _only(table, {"detectors", "custom", "names", "max_size", "max_chars", "skip", "phone_region"}, f"{where} [detect]")
    detectors: dict[str, DetectorRule] = {}
    for name, d in _table(table.get("detectors", {}), f"{where} [detect.detectors]").items():
        if name not in DETECTORS:
            raise UsageError(f"{where}: unknown detector {name!r} (known: {', '.join(DETECTORS)})")
        d = _table(d, f"{where} [detect.detectors.{name}]")
        _only(d, {"enabled", "threshold"}, f"{where} [detect.detectors.{name}]")
        detectors[name] = DetectorRule(
            enabled=_bool(d.get("enabled", True), f"{name}.enabled"),
            threshold=_int(d.get("threshold", 1), f"{name}.threshold", 1),
        )
    custom = []
    for i, c in enumerate(_list(table.get("custom", []), f"{where} [[detect.custom]]")):
        c = _table(c, f"{where} [[detect.custom]] #{i + 1}")
        _only(c, {"name", "pattern", "threshold", "ignore_case"}, f"{where} [[detect.custom]] #{i + 1}")
        name = _detector_name(c.get("name"), where)
        if name in DETECTORS:
            raise UsageError(f"{where}: custom detector {name!r} has a built-in detector's name")
        try:
            flags = re.IGNORECASE if _bool(c.get("ignore_case", False), f"{name}.ignore_case") else 0
            pattern = re.compile(str(c.get("pattern", "")), flags)
        except re.error as e:
            raise UsageError(f"{where}: custom detector {name!r}: bad regular expression ({e})") from None
        if not pattern.pattern:
            raise UsageError(f"{where}: custom detector {name!r} needs a pattern")
        custom.append(CustomDetector(name, pattern, _int(c.get("threshold", 1), f"{name}.threshold", 1)))
    names = list(DEFAULT_NAME_RULES)
    for i, n in enumerate(_list(table.get("names", []), f"{where} [[detect.names]]")):
        n = _table(n, f"{where} [[detect.names]] #{i + 1}")
        _only(n, {"name", "patterns", "min_size", "max_size"}, f"{where} [[detect.names]] #{i + 1}")
        rule_name = _detector_name(n.get("name"), where)
        names = [r for r in names if r.name != rule_name]
        max_size = n.get("max_size")
        names.append(
            NameRule(
                rule_name,
                tuple(str(p) for p in _list(n.get("patterns", []), f"{rule_name}.patterns")),
                _int(n.get("min_size", 0), f"{rule_name}.min_size", 0),
                None if max_size is None else _int(max_size, f"{rule_name}.max_size", 0),
            )
        )
    default = DetectRules()
    return DetectRules(
        detectors=detectors,
        custom=tuple(custom),
        names=tuple(names),
        max_size=_int(table.get("max_size", default.max_size), "max_size", 0),
        max_chars=_int(table.get("max_chars", default.max_chars), "max_chars", 1),
        skip=tuple(str(s) for s in _list(table.get("skip", list(default.skip)), "skip")),
        phone_region=str(table.get("phone_region", default.phone_region)).upper(),
    )


def _only(d: Mapping[str, Any], keys: set[str], where: str) -> None:
    extra = set(d) - keys
    if extra:
        raise UsageError(f"{where}: unknown key {sorted(extra)[0]!r} (allowed: {', '.join(sorted(keys))})")


def _table(v: Any, where: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise UsageError(f"{where}: must be a table")
    return v


def _list(v: Any, where: str) -> list[Any]:
    if not isinstance(v, list):
        raise UsageError(f"{where}: must be a list")
    return v


def _bool(v: Any, where: str) -> bool:
    if not isinstance(v, bool):
        raise UsageError(f"{where}: must be true or false")
    return v


def _int(v: Any, where: str, minimum: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise UsageError(f"{where}: must be a whole number >= {minimum}")
    return v


def _detector_name(v: Any, where: str) -> str:
    if not isinstance(v, str) or not _NAME.fullmatch(v):
        raise UsageError(f"{where}: a detector name is lowercase letters, digits and '_' ({v!r})")
    return v
