"""OpenID Connect login with outside identity providers: authorization code flow with PKCE (authlib).

State, nonce and PKCE S256 are checked; the ID token's signature (JWKS), issuer, audience and expiry too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import warnings
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import authlib.deprecate  # noqa: F401  (sets its own warning filter; the block below overrides it)

with warnings.catch_warnings():  # authlib announces a future switch of HTTP library
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from joserfc import jwt
from joserfc.errors import JoseError
from pydantic import BaseModel, Field
from sqlalchemy import delete, select

from c11.server.accounts import service
from c11.server.accounts.models import OidcIdentity, OidcLoginCode, OidcState, User
from c11.server.accounts.router import set_session_cookie, user_out
from c11.server.accounts.schemas import SessionOut, normalize_email
from c11.server.config import OidcProvider
from c11.server.context import Ctx, ServerContext
from c11.server.credentials import digest
from c11.server.db import utcnow
from c11.server.orgs import service as org_service
from c11.server.problems import Problem, not_found, responses

public = APIRouter(prefix="/api/v1/auth/oidc", tags=["oidc"], responses=responses(400, 401, 403, 404, 422, 502))
BROWSER_COOKIE = "c11_oidc_browser"
STATE_TTL = timedelta(minutes=10)
CODE_TTL = timedelta(minutes=2)
_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]


class ProviderOut(BaseModel):
    name: str
    display_name: str
    login_url: str


class CodeExchangeIn(BaseModel):
    code: str = Field(max_length=200)
    verifier: str = Field(min_length=43, max_length=128)


def _provider(ctx: ServerContext, name: str) -> OidcProvider:
    provider = ctx.config.provider(name)
    if provider is None:
        raise not_found("identity provider")
    return provider


def _redirect_uri(ctx: ServerContext, name: str) -> str:
    return f"{ctx.config.base_url}/api/v1/auth/oidc/{name}/callback"


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier (RFC 7636)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _client(ctx: ServerContext, provider: OidcProvider) -> OAuth2Client:
    return OAuth2Client(
        provider.client_id,
        provider.client_secret,
        scope=" ".join(provider.scopes),
        redirect_uri=_redirect_uri(ctx, provider.name),
        code_challenge_method="S256",
        timeout=ctx.oidc.timeout,
    )


@public.get("/providers", response_model=list[ProviderOut], summary="List identity providers")
def providers(ctx: Ctx) -> list[ProviderOut]:
    return [
        ProviderOut(name=p.name, display_name=p.display_name or p.name, login_url=f"/api/v1/auth/oidc/{p.name}/login")
        for p in ctx.config.oidc_providers
    ]


@public.get("/{provider}/login", summary="Start an OIDC login (redirects to the provider)")
def login(
    ctx: Ctx,
    provider: str,
    return_to: str = "/",
    cli_port: int | None = Query(None, ge=1024, le=65535),
    cli_challenge: str | None = Query(None, min_length=43, max_length=128),
) -> RedirectResponse:
    """Redirect the browser to the provider; `cli_port` + `cli_challenge` start the CLI's loopback flow."""
    prov = _provider(ctx, provider)
    if not return_to.startswith("/") or return_to.startswith("//") or "\\" in return_to:
        raise Problem(400, "Bad Request", "return_to must be a path on this server.", "bad-return-to")
    if (cli_port is None) != (cli_challenge is None):
        raise Problem(400, "Bad Request", "cli_port and cli_challenge go together.", "bad-cli-flow")
    meta = ctx.oidc.discover(prov).metadata
    state, nonce, verifier, browser = (secrets.token_urlsafe(32) for _ in range(4))
    with _client(ctx, prov) as client:
        url, _ = client.create_authorization_url(
            meta["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
        )
    with ctx.db.session() as s:
        s.execute(delete(OidcState).where(OidcState.created_at < utcnow() - STATE_TTL))
        s.add(
            OidcState(
                state_hash=digest(state),
                browser_hash=digest(browser),
                provider=prov.name,
                nonce=nonce,
                code_verifier=verifier,
                return_to=return_to,
                cli_port=cli_port,
                cli_challenge=cli_challenge,
                created_at=utcnow(),
            )
        )
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        BROWSER_COOKIE,
        browser,
        max_age=int(STATE_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=ctx.config.cookie_secure,
        path="/api/v1/auth/oidc",
    )
    return response


@public.get("/{provider}/callback", summary="OIDC redirect target")
def callback(
    ctx: Ctx, provider: str, request: Request, state: str = "", code: str = "", error: str = ""
) -> RedirectResponse:
    """Check state, trade the code (with the PKCE verifier), check the ID token, then log in."""
    prov = _provider(ctx, provider)
    pending = _take_state(ctx, prov, state, request.cookies.get(BROWSER_COOKIE, ""))
    if error or not code:
        raise Problem(400, "Login failed", "The identity provider did not approve the login.", "oidc-denied")
    claims = _exchange(ctx, prov, code, pending)
    with ctx.db.session() as s:
        user = _user_for(ctx, s, prov, claims)
        if pending.cli_port is not None:
            one_time = secrets.token_urlsafe(32)
            s.add(
                OidcLoginCode(
                    code_hash=digest(one_time),
                    user_id=user.id,
                    challenge=pending.cli_challenge or "",
                    expires_at=utcnow() + CODE_TTL,
                )
            )
            target = f"http://127.0.0.1:{pending.cli_port}/callback?{urlencode({'code': one_time})}"
            response = RedirectResponse(target, status_code=302)
        else:
            token, _ = service.create_session(ctx, s, user.id, "cookie")
            response = RedirectResponse(pending.return_to, status_code=302)
            set_session_cookie(response, ctx, token)
    response.delete_cookie(BROWSER_COOKIE, path="/api/v1/auth/oidc")
    return response


@public.post("/token", status_code=201, response_model=SessionOut, summary="Trade a CLI login code for a token")
def exchange_code(body: CodeExchangeIn, ctx: Ctx) -> SessionOut:
    """The CLI's last step: the one-time code and its PKCE verifier give a bearer session."""
    with ctx.db.session() as s:
        row = s.scalar(select(OidcLoginCode).where(OidcLoginCode.code_hash == digest(body.code)))
        if row is not None:
            s.delete(row)
    if row is None or row.expires_at <= utcnow() or not hmac.compare_digest(s256(body.verifier), row.challenge):
        raise Problem(400, "Invalid code", "The login code is invalid or has expired.", "invalid-login-code")
    with ctx.db.session() as s:
        user = s.get(User, row.user_id)
        assert user is not None
        token, sess = service.create_session(ctx, s, user.id, "bearer")
        return SessionOut(user=user_out(user), kind="bearer", expires_at=sess.expires_at, token=token)


def _take_state(ctx: ServerContext, prov: OidcProvider, state: str, browser: str) -> OidcState:
    with ctx.db.session() as s:
        row = s.scalar(select(OidcState).where(OidcState.state_hash == digest(state))) if state else None
        if row is not None:
            s.delete(row)
    if (
        row is None
        or row.provider != prov.name
        or row.created_at < utcnow() - STATE_TTL
        or not hmac.compare_digest(digest(browser), row.browser_hash)
    ):
        raise Problem(400, "Login failed", "The login state is invalid or has expired; start again.", "oidc-bad-state")
    return row


def _exchange(ctx: ServerContext, prov: OidcProvider, code: str, pending: OidcState) -> dict[str, Any]:
    found = ctx.oidc.discover(prov)
    try:
        with _client(ctx, prov) as client:
            token = client.fetch_token(
                found.metadata["token_endpoint"],
                code=code,
                code_verifier=pending.code_verifier,
                grant_type="authorization_code",
            )
    except Exception as e:  # authlib raises several types for a refused or broken exchange
        raise Problem(
            502, "Bad Gateway", f"The identity provider refused the code ({type(e).__name__}).", "oidc-provider-error"
        ) from e
    id_token = token.get("id_token")
    if not id_token:
        raise Problem(502, "Bad Gateway", "The identity provider sent no ID token.", "oidc-provider-error")
    return _check_id_token(ctx, prov, id_token, pending.nonce)


def _check_id_token(ctx: ServerContext, prov: OidcProvider, id_token: str, nonce: str) -> dict[str, Any]:
    try:
        try:
            decoded = jwt.decode(id_token, ctx.oidc.discover(prov).keys, algorithms=_ALGORITHMS)
        except JoseError:  # perhaps the provider rotated its keys
            decoded = jwt.decode(id_token, ctx.oidc.discover(prov, refresh_keys=True).keys, algorithms=_ALGORITHMS)
        claims = decoded.claims
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": prov.issuer},
            sub={"essential": True},
            aud={"essential": True, "value": prov.client_id},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(claims)
    except (JoseError, ValueError) as e:
        raise Problem(
            401, "Login failed", f"The ID token is not valid ({type(e).__name__}).", "oidc-bad-id-token"
        ) from e
    aud = claims.get("aud")
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != prov.client_id:
        raise Problem(401, "Login failed", "The ID token is for another client.", "oidc-bad-id-token")
    return claims


def _user_for(ctx: ServerContext, s: Any, prov: OidcProvider, claims: dict[str, Any]) -> User:
    """The user linked to this outside identity; linked by verified email, or created, on first login."""
    subject = str(claims["sub"])
    link = s.scalar(select(OidcIdentity).where(OidcIdentity.provider == prov.name, OidcIdentity.subject == subject))
    if link is not None:
        user = s.get(User, link.user_id)
        assert user is not None
        org_service.activate(s, user.email)
        return user
    try:
        email = normalize_email(str(claims.get("email") or ""))
    except ValueError:
        email = ""
    if not email or claims.get("email_verified") is not True:
        raise Problem(
            403, "Login failed", "The identity provider gave no verified email address.", "oidc-no-verified-email"
        )
    user = s.scalar(select(User).where(User.email == email))
    if user is not None and user.email_verified_at is None:
        # Someone signed up with this address but never proved it: that account goes with everything it had
        # (password, sessions, machine tokens, devices, keys, shards); the owner gets a fresh one.
        service.drop_user(s, user.id)
        user = None
    if user is None:
        user = service.create_user(ctx, s, email, None, verified=True)
    s.add(OidcIdentity(user_id=user.id, provider=prov.name, subject=subject, email=email))
    s.flush()
    org_service.activate(s, email)  # members pre-added by an admin or SCIM are active at their first login
    return user
