"""The `c11-temporary-keys/v1` stanza (docs/format.md §2.7): which recipient keys are temporary keys.

Non-critical and informative: a writer that encrypted to temporary keys (held by a key server for people who
have not registered yet, so not zero-trust) lists their key IDs, 16 bytes each, in its body. Readers show
those recipients as "not zero-trust" and offer to re-encrypt.
"""

from __future__ import annotations

from collections.abc import Iterable

from c11.format.header import Header, Stanza

TEMPORARY = "c11-temporary-keys/v1"


def stanza(key_ids: Iterable[bytes]) -> Stanza:
    ids = sorted(set(key_ids))
    if any(len(k) != 16 for k in ids):
        raise ValueError("key IDs are 16 bytes")
    return Stanza(TEMPORARY, b"".join(ids), critical=False)


def key_ids(header: Header) -> set[bytes]:
    """Key IDs the header's temporary-keys stanza lists (empty without one; malformed bodies list nothing)."""
    out: set[bytes] = set()
    for s in header.stanzas:
        if s.type == TEMPORARY and len(s.body) % 16 == 0:
            out.update(s.body[i : i + 16] for i in range(0, len(s.body), 16))
    return out
