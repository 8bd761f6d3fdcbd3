"""HTTP routes of machine tokens: create (secret shown once), list, revoke.

Every route needs the `tokens:manage` scope; a user only ever sees their own tokens.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy import select

from c11.server.auth import MACHINE_PREFIX, Principal, require_scope, require_user
from c11.server.context import Ctx
from c11.server.credentials import digest, new_secret
from c11.server.db import utcnow
from c11.server.problems import Problem, not_found, responses
from c11.server.scopes import SCOPES
from c11.server.tokens.models import MachineToken
from c11.server.tokens.schemas import TokenCreated, TokenIn, TokenOut

router = APIRouter(
    prefix="/api/v1/tokens",
    tags=["tokens"],
    dependencies=[Depends(require_user)],
    responses=responses(401, 403, 404, 422),
)
Manager = Annotated[Principal, Depends(require_scope("tokens:manage"))]


def _out(t: MachineToken) -> dict:
    return {
        "id": t.id,
        "name": t.name,
        "scopes": t.scopes.split(),
        "created_at": t.created_at,
        "expires_at": t.expires_at,
        "last_used_at": t.last_used_at,
        "revoked": t.revoked_at is not None,
    }


@router.post("", status_code=201, response_model=TokenCreated, summary="Create a machine token")
def create_token(body: TokenIn, principal: Manager, ctx: Ctx) -> TokenCreated:
    """Create a token with scopes and an expiry; the secret is in this answer only."""
    unknown = sorted(set(body.scopes) - set(SCOPES))
    if unknown:
        raise Problem(
            422, "Unknown scope", f"Unknown scopes: {', '.join(unknown)}.", "unknown-scope", known=sorted(SCOPES)
        )
    beyond = sorted(set(body.scopes) - principal.scopes)
    if beyond:
        raise Problem(
            403, "Forbidden", f"A token cannot grant scopes it lacks: {', '.join(beyond)}.", "insufficient-scope"
        )
    secret = new_secret(MACHINE_PREFIX)
    with ctx.db.session() as s:
        tok = MachineToken(
            user_id=principal.user_id,
            name=body.name,
            token_hash=digest(secret),
            scopes=" ".join(sorted(set(body.scopes))),
            created_at=utcnow(),
            expires_at=utcnow() + timedelta(days=body.expires_in_days),
        )
        s.add(tok)
        s.flush()
        return TokenCreated(**_out(tok), token=secret)


@router.get("", response_model=list[TokenOut], summary="List machine tokens")
def list_tokens(principal: Manager, ctx: Ctx) -> list[TokenOut]:
    with ctx.db.session() as s:
        rows = s.scalars(
            select(MachineToken).where(MachineToken.user_id == principal.user_id).order_by(MachineToken.created_at)
        )
        return [TokenOut(**_out(t)) for t in rows]


@router.delete("/{token_id}", status_code=204, summary="Revoke a machine token")
def revoke_token(token_id: str, principal: Manager, ctx: Ctx) -> Response:
    """Revoke one of the caller's tokens (404 for anyone else's)."""
    with ctx.db.session() as s:
        tok = s.get(MachineToken, token_id)
        if tok is None or tok.user_id != principal.user_id:
            raise not_found("token")
        if tok.revoked_at is None:
            tok.revoked_at = utcnow()
    return Response(status_code=204)
