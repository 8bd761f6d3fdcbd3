"""Queries of an organization's usage events: a filtered page (keyset pagination), counts per day, CSV.

Every query names one organization; the filters (user, actions, document, time range) and the order
(`at`, `log_index`) match the indexes of `usage_events`, so a page costs an index range scan.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, String, cast, func, literal, select, tuple_
from sqlalchemy.orm import Session

from c11.log.entries import email_hash, parse_rfc3339, rfc3339
from c11.server.db import UTCDateTime
from c11.server.events import rollup
from c11.server.events.indexer import ACTIONS
from c11.server.events.models import UsageDaily, UsageDailyActor, UsageDailyPerson, UsageEvent
from c11.server.orgs.models import OrgMember
from c11.server.problems import Problem

MAX_PAGE = 1000
CSV_PAGE = 2000
CSV_COLUMNS = ("index", "time", "action", "actor", "actor_hash", "doc_id", "target", "target_email", "detail")
#: Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
_FORMULA = ("=", "+", "-", "@", "\t", "\r", "\n")


@dataclass(frozen=True)
class EventFilter:
    """What an admin asks for: one organization, and optionally a user, actions, a document, a time range."""

    org_id: str
    actor: str | None = None  # email hash
    actions: tuple[str, ...] = ()
    doc_id: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive

    @classmethod
    def parse(
        cls, org_id: str, user: str | None, action: str | None, doc: str | None, since: str | None, until: str | None
    ) -> EventFilter:
        """From query parameters; 422 problems for bad values."""
        actions = tuple(dict.fromkeys(a.strip() for a in (action or "").split(",") if a.strip()))
        unknown = [a for a in actions if a not in ACTIONS]
        if unknown:
            raise Problem(
                422, "Bad action", f"Unknown action {unknown[0]!r}; actions are {', '.join(ACTIONS)}.", "validation"
            )
        if user is not None and "@" not in user:
            raise Problem(422, "Bad user", "user must be an email address.", "validation")
        f = cls(
            org_id,
            email_hash(user) if user else None,
            actions,
            doc.strip().lower() if doc else None,
            parse_time(since, "since"),
            parse_time(until, "until"),
        )
        if f.since is not None and f.until is not None and f.until <= f.since:
            raise Problem(422, "Bad range", "until must be after since.", "validation")
        return f

    def where(self, q: Select) -> Select:
        q = q.where(UsageEvent.org_id == self.org_id)
        if self.actor is not None:
            q = q.where(UsageEvent.actor == self.actor)
        if len(self.actions) == 1:
            q = q.where(UsageEvent.action == self.actions[0])
        elif self.actions:
            q = q.where(UsageEvent.action.in_(self.actions))
        if self.doc_id is not None:
            q = q.where(UsageEvent.doc_id == self.doc_id)
        if self.since is not None:
            q = q.where(UsageEvent.at >= self.since)
        if self.until is not None:
            q = q.where(UsageEvent.at < self.until)
        return q


def parse_time(text: str | None, name: str) -> datetime | None:
    """RFC 3339 (with a zone) or a date YYYY-MM-DD (midnight UTC)."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    try:
        if "T" not in text.upper():
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        return parse_rfc3339(text).astimezone(UTC)
    except ValueError:
        raise Problem(
            422,
            "Bad time",
            f"{name} must be a date (2026-11-01) or an RFC 3339 time (2026-11-01T09:00:00Z).",
            "validation",
        ) from None


# -- pages ------------------------------------------------------------------------------------------------


def encode_cursor(at: datetime, index: int, order: str) -> str:
    raw = json.dumps([rfc3339(at, precise=True), index, order], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, order: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at_text, index, cursor_order = json.loads(raw)
        if cursor_order != order or not isinstance(index, int):
            raise ValueError
        return parse_rfc3339(at_text), index
    except (ValueError, TypeError):
        raise Problem(
            422, "Bad cursor", "cursor is not one this server returned (with the same order).", "validation"
        ) from None


def page(
    s: Session, f: EventFilter, limit: int, cursor: str | None = None, order: str = "desc"
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of events, newest first (`desc`) or oldest first, and the cursor of the next page."""
    rows = _rows(s, f, limit + 1, cursor, order)
    more = len(rows) > limit
    rows = rows[:limit]
    out = _to_json(s, f.org_id, rows)
    nxt = encode_cursor(rows[-1].at, rows[-1].log_index, order) if more else None
    return out, nxt


def _rows(s: Session, f: EventFilter, limit: int, cursor: str | None, order: str) -> list[Any]:
    q = f.where(
        select(
            UsageEvent.log_index,
            UsageEvent.at,
            UsageEvent.action,
            UsageEvent.actor,
            UsageEvent.member_id,
            UsageEvent.doc_id,
            UsageEvent.target,
            UsageEvent.target_member_id,
            UsageEvent.detail,
        )
    )
    key = tuple_(UsageEvent.at, UsageEvent.log_index)
    if cursor is not None:
        at, index = decode_cursor(cursor, order)
        after = tuple_(literal(at, UTCDateTime()), literal(index))
        q = q.where(key < after if order == "desc" else key > after)
    if order == "desc":
        q = q.order_by(UsageEvent.at.desc(), UsageEvent.log_index.desc())
    else:
        q = q.order_by(UsageEvent.at, UsageEvent.log_index)
    return list(s.execute(q.limit(limit)))


def _to_json(s: Session, org_id: str, rows: list[Any]) -> list[dict[str, Any]]:
    ids = {r.member_id for r in rows if r.member_id} | {r.target_member_id for r in rows if r.target_member_id}
    emails = (
        {
            i: e
            for i, e in s.execute(
                select(OrgMember.id, OrgMember.email).where(OrgMember.id.in_(sorted(ids)), OrgMember.org_id == org_id)
            )
        }
        if ids
        else {}
    )
    return [
        {
            "index": r.log_index,
            "time": rfc3339(r.at, precise=True),
            "action": r.action,
            "actor": emails.get(r.member_id) if r.member_id else None,
            "actor_hash": r.actor,
            "doc_id": r.doc_id,
            "target": r.target,
            "target_email": emails.get(r.target_member_id) if r.target_member_id else None,
            "detail": json.loads(r.detail or "{}"),
        }
        for r in rows
    ]


# -- counts per day ---------------------------------------------------------------------------------------


def daily(s: Session, f: EventFilter) -> list[dict[str, Any]]:
    """Events per UTC day and action in the filter's range, oldest day first (days without events left out).

    Whole days come from the `usage_daily` rollups (`usage_daily_actors` for one person), partial days at the
    edges and document filters from the events (`rollup`); without a range, from the events."""
    counts: dict[tuple[str, str], int] = {}
    for part, whole in _parts(f):
        rows = _daily_rollup(s, part, whole) if whole is not None else _daily_events(s, part)
        for d, action, n in rows:
            counts[(d, action)] = counts.get((d, action), 0) + n
    out: dict[str, dict[str, Any]] = {}
    for (d, action), n in sorted(counts.items()):
        item = out.setdefault(d, {"day": d, "total": 0, "counts": {}})
        item["counts"][action] = n
        item["total"] += n
    return list(out.values())


def _parts(f: EventFilter) -> list[tuple[EventFilter, tuple[str, str] | None]]:
    """`f` as filters over the events (whole day range None) and over the rollups (their [first, last) days)."""
    if f.doc_id is not None or f.since is None or f.until is None:
        return [(f, None)]
    whole, edges = rollup.split(f.since, f.until)
    parts: list[tuple[EventFilter, tuple[str, str] | None]] = [(replace(f, since=a, until=b), None) for a, b in edges]
    if whole is not None:
        parts.append((f, whole))
    return parts


def _daily_events(s: Session, f: EventFilter) -> list[tuple[str, str, int]]:
    if s.get_bind().dialect.name == "postgresql":
        day = cast(func.date(func.timezone("UTC", UsageEvent.at)), String)
    else:  # SQLite keeps UTC timestamps as text: "YYYY-MM-DD HH:MM:SS..."
        day = func.substr(UsageEvent.at, 1, 10)
    q = f.where(select(day.label("day"), UsageEvent.action, func.count().label("n"))).group_by(day, UsageEvent.action)
    return [(str(d)[:10], a, n) for d, a, n in s.execute(q)]


def _daily_rollup(s: Session, f: EventFilter, whole: tuple[str, str]) -> list[tuple[str, str, int]]:
    t: Any = UsageDailyActor if f.actor is not None else UsageDaily
    q = select(t.day, t.action, func.sum(t.n)).where(t.org_id == f.org_id, t.day >= whole[0], t.day < whole[1])
    if f.actor is not None:
        q = q.where(t.actor == f.actor)
    if f.actions:
        q = q.where(t.action.in_(f.actions))
    return [(d, a, int(n)) for d, a, n in s.execute(q.group_by(t.day, t.action))]


def top_actors(s: Session, f: EventFilter, limit: int = 10) -> list[dict[str, Any]]:
    """The most active people in the filter's range: events per actor (email hash), most first, with the
    member's email when they are a member of the organization (whole days from `usage_daily_actors`)."""
    totals: dict[str, int] = {}
    members: dict[str, str] = {}
    for part, whole in _parts(f):
        for actor, member_id, n in _top_rollup(s, part, whole) if whole is not None else _top_events(s, part):
            totals[actor] = totals.get(actor, 0) + n
            if member_id is not None and member_id > members.get(actor, ""):
                members[actor] = member_id
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    ids = sorted({members[a] for a, _ in ranked if a in members})
    emails = (
        {
            i: e
            for i, e in s.execute(
                select(OrgMember.id, OrgMember.email).where(OrgMember.id.in_(ids), OrgMember.org_id == f.org_id)
            )
        }
        if ids
        else {}
    )
    return [{"actor": emails.get(members[a]) if a in members else None, "actor_hash": a, "total": n} for a, n in ranked]


def _top_events(s: Session, f: EventFilter) -> list[tuple[str, str | None, int]]:
    q = (
        f.where(select(UsageEvent.actor, func.max(UsageEvent.member_id), func.count()))
        .where(UsageEvent.actor.is_not(None))
        .group_by(UsageEvent.actor)
    )
    return [(a, m, n) for a, m, n in s.execute(q)]


def _top_rollup(s: Session, f: EventFilter, whole: tuple[str, str]) -> list[tuple[str, str | None, int]]:
    t: Any = UsageDailyActor if f.actions or f.actor is not None else UsageDailyPerson
    q = select(t.actor, func.max(t.member_id), func.sum(t.n)).where(
        t.org_id == f.org_id, t.day >= whole[0], t.day < whole[1]
    )
    if f.actor is not None:
        q = q.where(t.actor == f.actor)
    if f.actions:
        q = q.where(t.action.in_(f.actions))
    return [(a, m, int(n)) for a, m, n in s.execute(q.group_by(t.actor))]


def default_range(f: EventFilter, days: int = 30) -> EventFilter:
    """`f` with a range of the last `days` days (to the end of today, UTC) where it gives none."""
    until = f.until or datetime.combine(datetime.now(UTC).date() + timedelta(days=1), datetime.min.time(), UTC)
    since = f.since or until - timedelta(days=days)
    return EventFilter(f.org_id, f.actor, f.actions, f.doc_id, since, until)


# -- CSV --------------------------------------------------------------------------------------------------


def safe_cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: a leading =, +, -, @, tab or CR gets a ' in front."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def csv_lines(
    reader: Callable[[], AbstractContextManager[Session]], f: EventFilter, order: str = "desc"
) -> Iterator[bytes]:
    """The events as RFC 4180 CSV (header row, CRLF, quoted when needed), a page of rows at a time, each
    read in a session of `reader()`."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    cursor = None
    while True:
        with reader() as s:
            items, cursor = page(s, f, CSV_PAGE, cursor, order)
        for e in items:
            writer.writerow(
                [
                    safe_cell(v)
                    for v in (
                        e["index"],
                        e["time"],
                        e["action"],
                        e["actor"],
                        e["actor_hash"],
                        e["doc_id"],
                        e["target"],
                        e["target_email"],
                        json.dumps(e["detail"], sort_keys=True, separators=(",", ":")),
                    )
                ]
            )
        yield buf.getvalue().encode("utf-8")
        buf.seek(0)
        buf.truncate()
        if cursor is None:
            return


__all__ = [
    "CSV_COLUMNS",
    "EventFilter",
    "MAX_PAGE",
    "csv_lines",
    "daily",
    "default_range",
    "page",
    "safe_cell",
    "top_actors",
]
