"""Shared helpers of the PDF, image and structured-text handlers (docs/indoc-media.md).

Placeholders carry their part number, so a placeholder swapped or moved to another place is caught
by the placeholder hash bound in each part. A part's recipients are its selector's own (`=>KEYS` or
`part_recipients`) or the document's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence

from c11.errors import IntegrityError, UsageError
from c11.indoc import parts as P
from c11.indoc.selectors import Selector
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey

#: "Protected with c11 (part 3): open it with c11 to read this part"
PLACEHOLDER_RE = re.compile(r"Protected with c11 \(part (\d+)\): open it with c11 to read this part")
ORIGINAL = "original"


def placeholder(n: int) -> str:
    """The text that stands for part `n`."""
    return f"Protected with c11 (part {n}): open it with c11 to read this part"


def numbers(sel: Selector, limit: int, what: str) -> list[int]:
    """The 1-based numbers a range selector covers, up to `limit` (open ranges end there)."""
    out: list[int] = []
    for lo, hi in sel.ranges:
        if lo > limit:
            raise UsageError(f"{sel.text!r}: there are only {limit} {what}")
        hi = limit if hi is None else hi
        if hi > limit:
            raise UsageError(f"{sel.text!r}: there are only {limit} {what}")
        out.extend(range(lo, hi + 1))
    return out


def intersection(recipient_sets: Iterable[Sequence[PublicKey] | None], default: Sequence[PublicKey]) -> list[PublicKey]:
    """Keys present in every set (None stands for `default`): who may open every part."""
    result: dict[bytes, PublicKey] | None = None
    for rs in recipient_sets:
        d = {r.key_id: r for r in (default if rs is None else rs)}
        result = d if result is None else {k: v for k, v in result.items() if k in d}
    return list((result or {}).values())


def same_keys(a: Sequence[PublicKey] | None, b: Sequence[PublicKey] | None, default: Sequence[PublicKey]) -> bool:
    """Whether two recipient sets (None: `default`) hold the same keys."""
    ka = {r.key_id for r in (default if a is None else a)}
    kb = {r.key_id for r in (default if b is None else b)}
    return ka == kb


def check_placeholders(env: P.Envelope, current: dict[str, bytes], skip: Iterable[str] = ()) -> None:
    """Every protected part (but `skip`) must have its placeholder in place and unedited."""
    skipped = set(skip)
    known = {p.location for p in env.parts}
    for p in env.parts:
        if p.location in skipped:
            continue
        cur = current.get(p.location)
        if cur is None:
            raise IntegrityError(f"protected part {p.location!r} is missing from the document (moved or deleted)")
        if hashlib.sha256(cur).digest() != p.placeholder_sha256:
            raise IntegrityError(f"the placeholder of protected part {p.location!r} was edited, moved or swapped")
    extra = set(current) - known
    if extra:
        raise IntegrityError(
            f"the document has placeholders with no protected part (moved or duplicated): {sorted(extra)[:3]}"
        )


def open_checked(
    env: P.Envelope, identities: Sequence[Identity], current: dict[str, bytes], skip: Iterable[str] = ()
) -> P.Opened:
    """Check the placeholders, then open every part the identities may open."""
    check_placeholders(env, current, skip)
    return P.open_parts(env, list(identities), None)
