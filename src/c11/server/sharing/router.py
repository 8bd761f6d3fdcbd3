"""Routes of sends and share links (docs/sharing.md).

Senders: `POST /api/v1/sends`, `GET /api/v1/sends`, `GET /api/v1/sends/{id}`, `POST /api/v1/sends/{id}/revoke`,
`POST /api/v1/sends/{id}/versions` (share links). Recipients (logged in with the email the link was sent to):
`GET /api/v1/received/{id}` (sender, envelope, blobs), `GET /api/v1/received/{id}/latest` (the current version)
and `GET /api/v1/received/{id}/blobs/{blob}` (the ciphertext, with `Range`).
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from c11.server.auth import Principal, require_scope, require_user
from c11.server.context import Ctx
from c11.server.problems import Problem, base64_field, responses
from c11.server.sharing import service

router = APIRouter(
    prefix="/api/v1",
    tags=["sharing"],
    dependencies=[Depends(require_user)],
    responses=responses(401, 403, 404, 409, 410, 422),
)
Reader = Annotated[Principal, Depends(require_scope("documents:read"))]
Writer = Annotated[Principal, Depends(require_scope("documents:write"))]
MAX_ENVELOPE = 1 << 20


_ID = "^[0-9a-f]{32}$"


class SendIn(BaseModel):
    id: str | None = Field(
        None, pattern=_ID, description="The send's ID, chosen by the client (signed in the envelope)"
    )
    kind: str = Field("send", pattern="^(send|link)$")
    recipients: list[str] = Field(min_length=1, max_length=service.MAX_RECIPIENTS)
    envelope: str = Field(description="The envelope (a c11 file for the recipients), base64", max_length=1_500_000)
    blobs: list[str] = Field(default_factory=list, max_length=service.MAX_BLOBS)
    expires_at: datetime | None = None
    max_downloads: int | None = Field(None, ge=1, le=1_000_000)
    retention: int | None = Field(None, ge=1, le=100)


class VersionIn(BaseModel):
    envelope: str = Field(max_length=1_500_000)
    version: int | None = Field(None, ge=2, le=1 << 30, description="The version signed in the envelope (the next)")
    blobs: list[str] = Field(default_factory=list, max_length=service.MAX_BLOBS)


def _envelope(text: str) -> bytes:
    return base64_field(text, "envelope", MAX_ENVELOPE)


@router.post("/sends", status_code=201, summary="Send files (or create a share link) to recipients")
def create(body: SendIn, ctx: Ctx, who: Writer) -> dict[str, Any]:
    return service.create(
        ctx,
        who,
        kind=body.kind,
        recipients=body.recipients,
        envelope=_envelope(body.envelope),
        blob_ids=body.blobs,
        expires_at=body.expires_at,
        max_downloads=body.max_downloads,
        retention=body.retention,
        send_id=body.id,
    )


@router.get("/sends", summary="Your sends and share links")
def listing(ctx: Ctx, who: Reader, kind: str | None = Query(None, pattern="^(send|link)$")) -> list[dict[str, Any]]:
    return service.listing(ctx, who, kind)


@router.get("/sends/{send_id}", summary="A send with each recipient's status")
def show(send_id: str, ctx: Ctx, who: Reader) -> dict[str, Any]:
    return service.show(ctx, who, send_id)


@router.post("/sends/{send_id}/revoke", summary="Revoke at once (proven by a log entry)")
def revoke(send_id: str, ctx: Ctx, who: Writer) -> dict[str, Any]:
    return service.revoke(ctx, who, send_id)


@router.post("/sends/{send_id}/versions", status_code=201, summary="A new version of a share link")
def add_version(send_id: str, body: VersionIn, ctx: Ctx, who: Writer) -> dict[str, Any]:
    return service.add_version(ctx, who, send_id, _envelope(body.envelope), body.blobs, body.version)


@router.get("/received/{send_id}", summary="What was sent to you: sender, envelope, files")
def received(send_id: str, ctx: Ctx, who: Reader) -> dict[str, Any]:
    out = service.receive(ctx, who, send_id)
    out["envelope"] = base64.b64encode(out["envelope"]).decode()
    return out


@router.get("/received/{send_id}/latest", summary="A send's or link's current version (what an open page polls)")
def received_latest(send_id: str, ctx: Ctx, who: Reader) -> dict[str, Any]:
    return service.latest(ctx, who, send_id)


DOWNLOAD_HEADER = "X-C11-Download"
_DOWNLOAD_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
_RANGE = re.compile(r"bytes=(\d{1,19})-(\d{0,19})")


@router.get(
    "/received/{send_id}/blobs/{blob_id}",
    summary="A file's ciphertext (from byte 0: a new download, its ID in X-C11-Download; send it back for the "
    "other files and Range resumes)",
    response_class=StreamingResponse,
)
async def blob(send_id: str, blob_id: str, request: Request, ctx: Ctx, who: Reader) -> StreamingResponse:
    start, end = 0, None
    header = request.headers.get("range")
    if header:
        m = _RANGE.fullmatch(header.strip())
        if not m:
            raise Problem(416, "Range Not Satisfiable", "Only one range, bytes=START- or bytes=START-END.", "bad-range")
        start = int(m.group(1))
        end = int(m.group(2)) + 1 if m.group(2) else None
        if end is not None and end <= start:
            raise Problem(416, "Range Not Satisfiable", "The range is empty.", "bad-range")
    given = request.headers.get(DOWNLOAD_HEADER)
    if given is not None and not _DOWNLOAD_ID.fullmatch(given):
        raise Problem(422, "Bad download ID", f"{DOWNLOAD_HEADER} is the ID a download answered.", "bad-download-id")
    size, chunks, made = await run_in_threadpool(service.download, ctx, who, send_id, blob_id, start, end, given)
    stop = size if end is None else min(end, size)
    headers = {"Content-Length": str(stop - start), "Accept-Ranges": "bytes", "Cache-Control": "no-store"}
    if made is not None:
        headers[DOWNLOAD_HEADER] = made
    if header:
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    return StreamingResponse(
        _iterate(chunks), status_code=206 if header else 200, media_type="application/octet-stream", headers=headers
    )


async def _iterate(chunks: Any) -> Any:
    """The storage's blocking iterator, read in the thread pool."""
    sentinel = object()
    while True:
        chunk = await run_in_threadpool(next, chunks, sentinel)
        if chunk is sentinel:
            return
        yield chunk
