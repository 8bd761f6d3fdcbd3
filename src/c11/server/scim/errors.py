"""SCIM error answers (RFC 7644 §3.12): `urn:ietf:params:scim:api:messages:2.0:Error` bodies, never problem+json.

`ScimRoute` makes every error raised while handling a /scim/v2 request (authentication, validation, crashes)
answer in this format, with the media type `application/scim+json`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from c11.server.problems import Problem

SCIM_JSON = "application/scim+json"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
_log = logging.getLogger("c11.server.scim")


class ScimError(Exception):
    """An error answer: HTTP `status`, `detail` for people, and a `scim_type` (invalidFilter, uniqueness...)."""

    def __init__(
        self, status: int, detail: str, scim_type: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type
        self.headers = headers or {}


def scim_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer with the SCIM media type (`body` None: no content)."""
    if body is None:
        return Response(status_code=status, headers=headers)
    return Response(json.dumps(body, separators=(",", ":")), status_code=status, headers=headers, media_type=SCIM_JSON)


def error_response(e: ScimError) -> Response:
    body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(e.status), "detail": e.detail}
    if e.scim_type:
        body["scimType"] = e.scim_type
    return scim_response(body, e.status, e.headers)


def _convert(exc: Exception) -> ScimError:
    if isinstance(exc, ScimError):
        return exc
    if isinstance(exc, Problem):
        return ScimError(exc.status, exc.detail or exc.title, None, exc.headers)
    if isinstance(exc, RequestValidationError):
        return ScimError(400, "The request is not valid.", "invalidValue")
    if isinstance(exc, StarletteHTTPException):
        return ScimError(exc.status_code, str(exc.detail), None, dict(exc.headers or {}))
    _log.error("unhandled %s in a SCIM request", type(exc).__name__)
    return ScimError(500, "Internal server error.")


class ScimRoute(APIRoute):
    """Route class of the /scim/v2 router: errors become SCIM error bodies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # every failure answers in the SCIM format
                return error_response(_convert(exc))

        return route
