"""Protection rules: what the protector does with an object whose content the detectors flagged.

A rules file (TOML) lists rules in order; the first whose `detectors` and `paths` match an object decides:

    [[rules]]
    name = "payment data"
    detectors = ["payment_card", "us_ssn"]   # any of these found (empty or absent: any finding)
    paths = ["finance/*"]                    # fnmatch patterns on the key (absent: every key)
    action = "protect-file"                  # or "protect-parts", or "report"
    recipients = ["group:finance", "c11:mlkem768x25519:..."]

    [detect]                                 # optional: the detectors' settings (c11.protector.detect)

`protect-file` replaces the object by `KEY.c11` for the recipients; `protect-parts` protects only the matched text
inside the document (docx, xlsx, pdf, json, csv, yaml, md), which keeps its name and format; `report` records the
finding only. Every protection also gets the organization's recovery keys (the SDK's organization rules).
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from c11.errors import UsageError
from c11.protector.detect import DetectRules, rules_from

PROTECT_FILE, PROTECT_PARTS, REPORT = "protect-file", "protect-parts", "report"
ACTIONS = (PROTECT_FILE, PROTECT_PARTS, REPORT)
#: largest rules file read (bytes)
MAX_RULES_FILE = 1 << 20
_KEYS = {"name", "detectors", "paths", "action", "recipients", "recipient_files", "note"}


@dataclass(frozen=True)
class Rule:
    """One rule: when (`detectors`, `paths`) and what (`action`, for `recipients`)."""

    name: str
    action: str
    detectors: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    recipient_files: tuple[str, ...] = ()
    note: str = ""

    def matches(self, key: str, found: Iterable[str]) -> bool:
        """Whether this rule applies to `key` with these detectors found (at least one)."""
        found = set(found)
        if not found or (self.detectors and not found & set(self.detectors)):
            return False
        return not self.paths or any(fnmatch.fnmatchcase(key, p) for p in self.paths)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "action": self.action,
            "detectors": list(self.detectors),
            "paths": list(self.paths),
            "recipients": list(self.recipients),
            "recipient_files": list(self.recipient_files),
            "note": self.note,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any], where: str = "rule") -> Rule:
        """Strictly from a table of the rules file (a one-line `UsageError` names what is wrong)."""
        unknown = set(d) - _KEYS
        if unknown:
            raise UsageError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        action = d.get("action")
        if action not in ACTIONS:
            raise UsageError(f"{where}: action must be one of {', '.join(ACTIONS)}")
        lists = {
            k: _strings(d.get(k, []), f"{where}: {k}") for k in ("detectors", "paths", "recipients", "recipient_files")
        }
        name, note = d.get("name", where), d.get("note", "")
        if not isinstance(name, str) or not isinstance(note, str):
            raise UsageError(f"{where}: name and note must be strings")
        if action != REPORT and not (lists["recipients"] or lists["recipient_files"]):
            raise UsageError(f"{where}: action {action} needs recipients or recipient_files")
        return cls(name, action, note=note, **lists)


def _strings(v: Any, what: str) -> tuple[str, ...]:
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        raise UsageError(f"{what} must be a list of non-empty strings")
    return tuple(v)


@dataclass(frozen=True)
class Rules:
    """The rules in order (`choose` gives the first that applies), the detection settings of the same file's
    `[detect]` table (c11.protector.detect), and the TOML text they came from (jobs carry it to the workers)."""

    rules: tuple[Rule, ...]
    detect: DetectRules = field(default_factory=DetectRules)
    text: str = ""

    def choose(self, key: str, found: Iterable[str]) -> Rule | None:
        found = tuple(found)
        return next((r for r in self.rules if r.matches(key, found)), None)

    def to_json(self) -> list[dict[str, Any]]:
        return [r.to_json() for r in self.rules]

    @classmethod
    def from_json(cls, items: Sequence[Mapping[str, Any]]) -> Rules:
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise UsageError("rules must be a list of tables")
        return cls(tuple(Rule.from_json(d, f"rule {i + 1}") for i, d in enumerate(items)))


def parse_rules(text: str, where: str = "rules") -> Rules:
    """The rules of a TOML text: `[[rules]]` tables and an optional `[detect]` table (one-line `UsageError`)."""
    if len(text) > MAX_RULES_FILE:
        raise UsageError(f"{where}: rules file larger than {MAX_RULES_FILE} bytes")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{where}: not a valid TOML rules file ({e})") from None
    extra = set(doc) - {"rules", "detect"}
    if extra:
        raise UsageError(f"{where}: unknown top-level key {sorted(extra)[0]!r} (allowed: [[rules]], [detect])")
    parsed = Rules.from_json(doc.get("rules", []))
    if not parsed.rules:
        raise UsageError(f"{where}: no [[rules]] table")
    return Rules(parsed.rules, rules_from(doc.get("detect", {}), where), text)


def load_rules(path: str | Path) -> Rules:
    """The rules of a TOML file (`[[rules]]` tables, `[detect]`); a one-line `UsageError` when unreadable or wrong."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            raw = f.read(MAX_RULES_FILE + 1)
    except OSError as e:
        raise UsageError(f"{p}: cannot read the rules file ({e.strerror})") from None
    if len(raw) > MAX_RULES_FILE:
        raise UsageError(f"{p}: rules file larger than {MAX_RULES_FILE} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{p}: the rules file is not UTF-8 text") from None
    return parse_rules(text, str(p))
