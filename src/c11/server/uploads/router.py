"""The resumable upload routes: tus 1.0 core with the creation and termination extensions, plus a completion
step that checks size and SHA-256 (docs/sharing.md, "Resumable uploads").

    OPTIONS /api/v1/uploads            Tus-Version, Tus-Extension, Tus-Max-Size
    POST    /api/v1/uploads            Upload-Length -> 201, Location: /api/v1/uploads/{id}
    HEAD    /api/v1/uploads/{id}       Upload-Offset, Upload-Length (after a broken connection)
    PATCH   /api/v1/uploads/{id}       Upload-Offset + application/offset+octet-stream body -> 204, Upload-Offset
    DELETE  /api/v1/uploads/{id}       tus termination
    GET     /api/v1/uploads/{id}       the upload's state as JSON
    POST    /api/v1/uploads/{id}/complete   {"length", "sha256"}: checked, then the blob exists
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from c11.log.entries import rfc3339
from c11.server.context import Ctx
from c11.server.problems import Problem, responses, unauthorized
from c11.server.uploads.grants import UploadGrant, grant_for
from c11.server.uploads.models import Upload
from c11.server.uploads.service import uploads

TUS_VERSION = "1.0.0"
OFFSET_TYPE = "application/offset+octet-stream"

router = APIRouter(prefix="/api/v1/uploads", tags=["uploads"], responses=responses(401, 403, 404, 409, 412, 413))


async def _grant(request: Request, ctx: Ctx) -> UploadGrant:
    grant = await run_in_threadpool(grant_for, request, ctx)
    if grant is None:
        raise unauthorized()
    return grant


Grant = Annotated[UploadGrant, Depends(_grant)]


def _tus(request: Request) -> None:
    version = request.headers.get("tus-resumable")
    if version != TUS_VERSION:
        raise Problem(
            412,
            "Unsupported tus version",
            f"Send the header Tus-Resumable: {TUS_VERSION}.",
            "tus-version",
            headers={"Tus-Version": TUS_VERSION},
        )


def _int_header(request: Request, name: str) -> int:
    raw = request.headers.get(name, "")
    if not raw.isdigit() or len(raw) > 19:
        raise Problem(400, f"Bad {name}", f"The header {name} must be a non-negative integer.", "bad-upload-header")
    return int(raw)


class UploadOut(BaseModel):
    id: str
    length: int
    offset: int
    part_size: int
    status: str
    sha256: str | None
    expires_at: str | None
    location: str


class CompleteIn(BaseModel):
    length: int = Field(ge=0, description="Size of the whole upload, in bytes")
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$", description="SHA-256 of the uploaded bytes, hex")


def _out(row: Upload) -> UploadOut:
    return UploadOut(
        id=row.id,
        length=row.length,
        offset=row.offset,
        part_size=row.part_size,
        status=row.status,
        sha256=row.sha256,
        expires_at=rfc3339(row.expires_at),
        location=f"/api/v1/uploads/{row.id}",
    )


@router.options("", include_in_schema=False)
def options(ctx: Ctx) -> Response:
    return Response(
        status_code=204,
        headers={
            "Tus-Resumable": TUS_VERSION,
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": "creation,termination",
            "Tus-Max-Size": str(ctx.config.upload_max_gib << 30),
        },
    )


@router.post("", status_code=201, summary="Start a resumable upload (tus creation)")
def create(request: Request, response: Response, ctx: Ctx, grant: Grant) -> UploadOut:
    """Send `Tus-Resumable: 1.0.0` and `Upload-Length`; the answer's Location is the upload's URL."""
    _tus(request)
    row = uploads(ctx).create(grant, _int_header(request, "upload-length"))
    response.headers.update(
        {"Location": f"/api/v1/uploads/{row.id}", "Tus-Resumable": TUS_VERSION, "Upload-Offset": "0"}
    )
    return _out(row)


@router.head("/{upload_id}", summary="The upload's offset (tus)")
def head(upload_id: str, request: Request, ctx: Ctx, grant: Grant) -> Response:
    _tus(request)
    row = uploads(ctx).get(upload_id, grant)
    return Response(
        status_code=200,
        headers={
            "Tus-Resumable": TUS_VERSION,
            "Upload-Offset": str(row.offset),
            "Upload-Length": str(row.length),
            "Cache-Control": "no-store",
        },
    )


@router.get("/{upload_id}", summary="The upload's state")
def show(upload_id: str, ctx: Ctx, grant: Grant) -> UploadOut:
    return _out(uploads(ctx).get(upload_id, grant))


@router.patch("/{upload_id}", status_code=204, summary="Append bytes at Upload-Offset (tus)")
async def patch(upload_id: str, request: Request, ctx: Ctx, grant: Grant) -> Response:
    """The body (`Content-Type: application/offset+octet-stream`) goes on at `Upload-Offset`, which must be the
    upload's offset (409 otherwise). The answer's Upload-Offset is the new offset."""
    _tus(request)
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != OFFSET_TYPE:
        raise Problem(415, "Wrong content type", f"Send the bytes as {OFFSET_TYPE}.", "upload-content-type")
    offset = _int_header(request, "upload-offset")
    try:
        new = await uploads(ctx).write(upload_id, grant, offset, request.stream())
    except ClientDisconnect:
        return Response(status_code=400)  # nobody reads it; what arrived is kept
    return Response(status_code=204, headers={"Tus-Resumable": TUS_VERSION, "Upload-Offset": str(new)})


@router.delete("/{upload_id}", status_code=204, summary="Drop an upload (tus termination)")
def remove(upload_id: str, request: Request, ctx: Ctx, grant: Grant) -> Response:
    _tus(request)
    uploads(ctx).remove(upload_id, grant)
    return Response(status_code=204, headers={"Tus-Resumable": TUS_VERSION})


@router.post("/{upload_id}/complete", summary="Check size and SHA-256; the blob then exists")
def complete(upload_id: str, body: CompleteIn, ctx: Ctx, grant: Grant) -> UploadOut:
    """Refused (and the upload deleted) when the stored bytes have another SHA-256; 409 while bytes are missing."""
    return _out(uploads(ctx).complete(upload_id, grant, body.length, body.sha256))
