"""Online policy in the SDK (docs/keyserver.md, Online policy): encrypt with a key-server part, and open such files.

    from c11 import files, online
    from c11.client import Client

    with Client.from_environment() as c:
        seal = online.prepare(c, me, [(None, friend.public)], expires=None)   # registers the policy
        files.encrypt_paths([Path("a.pdf")], Path("a.pdf.c11"), [friend.public], me,
                              options=seal.options())
        with online.releasing(c) as release:                                  # asks the key server for B
            files.decrypt_path(Path("a.pdf.c11"), Path("a.pdf"), [friend, release])

See docs/keyserver.md for the protocol and docs/format.md §2.6 for the stanza.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from c11.errors import OnlinePolicyError, UsageError
from c11.format import online as _fmt
from c11.format.header import Header, Stanza
from c11.format.online import ONLINE, OnlineSeal, find_stanza
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey


class Client(Protocol):
    """What the online policy needs of a client: a logged-in `c11.Client` (passed in, never imported here)."""

    server: str
    keyserver: Any

    def whoami(self) -> Any: ...

    def close(self) -> None: ...


__all__ = ["ONLINE", "OnlineSeal", "find_stanza", "parse_time", "prepare", "releasing"]


def prepare(
    client: Client,
    sender: Identity,
    recipients: Sequence[tuple[str | None, PublicKey]],
    *,
    expires: int | None = None,
    include_sender: bool = True,
    author_email: str | None = None,
) -> OnlineSeal:
    """Draw the key parts of a new document for `recipients` ((email or None, key) pairs) and register
    its policy with the key server (the logged-in user is the author). Pass `seal.options()` on."""
    author = author_email or client.whoami().email
    members: list[tuple[str | None, PublicKey | None]] = list(recipients)
    if include_sender:
        members.append((author, sender.public))
    seal: OnlineSeal = client.keyserver.prepare(author, members, expires)
    client.keyserver.register(seal, sorted({e for e, _ in members if e}))
    return seal


@contextmanager
def releasing(client: Client | Callable[[], Client]) -> Iterator[_fmt.Release]:
    """A release to pass to decryption next to the identities: opening a file with an online policy asks the
    key server of `client` (or of the client the factory makes, on first need) for its part, sealed to the
    recipient key that opened the file. A client made by the factory is closed at the end of the block."""
    made: list[Client] = []

    def fetch(stanza: Stanza, header: Header, policy: _fmt.Policy, identity: Identity) -> bytes:
        if not made:
            made.append(client() if callable(client) else client)
        c = made[0]
        if c.server.rstrip("/") != policy.server.rstrip("/"):
            raise OnlinePolicyError(
                f"this file's key server is {policy.server}, but the client is for {c.server}", server=policy.server
            )
        part: bytes = c.keyserver.release(stanza, identity)
        return part

    try:
        yield _fmt.Release(fetch)
    finally:
        if made and made[0] is not client:
            made[0].close()


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_time(text: str, now: float | None = None) -> datetime:
    """An expiry: RFC 3339 (`2026-12-31T18:00:00Z`), a date (`2026-12-31`, end of day UTC excluded: 00:00),
    or a duration from now (`30m`, `12h`, `7d`, `2w`)."""
    t = text.strip()
    now = time.time() if now is None else now
    if t and t[:-1].isdigit() and t[-1].lower() in _UNITS:
        return datetime.fromtimestamp(now, UTC) + timedelta(seconds=int(t[:-1]) * _UNITS[t[-1].lower()])
    try:
        when = datetime.fromisoformat(t.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(f"{text!r} is not a time: use 2026-12-31, 2026-12-31T18:00:00Z, or 30m/12h/7d/2w") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
