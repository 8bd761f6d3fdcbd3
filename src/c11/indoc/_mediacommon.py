"""Shared helpers of the PDF, image and structured-text handlers (docs/indoc-media.md).

Placeholders carry their part number, so a placeholder swapped or moved to another place is caught
by the placeholder hash bound in each part. Selectors are parsed by `c11.indoc.selectors`; a part's
recipients are its selector's own (`=>KEYS` or `part_recipients`) or the document's.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from c11.errors import IntegrityError, UsageError
from c11.indoc import parts as P

#: "Protected with c11 (part 3): open it with c11 to read this part"
PLACEHOLDER_RE = re.compile(r"Protected with c11 \(part (\d+)\): open it with c11 to read this part")
ORIGINAL = "original"


def placeholder(n: int) -> str:
    return f"Protected with c11 (part {n}): open it with c11 to read this part"


def parse_selectors(selectors: Sequence, matches: Sequence[str] = (), part_recipients: dict | None = None) -> list:
    """Parsed `c11.indoc.selectors.Selector`s (strings may carry `=>RECIPIENTS`); `--match`
    patterns become `match` selectors; `part_recipients` maps selector text -> public keys."""
    from c11.indoc import selectors as S

    return S.parse_all(list(selectors), list(matches), part_recipients)


def numbers(sel, limit: int, what: str) -> list[int]:
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


def intersection(recipient_sets: Iterable[Sequence | None], default: Sequence) -> list:
    """Keys present in every set (None stands for `default`): who may open every part."""
    result: dict[bytes, object] | None = None
    for rs in recipient_sets:
        rs = list(default if rs is None else rs)
        d = {r.key_id: r for r in rs}
        result = d if result is None else {k: v for k, v in result.items() if k in d}
    return list((result or {}).values())


def same_keys(a: Sequence | None, b: Sequence | None, default: Sequence) -> bool:
    ka = {r.key_id for r in (default if a is None else a)}
    kb = {r.key_id for r in (default if b is None else b)}
    return ka == kb


def check_placeholders(env: P.Envelope, current: dict[str, bytes], skip: Iterable[str] = ()) -> None:
    """Every protected part (but `skip`) must have its placeholder in place and unedited."""
    import hashlib

    skip = set(skip)
    known = {p.location for p in env.parts}
    for p in env.parts:
        if p.location in skip:
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


def open_checked(env: P.Envelope, identities, current: dict[str, bytes], skip: Iterable[str] = ()) -> P.Opened:
    check_placeholders(env, current, skip)
    return P.open_parts(env, list(identities), None)


def remaining(env: P.Envelope, opened: P.Opened) -> P.Envelope | None:
    """The envelope left after the groups the caller opened were restored (None: nothing left)."""
    opened_groups = {p.group for p in env.parts if p.location in opened.plaintexts}
    keep = [i for i in range(len(env.headers)) if i not in opened_groups]
    if not keep:
        return None
    remap = {old: new for new, old in enumerate(keep)}
    parts = [
        P.SealedPart(p.location, remap[p.group], p.nonce, p.ciphertext, p.placeholder_sha256)
        for p in env.parts if p.group in remap
    ]
    headers = [env.headers[i] for i in keep]
    raws = [env.header_bytes[i] if i < len(env.header_bytes) else env.headers[i].encode() for i in keep]
    return P.Envelope(env.doc_id, headers, parts, env.note, raws)
