"""Client side of usage monitoring (docs/organizations.md): your organization's events, counts per day, CSV export.

    with Client.from_environment() as c:
        for e in c.events.iterate(user="bob@example.com", since="2026-11-01"):
            print(e.time, e.action, e.doc_id)

Needs an admin holding `read:events-org` (a machine token also needs the scope `org:admin`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx

from c11.client._http import HttpCore, _error
from c11.errors import ServerError
from c11.log.entries import parse_rfc3339, rfc3339

#: Every action an event can have (see docs/organizations.md, "Usage events").
ACTIONS = (
    "protect",
    "open",
    "refused_open",
    "share",
    "revoke",
    "restore",
    "expiry",
    "invite",
    "key_change",
    "admin",
    "shard",
)
When = datetime | date | str | None


@dataclass(frozen=True)
class Event:
    """One usage event: log entry `index` says it (prove it with `client.log.prove(index)`)."""

    index: int
    time: datetime
    action: str
    actor: str | None  # the member's email; None for someone outside the organization
    actor_hash: str | None
    doc_id: str | None
    target: str | None
    target_email: str | None
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Event:
        return cls(
            int(d["index"]),
            parse_rfc3339(d["time"]),
            d["action"],
            d.get("actor"),
            d.get("actor_hash"),
            d.get("doc_id"),
            d.get("target"),
            d.get("target_email"),
            dict(d.get("detail") or {}),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "time": rfc3339(self.time, precise=True),
            "action": self.action,
            "actor": self.actor,
            "actor_hash": self.actor_hash,
            "doc_id": self.doc_id,
            "target": self.target,
            "target_email": self.target_email,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class EventsPage:
    events: list[Event]
    next_cursor: str | None
    indexed: int  # log entries the server had indexed when answering


@dataclass(frozen=True)
class DayCount:
    day: date
    total: int
    counts: dict[str, int]


def _when(value: When) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return rfc3339(value if value.tzinfo else value.replace(tzinfo=UTC), precise=True)
    return value.isoformat()


def _params(
    user: str | None,
    action: str | list[str] | tuple[str, ...] | None,
    since: When,
    until: When,
    doc: str | None,
    **more: Any,
) -> dict[str, Any]:
    actions = ",".join(action) if isinstance(action, (list, tuple)) else action
    p = {"user": user, "action": actions or None, "since": _when(since), "until": _when(until), "doc": doc, **more}
    return {k: v for k, v in p.items() if v is not None}


class EventsAPI:
    """The /api/v1/org/events routes."""

    def __init__(self, core: HttpCore) -> None:
        self._core = core

    def query(
        self,
        *,
        user: str | None = None,
        action: str | list[str] | None = None,
        since: When = None,
        until: When = None,
        doc: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
        order: str = "desc",
    ) -> EventsPage:
        """One page of events (newest first unless `order="asc"`); `since` inclusive, `until` exclusive."""
        d = self._core.request(
            "GET",
            "/api/v1/org/events",
            params=_params(user, action, since, until, doc, limit=limit, cursor=cursor, order=order),
        )
        return EventsPage([Event.from_json(e) for e in d["events"]], d.get("next_cursor"), int(d["indexed"]))

    def iterate(self, *, page_size: int = 500, **filters: Any) -> Iterator[Event]:
        """Every matching event, page after page (the filters of `query`)."""
        cursor = None
        while True:
            p = self.query(limit=page_size, cursor=cursor, **filters)
            yield from p.events
            cursor = p.next_cursor
            if cursor is None:
                return

    def daily(
        self,
        *,
        user: str | None = None,
        action: str | list[str] | None = None,
        since: When = None,
        until: When = None,
        doc: str | None = None,
    ) -> list[DayCount]:
        """Events per UTC day and action (days without events left out); default range: the last 30 days."""
        d = self._core.request("GET", "/api/v1/org/events/daily", params=_params(user, action, since, until, doc))
        return [DayCount(date.fromisoformat(x["day"]), int(x["total"]), dict(x["counts"])) for x in d["days"]]

    def csv(
        self,
        *,
        user: str | None = None,
        action: str | list[str] | None = None,
        since: When = None,
        until: When = None,
        doc: str | None = None,
        order: str = "desc",
    ) -> Iterator[bytes]:
        """The matching events as CSV (RFC 4180, with a header row), streamed in chunks of bytes."""
        core = self._core
        headers = {"authorization": f"Bearer {core.token}"} if core.token else {}
        try:
            with core._http.stream(
                "GET",
                "/api/v1/org/events.csv",
                headers=headers,
                params=_params(user, action, since, until, doc, order=order),
            ) as r:
                if not r.is_success:
                    r.read()
                    raise _error(r)
                yield from r.iter_bytes()
        except httpx.HTTPError as e:
            raise ServerError(
                f"cannot reach {core.server} ({type(e).__name__}): is the server running, and is the URL right?", 0
            ) from None
