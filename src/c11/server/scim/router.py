"""HTTP routes of SCIM: the token admin API (`/api/v1/org/scim-tokens`, permission crud:groups-scim-tokens-org)
and the SCIM 2.0 service provider (`/scim/v2`, RFC 7644) that identity providers call with such a token.

SCIM answers are `application/scim+json`; their errors are SCIM error bodies (see `errors.ScimRoute`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from c11.server.context import Ctx
from c11.server.credentials import digest, new_secret
from c11.server.db import utcnow
from c11.server.logsrv.service import log_service
from c11.server.orgs.permissions import OrgCaller, require_org_permission
from c11.server.orgs.service import admin_entry
from c11.server.problems import not_found, responses
from c11.server.scim import discovery, groups, users
from c11.server.scim.errors import ScimError, ScimRoute, scim_response
from c11.server.scim.filter import CORE_GROUP, CORE_USER, ENTERPRISE_USER, get_ci, parse_filter
from c11.server.scim.models import ScimToken
from c11.server.scim.patch import apply_patch
from c11.server.scim.schemas import ScimTokenCreated, ScimTokenIn, ScimTokenOut
from c11.server.scim.service import (
    BASE_PATH,
    SCIM_PREFIX,
    Body,
    Caller,
    check_if_match,
    list_response,
    paging,
    select_attributes,
)

PERMISSION = "crud:groups-scim-tokens-org"
TokenAdmin = Annotated[OrgCaller, Depends(require_org_permission(PERMISSION))]

admin = APIRouter(prefix="/api/v1/org/scim-tokens", tags=["scim"], responses=responses(401, 403, 404, 422))
scim = APIRouter(prefix=BASE_PATH, tags=["scim"], route_class=ScimRoute)


# -- SCIM tokens (admins) ---------------------------------------------------------------------------------


def _out(t: ScimToken) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "created_by": t.created_by,
        "created_at": t.created_at,
        "expires_at": t.expires_at,
        "last_used_at": t.last_used_at,
        "revoked": t.revoked_at is not None,
    }


@admin.post("", status_code=201, response_model=ScimTokenCreated, summary="Create a SCIM token")
def create_token(body: ScimTokenIn, caller: TokenAdmin, ctx: Ctx) -> ScimTokenCreated:
    """A token with which an identity provider provisions this organization; the secret is in this answer only."""
    secret = new_secret(SCIM_PREFIX)
    now = utcnow()
    with log_service(ctx).transaction() as (s, log):
        tok = ScimToken(
            org_id=caller.org_id,
            name=body.name,
            token_hash=digest(secret),
            created_by=caller.principal.email,
            created_at=now,
            expires_at=now + timedelta(days=body.expires_in_days) if body.expires_in_days else None,
        )
        s.add(tok)
        s.flush()
        log.append(
            "admin",
            admin_entry("scim-token.create", caller.principal.email, caller.org_id, tok.id),
            subject=caller.org_id,
        )
        return ScimTokenCreated(**_out(tok), token=secret, scim_url=f"{ctx.config.base_url}{BASE_PATH}")


@admin.get("", response_model=list[ScimTokenOut], summary="List SCIM tokens")
def list_tokens(caller: TokenAdmin, ctx: Ctx) -> list[ScimTokenOut]:
    """The organization's SCIM tokens, oldest first (never their secrets)."""
    with ctx.db.session() as s:
        rows = s.scalars(
            select(ScimToken).where(ScimToken.org_id == caller.org_id).order_by(ScimToken.created_at, ScimToken.id)
        )
        return [ScimTokenOut(**_out(t)) for t in rows]


@admin.delete("/{token_id}", status_code=204, summary="Revoke a SCIM token")
def revoke_token(token_id: str, caller: TokenAdmin, ctx: Ctx) -> Response:
    """Revoke one of the organization's SCIM tokens (404 for another organization's)."""
    with log_service(ctx).transaction() as (s, log):
        tok = s.get(ScimToken, token_id)
        if tok is None or tok.org_id != caller.org_id:
            raise not_found("SCIM token")
        if tok.revoked_at is None:
            tok.revoked_at = utcnow()
            log.append(
                "admin",
                admin_entry("scim-token.revoke", caller.principal.email, caller.org_id, tok.id),
                subject=caller.org_id,
            )
    return Response(status_code=204)


# -- discovery --------------------------------------------------------------------------------------------


def _listing(resources: list[dict]) -> Response:
    return scim_response(list_response(len(resources), 1, resources))


def _by_id(resources: list[dict], rid: str) -> Response:
    for r in resources:
        if r["id"] == rid:
            return scim_response(r)
    raise ScimError(404, f"No such resource {rid}.")


@scim.get("/ServiceProviderConfig", summary="SCIM service provider configuration")
def service_provider_config(caller: Caller) -> Response:
    return scim_response(discovery.service_provider_config(caller.base_url))


@scim.get("/ResourceTypes", summary="SCIM resource types")
def resource_types(caller: Caller) -> Response:
    return _listing(discovery.resource_types(caller.base_url))


@scim.get("/ResourceTypes/{rid}", summary="A SCIM resource type")
def resource_type(rid: str, caller: Caller) -> Response:
    return _by_id(discovery.resource_types(caller.base_url), rid)


@scim.get("/Schemas", summary="SCIM schemas")
def schemas(caller: Caller) -> Response:
    return _listing(discovery.schemas(caller.base_url))


@scim.get("/Schemas/{rid}", summary="A SCIM schema")
def schema(rid: str, caller: Caller) -> Response:
    return _by_id(discovery.schemas(caller.base_url), rid)


# -- Users ------------------------------------------------------------------------------------------------


def _resource(request: Request, resource: dict, status: int = 200) -> Response:
    headers = {"ETag": resource["meta"]["version"]}
    if status == 201:
        headers["Location"] = resource["meta"]["location"]
    return scim_response(select_attributes(resource, request), status, headers)


def _filter(request: Request) -> tuple[Any, str]:
    text = request.query_params.get("filter")
    return (parse_filter(text), text) if text else (None, "")


def _check_schemas(doc: Any, core: str) -> None:
    schemas_ = get_ci(doc, "schemas") if isinstance(doc, dict) else None
    if schemas_ is not None and (not isinstance(schemas_, list) or core not in schemas_):
        raise ScimError(400, f"The resource's schemas must include {core}.", "invalidSyntax")


@scim.get("/Users", summary="List or search Users")
def list_users(request: Request, caller: Caller, ctx: Ctx) -> Response:
    """`filter` (e.g. userName eq "x"), `startIndex` (1-based) and `count`; stable order."""
    node, _ = _filter(request)
    start, count = paging(request)
    with ctx.db.session() as s:
        total, page = users.search(s, caller, node, start, count)
    return scim_response(list_response(total, start, [select_attributes(r, request) for r in page]))


@scim.post("/Users", summary="Create a User (member)")
def create_user(request: Request, caller: Caller, body: Body, ctx: Ctx) -> Response:
    _check_schemas(body, CORE_USER)
    with log_service(ctx).transaction() as (s, log):
        created = users.create(s, log, caller, body)
    return _resource(request, created, 201)


@scim.get("/Users/{member_id}", summary="Get a User")
def get_user(member_id: str, request: Request, caller: Caller, ctx: Ctx) -> Response:
    with ctx.db.session() as s:
        return _resource(request, users.get(s, caller, member_id))


@scim.put("/Users/{member_id}", summary="Replace a User")
def replace_user(member_id: str, request: Request, caller: Caller, body: Body, ctx: Ctx) -> Response:
    _check_schemas(body, CORE_USER)
    with log_service(ctx).transaction() as (s, log):
        check_if_match(request, users.get(s, caller, member_id))
        return _resource(request, users.replace(s, log, caller, member_id, body))


@scim.patch("/Users/{member_id}", summary="Change a User (PATCH operations)")
def patch_user(member_id: str, request: Request, caller: Caller, body: Body, ctx: Ctx) -> Response:
    """add / replace / remove, e.g. `{"op": "replace", "path": "active", "value": false}` to deactivate."""
    with log_service(ctx).transaction() as (s, log):
        current = users.get(s, caller, member_id)
        check_if_match(request, current)
        patched = apply_patch(current, body)
        if get_ci(patched, ENTERPRISE_USER) == {}:
            patched.pop(ENTERPRISE_USER, None)
        return _resource(request, users.replace(s, log, caller, member_id, patched))


@scim.delete("/Users/{member_id}", status_code=204, summary="Delete a User (deactivates the member)")
def delete_user(member_id: str, request: Request, caller: Caller, ctx: Ctx) -> Response:
    with log_service(ctx).transaction() as (s, log):
        check_if_match(request, users.get(s, caller, member_id))
        users.delete(s, log, caller, member_id)
    return Response(status_code=204)


# -- Groups -----------------------------------------------------------------------------------------------


def _with_members(request: Request) -> bool:
    excluded = (request.query_params.get("excludedAttributes") or "").lower()
    wanted = request.query_params.get("attributes")
    if "members" in [x.strip() for x in excluded.split(",")]:
        return False
    return wanted is None or "members" in wanted.lower()


@scim.get("/Groups", summary="List or search Groups")
def list_groups(request: Request, caller: Caller, ctx: Ctx) -> Response:
    """`filter` (e.g. displayName eq "x"), `startIndex`, `count`, `excludedAttributes=members`."""
    node, text = _filter(request)
    start, count = paging(request)
    with ctx.db.session() as s:
        total, page = groups.search(s, caller, node, text, start, count, _with_members(request))
    return scim_response(list_response(total, start, [select_attributes(r, request) for r in page]))


@scim.post("/Groups", summary="Create a Group")
def create_group(request: Request, caller: Caller, body: Body, ctx: Ctx) -> Response:
    _check_schemas(body, CORE_GROUP)
    with log_service(ctx).transaction() as (s, log):
        created = groups.create(s, log, caller, body)
    return _resource(request, created, 201)


@scim.get("/Groups/{group_id}", summary="Get a Group")
def get_group(group_id: str, request: Request, caller: Caller, ctx: Ctx) -> Response:
    with ctx.db.session() as s:
        return _resource(request, groups.get(s, caller, group_id, _with_members(request)))


@scim.put("/Groups/{group_id}", summary="Replace a Group")
def replace_group(group_id: str, request: Request, caller: Caller, body: Body, ctx: Ctx) -> Response:
    _check_schemas(body, CORE_GROUP)
    with log_service(ctx).transaction() as (s, log):
        check_if_match(request, groups.get(s, caller, group_id))
        return _resource(request, groups.replace(s, log, caller, group_id, body))


@scim.patch("/Groups/{group_id}", summary="Change a Group (name, members add/remove)")
def patch_group(group_id: str, request: Request, caller: Caller, body: Body, ctx: Ctx) -> Response:
    """Answers 204 No Content (as Entra recommends), or the Group when `attributes` is asked for."""
    with log_service(ctx).transaction() as (s, log):
        current = groups.get(s, caller, group_id)
        check_if_match(request, current)
        patched = apply_patch(current, body)
        if get_ci(patched, "members") is None:
            patched["members"] = []
        result = groups.replace(s, log, caller, group_id, patched)
    if request.query_params.get("attributes") or request.query_params.get("excludedAttributes"):
        return _resource(request, result)
    return Response(status_code=204, headers={"ETag": result["meta"]["version"]})


@scim.delete("/Groups/{group_id}", status_code=204, summary="Delete a Group")
def delete_group(group_id: str, request: Request, caller: Caller, ctx: Ctx) -> Response:
    with log_service(ctx).transaction() as (s, log):
        check_if_match(request, groups.get(s, caller, group_id))
        groups.delete(s, log, caller, group_id)
    return Response(status_code=204)


_KNOWN = ("Users", "Groups", "Schemas", "ResourceTypes", "ServiceProviderConfig")


@scim.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def unknown(rest: str, request: Request) -> Response:
    """Anything else under /scim/v2: a trailing slash redirected away (307), 405 on a known endpoint
    (e.g. PUT /Users), 404 otherwise (no /Bulk, /Me)."""
    if rest.endswith("/") and rest.strip("/"):
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(f"{BASE_PATH}/{rest.rstrip('/')}{query}", status_code=307)
    parts = rest.split("/")
    if parts[0] in _KNOWN and len(parts) <= 2:
        raise ScimError(405, f"{request.method} is not supported on /{rest}.")
    raise ScimError(404, f"No SCIM endpoint /{rest}.")


router = APIRouter()
router.include_router(admin)
router.include_router(scim)
