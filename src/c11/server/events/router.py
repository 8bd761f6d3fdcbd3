"""HTTP routes of usage monitoring (docs/organizations.md), for admins holding `read:events-org`: events of their own
organization with filters and keyset pagination, counts per day, and a streamed CSV export.

Before answering, each route indexes the log entries appended since the last query (`indexer.run`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from c11.log.entries import canonical_json, rfc3339
from c11.server.context import Ctx, ServerContext
from c11.server.events import service
from c11.server.events.indexer import indexer
from c11.server.logsrv.service import log_service
from c11.server.orgs.permissions import OrgCaller, require_org_permission
from c11.server.problems import responses

router = APIRouter(prefix="/api/v1/org/events", tags=["events"], responses=responses(401, 403, 422))
Reader = Annotated[OrgCaller, Depends(require_org_permission("read:events-org"))]

User = Annotated[str | None, Query(max_length=320, description="Only events by this email")]
Action = Annotated[str | None, Query(max_length=400, description="Only these actions (comma-separated)")]
Doc = Annotated[str | None, Query(max_length=36, description="Only events about this document ID")]
Since = Annotated[str | None, Query(max_length=64, description="From (inclusive): date or RFC 3339 time")]
Until = Annotated[str | None, Query(max_length=64, description="Before (exclusive): date or RFC 3339 time")]
Order = Annotated[Literal["desc", "asc"], Query(description="desc: newest first")]


class EventOut(BaseModel):
    index: int
    time: str
    action: str
    actor: str | None
    actor_hash: str | None
    doc_id: str | None
    target: str | None
    target_email: str | None
    detail: dict[str, Any]


class EventsOut(BaseModel):
    events: list[EventOut]
    next_cursor: str | None
    indexed: int


class DayOut(BaseModel):
    day: str
    total: int
    counts: dict[str, int]


class DailyOut(BaseModel):
    since: str
    until: str
    days: list[DayOut]
    indexed: int


class ActorOut(BaseModel):
    actor: str | None
    actor_hash: str
    total: int


class TopOut(BaseModel):
    since: str
    until: str
    actors: list[ActorOut]
    indexed: int


def _json(obj: object) -> Response:
    return Response(canonical_json(obj), media_type="application/json")


def _filter(
    caller: OrgCaller, user: str | None, action: str | None, doc: str | None, since: str | None, until: str | None
) -> service.EventFilter:
    return service.EventFilter.parse(caller.org_id, user, action, doc, since, until)


@contextmanager
def _reader(ctx: ServerContext) -> Iterator[Session]:
    """A read-only session on the log service's autocommit engine (no BEGIN/COMMIT round trips)."""
    with log_service(ctx).read_engine.connect() as conn, Session(bind=conn) as s:
        yield s


def _catch_up(ctx: Ctx, s: Session) -> int:
    """Index what the log gained since the last query; the number of entries indexed in all."""
    return indexer(ctx).catch_up(s)[0]


@router.get("", response_model=EventsOut, summary="Usage events of your organization")
def events(
    caller: Reader,
    ctx: Ctx,
    user: User = None,
    action: Action = None,
    doc: Doc = None,
    since: Since = None,
    until: Until = None,
    order: Order = "desc",
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 100,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")] = None,
) -> Response:
    """Events (metadata only), newest first; pass `next_cursor` back as `cursor` for the next page. Each event
    names its log entry (`index`): `GET /api/v1/log/proof/inclusion?index=` proves it."""
    f = _filter(caller, user, action, doc, since, until)
    with _reader(ctx) as s:
        indexed = _catch_up(ctx, s)
        items, nxt = service.page(s, f, limit, cursor, order)
    return _json({"events": items, "next_cursor": nxt, "indexed": indexed})


@router.get("/daily", response_model=DailyOut, summary="Usage events per day and action")
def daily(
    caller: Reader,
    ctx: Ctx,
    user: User = None,
    action: Action = None,
    doc: Doc = None,
    since: Since = None,
    until: Until = None,
) -> Response:
    """Counts per UTC day and action; without `since`, the 30 days before `until` (default: end of today)."""
    f = service.default_range(_filter(caller, user, action, doc, since, until))
    with _reader(ctx) as s:
        indexed = _catch_up(ctx, s)
        days = service.daily(s, f)
    return _json({"since": _ts(f.since), "until": _ts(f.until), "days": days, "indexed": indexed})


@router.get("/top", response_model=TopOut, summary="The most active people")
def top(
    caller: Reader,
    ctx: Ctx,
    action: Action = None,
    doc: Doc = None,
    since: Since = None,
    until: Until = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> Response:
    """Events per person (most first) in the range; without `since`, the 30 days before `until` (default: end
    of today). `actor` is the member's email, or null for someone outside the organization (`actor_hash`)."""
    f = service.default_range(_filter(caller, None, action, doc, since, until))
    with _reader(ctx) as s:
        indexed = _catch_up(ctx, s)
        actors = service.top_actors(s, f, limit)
    return _json({"since": _ts(f.since), "until": _ts(f.until), "actors": actors, "indexed": indexed})


@router.get(
    ".csv",
    response_class=StreamingResponse,
    summary="Usage events as CSV",
    responses={200: {"content": {"text/csv": {}}}},
)
def events_csv(
    caller: Reader,
    ctx: Ctx,
    user: User = None,
    action: Action = None,
    doc: Doc = None,
    since: Since = None,
    until: Until = None,
    order: Order = "desc",
) -> StreamingResponse:
    """Every matching event (RFC 4180, header row, CRLF; cells a spreadsheet would run as a formula start
    with `'`), streamed page by page."""
    f = _filter(caller, user, action, doc, since, until)
    with _reader(ctx) as s:
        _catch_up(ctx, s)
    return StreamingResponse(
        service.csv_lines(lambda: _reader(ctx), f, order),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": 'attachment; filename="c11-events.csv"'},
    )


def _ts(t: datetime | None) -> str | None:
    return rfc3339(t) if t is not None else None
