"""Shared pieces of the protection tests: a protector on a folder, and a storage that crashes on demand."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from c11.client.sending import Sending
from c11.keys.identity import Identity
from c11.protector.protection import Classification, Protector
from c11.protector.rules import Rule, Rules
from c11.protector.state import StateDB
from c11.protector.storage._file import FileStorage

SSN = re.compile(rb"\b\d{3}-\d{2}-\d{4}\b")


def ssn_classifier(key: str, data: bytes) -> Classification:
    """A stand-in detector for the tests of the protection steps (the real detectors are tested by their own)."""
    texts = tuple(sorted({m.decode() for m in SSN.findall(data)}))
    return Classification(("us_ssn",) if texts else (), texts)


class Crash(BaseException):  # noqa: N818 - a simulated kill: no `except Exception` catches it
    """The process dies here."""


class CrashingStorage:
    """Delegates to `inner`, and dies at the `n`-th call of `method`, `when` "before" or "after" it runs."""

    def __init__(self, inner: Any, method: str, n: int, when: str) -> None:
        self._inner, self._method, self._n, self._when = inner, method, n, when
        self._calls = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name != self._method:
            return attr

        def wrapped(*a: Any, **kw: Any) -> Any:
            self._calls += 1
            if self._calls == self._n and self._when == "before":
                raise Crash(f"before {name} #{self._n}")
            out = attr(*a, **kw)
            if self._calls == self._n and self._when == "after":
                raise Crash(f"after {name} #{self._n}")
            return out

        return wrapped


def protector(root: Path, state: StateDB, me: Identity, rules: Rules, storage: Any = None, **kw: Any) -> Protector:
    return Protector(
        "docs", storage or FileStorage(root), state, rules, me, Sending(None), kw.pop("classify", ssn_classifier), **kw
    )


def file_rules(*recipients: Identity, paths: tuple[str, ...] = ()) -> Rules:
    return Rules((Rule("whole", "protect-file", paths=paths, recipients=tuple(r.public.line() for r in recipients)),))


def part_rules(*recipients: Identity) -> Rules:
    return Rules((Rule("parts", "protect-parts", recipients=tuple(r.public.line() for r in recipients)),))
