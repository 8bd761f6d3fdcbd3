"""What every SCIM request shares: token authentication (one organization per token), paging, `meta`, ETags,
attribute selection and the `admin` log entries of provisioning changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import select, update

from c11.log.entries import rfc3339
from c11.server.context import Ctx, ServerContext
from c11.server.credentials import digest, matches
from c11.server.db import utcnow
from c11.server.logsrv.service import LogWriter
from c11.server.orgs.models import Organization
from c11.server.scim.errors import ScimError
from c11.server.scim.models import ScimToken

SCIM_PREFIX = "c11scim"
BASE_PATH = "/scim/v2"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#: Default and largest `count` of a list request.
DEFAULT_COUNT = 100
MAX_COUNT = 1000
_LAST_USED_GRANULARITY = timedelta(minutes=1)
#: Attributes returned whatever `attributes` / `excludedAttributes` say (RFC 7643 §7: returned "always").
_ALWAYS = frozenset({"id", "schemas", "meta"})


@dataclass(frozen=True)
class ScimCaller:
    """The organization a SCIM request acts on, named by its token, and where its resources live."""

    org_id: str
    token_id: str
    base_url: str

    @property
    def actor(self) -> str:
        """How log entries name this caller (no email: a token ID)."""
        return f"scim-token:{self.token_id}"

    def location(self, kind: str, rid: str) -> str:
        return f"{self.base_url}{BASE_PATH}/{kind}/{rid}"


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def authenticate(request: Request, ctx: ServerContext) -> ScimCaller:
    """The caller of a SCIM request, from its bearer SCIM token (401 SCIM error when missing or not valid)."""
    secret = _bearer(request)
    if secret is None or not secret.startswith(SCIM_PREFIX + "_"):
        raise _unauthorized()
    now = utcnow()
    with ctx.db.session() as s:
        tok = s.scalar(select(ScimToken).where(ScimToken.token_hash == digest(secret)))
        if (
            tok is None
            or not matches(secret, tok.token_hash)
            or tok.revoked_at is not None
            or (tok.expires_at is not None and tok.expires_at <= now)
        ):
            raise _unauthorized()
        if s.get(Organization, tok.org_id) is None:
            raise _unauthorized()
        if tok.last_used_at is None or now - tok.last_used_at > _LAST_USED_GRANULARITY:
            s.execute(update(ScimToken).where(ScimToken.id == tok.id).values(last_used_at=now))
        return ScimCaller(tok.org_id, tok.id, ctx.config.base_url)


def _unauthorized() -> ScimError:
    return ScimError(
        401, "Send a valid SCIM token as a bearer token.", None, {"WWW-Authenticate": 'Bearer realm="c11 SCIM"'}
    )


def scim_caller(request: Request, ctx: Ctx) -> ScimCaller:
    return authenticate(request, ctx)


#: Route parameter type: the SCIM token's organization.
Caller = Annotated[ScimCaller, Depends(scim_caller)]


async def json_body(request: Request, _caller: Caller) -> Any:
    """Dependency: the request body as JSON (application/scim+json or application/json), 400 otherwise;
    read only once the caller is authenticated (401 first)."""
    raw = await request.body()
    if len(raw) > 1_000_000:
        raise ScimError(413, "The request is too large.", "tooMany")
    try:
        return json.loads(raw)
    except ValueError:
        raise ScimError(400, "The request body is not JSON.", "invalidSyntax") from None


Body = Annotated[Any, Depends(json_body)]


def paging(request: Request) -> tuple[int, int]:
    """`startIndex` (1-based, below 1 read as 1) and `count` (negative read as 0, at most MAX_COUNT)."""

    def number(name: str, default: int) -> int:
        text = request.query_params.get(name)
        if text is None or text == "":
            return default
        try:
            return int(text)
        except ValueError:
            raise ScimError(400, f"{name} must be an integer.", "invalidValue") from None

    return max(1, number("startIndex", 1)), min(MAX_COUNT, max(0, number("count", DEFAULT_COUNT)))


def list_response(total: int, start: int, resources: list[dict]) -> dict:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": len(resources),
        "startIndex": start,
        "Resources": resources,
    }


def version(resource: dict) -> str:
    """A weak ETag of a resource's content (everything but `meta`)."""
    content = json.dumps({k: v for k, v in resource.items() if k != "meta"}, sort_keys=True, default=str)
    return f'W/"{hashlib.sha256(content.encode()).hexdigest()[:24]}"'


def with_meta(resource: dict, kind: str, created: datetime, modified: datetime, caller: ScimCaller) -> dict:
    """`resource` with its `meta` (resourceType, created, lastModified, location, version)."""
    resource["meta"] = {
        "resourceType": kind,
        "created": rfc3339(created),
        "lastModified": rfc3339(modified),
        "location": caller.location(f"{kind}s", resource["id"]),
    }
    resource["meta"]["version"] = version(resource)
    return resource


def check_if_match(request: Request, resource: dict) -> None:
    """412 when an `If-Match` header names another version of `resource`."""
    wanted = request.headers.get("if-match")
    if wanted is None or wanted.strip() == "*":
        return
    if resource["meta"]["version"] not in [w.strip() for w in wanted.split(",")]:
        raise ScimError(412, "The resource changed since that version.", None)


def select_attributes(resource: dict, request: Request) -> dict:
    """Apply `attributes` / `excludedAttributes` (top-level names; `name.givenName` selects `name`)."""

    def names(param: str) -> set[str] | None:
        text = request.query_params.get(param)
        if not text:
            return None
        out = set()
        for item in text.split(","):
            item = item.strip().lower()
            if item.startswith("urn:"):
                item = item.rsplit(":", 1)[-1]
            out.add(item.split(".")[0])
        return out

    keep, drop = names("attributes"), names("excludedAttributes")
    if keep is not None:
        return {k: v for k, v in resource.items() if k in _ALWAYS or k.lower() in keep}
    if drop is not None:
        return {k: v for k, v in resource.items() if k in _ALWAYS or k.lower() not in drop}
    return resource


def log_change(w: LogWriter, caller: ScimCaller, action: str, target: str, **extra: Any) -> None:
    """Append the `admin` log entry of a provisioning change (no email: `target` is a hash or an ID)."""
    w.append(
        "admin",
        {"action": action, "actor": caller.actor, "org": caller.org_id, "target": target, "via": "scim", **extra},
        subject=caller.org_id,
    )
