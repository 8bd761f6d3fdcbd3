"""HTTP routes of the log server: key, signed checkpoint, entries, inclusion and consistency proofs.

All public (anonymous callers allowed): outside auditors must be able to check the log. Hashes are base64.
Except the openings of v2 entries (docs/log.md section 7): a person's own (`/openings`, verified email) and
an organization admin's members' (`/openings/org`, permission read:events-org).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from c11.errors import ProofError
from c11.server.auth import Principal, require_scope
from c11.server.context import Ctx
from c11.server.logsrv import openings
from c11.server.logsrv.highwater import MAX_NOTE
from c11.server.logsrv.models import LogEntry
from c11.server.logsrv.service import MAX_PAGE, canonical_json, log_service
from c11.server.orgs.permissions import OrgCaller, require_org_permission
from c11.server.problems import Problem, responses


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    svc = await run_in_threadpool(log_service, app.state.ctx)  # create the log key at first start
    try:
        yield
    finally:
        svc.close()


public = APIRouter(prefix="/api/v1/log", tags=["log"], responses=responses(400, 422), lifespan=_lifespan)

_TEXT = "text/plain; charset=utf-8"
_JSON = "application/json"


def b64(h: bytes) -> str:
    return base64.b64encode(h).decode("ascii")


class EntryOut(BaseModel):
    index: int
    data: str


class EntriesOut(BaseModel):
    start: int
    end: int
    tree_size: int
    entries: list[EntryOut]


class InclusionOut(BaseModel):
    index: int
    tree_size: int
    proof: list[str]


class ConsistencyOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    first: int = Field(alias="from")
    second: int = Field(alias="to")
    proof: list[str]


def _json(obj: object) -> Response:
    return Response(canonical_json(obj), media_type=_JSON)


def _out_of_range(detail: str) -> Problem:
    return Problem(400, "Out of range", detail, "log-range")


@public.get(
    "/key",
    response_class=Response,
    summary="The log's verifier key (signed-note key string)",
    responses={200: {"content": {"text/plain": {}}}},
)
def get_key(ctx: Ctx) -> Response:
    """`<origin>+<key id>+<base64 key>`: pin it once, then every checkpoint must verify with it."""
    return Response(log_service(ctx).verifier_key + "\n", media_type=_TEXT)


@public.get(
    "/checkpoint",
    response_class=Response,
    summary="The latest signed checkpoint",
    responses={200: {"content": {"text/plain": {}}}},
)
def get_checkpoint(ctx: Ctx) -> Response:
    """A C2SP tlog-checkpoint (origin, size, root hash) in a signed note."""
    svc = log_service(ctx)
    with ctx.db.session() as s:
        _, note = svc.current_checkpoint(s)
    return Response(note, media_type=_TEXT)


@public.get("/entries", response_model=EntriesOut, summary="A page of log entries")
def get_entries(
    ctx: Ctx,
    start: Annotated[int, Query(ge=0)] = 0,
    end: Annotated[int | None, Query(ge=0, description="Exclusive; default start + 100")] = None,
) -> Response:
    """Entries `[start, end)`, at most 1000; each `data` is the exact entry text hashed into the tree."""
    svc = log_service(ctx)
    with ctx.db.session() as s:
        size, _ = svc.state(s)
        end = min(start + 100, size) if end is None else end
        if end > size or start > end:
            raise _out_of_range(f"the log has {size} entries; ask for 0 <= start <= end <= {size}")
        end = min(end, start + MAX_PAGE)
        rows = s.execute(
            select(LogEntry.idx, LogEntry.data).where(LogEntry.idx >= start, LogEntry.idx < end).order_by(LogEntry.idx)
        ).all()
    return _json({"start": start, "end": end, "tree_size": size, "entries": [{"index": i, "data": d} for i, d in rows]})


@public.get("/proof/inclusion", response_model=InclusionOut, summary="Inclusion proof of an entry")
def get_inclusion(
    ctx: Ctx,
    index: Annotated[int, Query(ge=0)],
    size: Annotated[int | None, Query(ge=1, description="Tree size; default: now")] = None,
) -> Response:
    """RFC 9162 inclusion proof (bottom-up sibling hashes) of entry `index` in the tree of `size` entries."""
    svc = log_service(ctx)
    with ctx.db.session() as s:
        current, _ = svc.state(s)
        size = current if size is None else size
        if size > current or index >= size:
            raise _out_of_range(f"need index < size <= {current}")
        proof = svc.inclusion_proof(s, index, size)
    return _json({"index": index, "tree_size": size, "proof": [b64(h) for h in proof]})


@public.get("/proof/consistency", response_model=ConsistencyOut, summary="Consistency proof between sizes")
def get_consistency(
    ctx: Ctx,
    first: Annotated[int, Query(alias="from", ge=0)],
    second: Annotated[int | None, Query(alias="to", ge=0, description="default: now")] = None,
) -> Response:
    """RFC 9162 consistency proof that the tree of `to` entries extends the tree of `from` entries."""
    svc = log_service(ctx)
    with ctx.db.session() as s:
        current, _ = svc.state(s)
        second = current if second is None else second
        if second > current or first > second:
            raise _out_of_range(f"need from <= to <= {current}")
        proof = svc.consistency_proof(s, first, second)
    return _json({"from": first, "to": second, "proof": [b64(h) for h in proof]})


# -- key hand-overs and reported checkpoints (docs/log.md section 9, docs/server.md "Backup and restore") ----


class HandoverOut(BaseModel):
    index: int
    entry: str = Field(description="The `logkey` entry text; its `handover` member is the signed hand-over note")
    inclusion_proof: list[str]


class HandoversOut(BaseModel):
    tree_size: int
    checkpoint: str
    handovers: list[HandoverOut]


@public.get("/handovers", response_model=HandoversOut, summary="The log's key hand-overs, with inclusion proofs")
def get_handovers(ctx: Ctx) -> Response:
    """Every log key hand-over (oldest first), each proven in the signed checkpoint of this answer: a client
    that pinned an old key follows them to the current one."""
    svc = log_service(ctx)
    with ctx.db.session() as s:
        size, note = svc.current_checkpoint(s)
        rows = svc.handovers(s)
        proofs, _ = svc.proofs(s, size, [i for i, _ in rows]) if rows else ([], None)
    return _json(
        {
            "tree_size": size,
            "checkpoint": note.decode("utf-8"),
            "handovers": [
                {"index": i, "entry": d, "inclusion_proof": [b64(h) for h in p]}
                for (i, d), p in zip(rows, proofs, strict=True)
            ],
        }
    )


class WitnessOut(BaseModel):
    verdict: str = Field(description="consistent, rolled-back or forked")


@public.post(
    "/checkpoints",
    response_model=WitnessOut,
    responses=responses(409, 413),
    summary="Report a checkpoint of this log that a client or witness kept",
    openapi_extra={"requestBody": {"content": {"text/plain": {}}, "required": True}},
)
async def report_checkpoint(request: Request, ctx: Ctx) -> Response:
    """A signed checkpoint of this log (text/plain, at most 8 KiB). If the tree contradicts it (it is larger
    than the tree, or has another root): `409` `log-fork` with the verdict. A restored server not yet activated
    then refuses to append or to sign past it; an active one records and alerts only (docs/server.md)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_NOTE:
            raise Problem(413, "Too large", "A checkpoint note is at most 8 KiB.", "too-large")
    svc = log_service(ctx)
    try:
        verdict = await run_in_threadpool(svc.witness, bytes(body))
    except ProofError as e:
        raise Problem(400, "Not a checkpoint of this log", str(e), "bad-checkpoint") from None
    if verdict != "consistent":
        raise Problem(409, "Log fork", svc.frozen or verdict, "log-fork", verdict=verdict)
    return _json({"verdict": verdict})


# -- openings of v2 entries (not public) ------------------------------------------------------------------


class OpeningOut(BaseModel):
    index: int
    kind: str
    entry: str
    nonce: str = Field(description="base64 of the 32-byte actor nonce")
    private: str = Field(description="The canonical private JSON object the entry's actor commits to")
    inclusion_proof: list[str]


class OpeningsOut(BaseModel):
    tree_size: int
    checkpoint: str
    openings: list[OpeningOut]
    next_after: int | None


_After = Annotated[int, Query(ge=-1, description="Only entries with a larger log index")]
_Limit = Annotated[int, Query(ge=1, le=openings.MAX_PAGE)]


@public.get(
    "/openings",
    response_model=OpeningsOut,
    responses=responses(401, 403),
    summary="Openings of the log entries about you",
)
def own_openings(
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require_scope("documents:read"))],
    after: _After = -1,
    limit: _Limit = openings.MAX_PAGE,
) -> Response:
    """Every v2 entry naming your verified email (releases, shard actions, policy changes...), oldest first,
    with its opening and inclusion proof in the signed checkpoint."""
    if not principal.email_verified:
        raise Problem(
            403,
            "Email not verified",
            "Verify your email address to read the log entries about you.",
            "email-unverified",
        )
    return _json(openings.own(log_service(ctx), principal.email, after, limit))


@public.get(
    "/openings/org",
    response_model=OpeningsOut,
    responses=responses(401, 403),
    summary="Openings of the log entries about your organization's members",
)
def org_openings(
    ctx: Ctx,
    caller: Annotated[OrgCaller, Depends(require_org_permission("read:events-org"))],
    after: _After = -1,
    limit: _Limit = openings.MAX_PAGE,
) -> Response:
    """Every v2 entry naming a member of your organization, written after they were added."""
    return _json(openings.of_org(log_service(ctx), caller.org_id, after, limit))
