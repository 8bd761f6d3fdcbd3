"""Who may upload: upload grants (docs/sharing.md, "Upload authorization").

A granter is a function `(request, ctx) -> UploadGrant | None`, named in `GRANTERS` ("module:function"); the first
that answers a grant authorizes the request. Every request on an upload (create, PATCH, HEAD, complete, delete)
is authorized again, and the grant's `owner` must be the upload's. A granter may raise a `Problem` (a refused
capability, a limit reached). The Secure Document Request service adds its own granter for its form's
capability (an upload bound to one request, with its size and count limits).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request

from c11.server.auth import authenticate
from c11.server.context import ServerContext
from c11.server.problems import Problem

GiB = 1 << 30


@dataclass(frozen=True)
class UploadGrant:
    """What a caller may upload: as `owner` ("user:<id>", "request:<id>"...), for `purpose`, at most `max_size`
    bytes per upload and (when set) at most `max_total` bytes in all of the owner's uploads."""

    owner: str
    purpose: str
    max_size: int
    max_total: int | None = None


Granter = Callable[[Request, ServerContext], "UploadGrant | None"]

#: The granters, first answer wins ("module:function"); the request service appends its own here.
GRANTERS: tuple[str, ...] = (
    "c11.server.uploads.grants:logged_in_sender",
    "c11.server.docrequests.router:link_grant",  # a request's link: its items (docs/sharing.md, requests)
)


def logged_in_sender(request: Request, ctx: ServerContext) -> UploadGrant | None:
    """A logged-in account (session or a token with documents:write) with a verified email: its own uploads."""
    principal = authenticate(request, ctx)
    if principal is None:
        return None
    if not principal.email_verified:
        raise Problem(403, "Email not verified", "Verify your email address before uploading.", "email-unverified")
    if not principal.has("documents:write"):
        raise Problem(
            403,
            "Forbidden",
            "This token lacks the scope documents:write.",
            "insufficient-scope",
            scope="documents:write",
        )
    return UploadGrant(f"user:{principal.user_id}", "send", ctx.config.upload_max_gib * GiB)


def _granter(spec: str) -> Granter:
    module, attr = spec.split(":")
    found: Granter = getattr(importlib.import_module(module), attr)
    return found


def grant_for(request: Request, ctx: ServerContext, granters: tuple[str, ...] = GRANTERS) -> UploadGrant | None:
    """The first grant a granter gives the request, or None."""
    for spec in granters:
        grant = _granter(spec)(request, ctx)
        if grant is not None:
            return grant
    return None
