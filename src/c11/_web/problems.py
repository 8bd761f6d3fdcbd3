"""RFC 9457 problem details for every error a c11 service returns (application/problem+json).

Raise `Problem` in routes; `install(app)` turns it, HTTP errors, validation errors and crashes into problems.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
_TYPE_BASE = "urn:c11:problem:"
_log = logging.getLogger("c11.server")


class ProblemDocument(BaseModel):
    """The RFC 9457 body of every error answer (for the OpenAPI document)."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries saying these statuses answer with problem details."""
    return {
        status: {"model": ProblemDocument, "content": {PROBLEM_JSON: {}}, "description": "Problem details (RFC 9457)"}
        for status in statuses
    }


class Problem(Exception):
    """An error answer: `slug` names its type (urn:c11:problem:<slug>), `detail` is for people."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        slug: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.slug = status, title, detail, slug
        self.headers = headers or {}
        self.extra = extra


def unauthorized(detail: str = "Log in, or send a bearer token.") -> Problem:
    return Problem(401, "Unauthorized", detail, "unauthorized", {"WWW-Authenticate": 'Bearer realm="c11"'})


def not_found(what: str = "resource") -> Problem:
    return Problem(404, "Not Found", f"No such {what}.", "not-found")


def base64_field(text: str, what: str, limit: int) -> bytes:
    """Decode a base64 request field, or 422 naming `what` (not base64, or longer than `limit` bytes)."""
    import base64
    import binascii

    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Problem(422, "Bad request", f"{what} is not base64.", "validation") from None
    if len(data) > limit:
        raise Problem(422, "Bad request", f"{what} is too large.", "validation")
    return data


def problem_response(
    request: Request | None,
    status: int,
    title: str,
    detail: str | None = None,
    slug: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A JSON response in the problem details format."""
    body: dict[str, Any] = {"type": _TYPE_BASE + slug if slug else "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if request is not None:
        body["instance"] = request.url.path
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(request, exc.status, exc.title, exc.detail, exc.slug, exc.headers, **exc.extra)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    from http import HTTPStatus

    try:
        title = HTTPStatus(exc.status_code).phrase
    except ValueError:
        title = "Error"
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
    return problem_response(request, exc.status_code, title, detail, None, dict(exc.headers or {}))


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Never echo the input: it may hold a password or a token.
    errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
    return problem_response(
        request, 422, "Unprocessable Content", "The request is not valid.", "validation", errors=errors
    )


def database_lost(exc: BaseException) -> bool:
    """The database connection failed or was cut (a restart, a network drop), as opposed to a bug."""
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, sa_exc.DBAPIError):
        return bool(exc.connection_invalidated) or isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
    return isinstance(exc, sa_exc.DisconnectionError)


async def _on_crash(request: Request, exc: Exception) -> JSONResponse:
    _log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
    if database_lost(exc):
        return database_unavailable(request)
    return problem_response(request, 500, "Internal Server Error", None, None)


def database_unavailable(request: Request | None) -> JSONResponse:
    """503 `database-unavailable`: the database connection was lost during the request (c11._web.db_outage)."""
    # the database rolled the transaction back, unless the cut came during its commit
    return problem_response(
        request,
        503,
        "Service Unavailable",
        "The database connection was lost (a restart?) before the request finished; what it changed may not "
        "have been saved. Try again.",
        "database-unavailable",
        {"Retry-After": "1"},
    )


def install(app: FastAPI) -> None:
    """Register the problem handlers on an application."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(Exception, _on_crash)
