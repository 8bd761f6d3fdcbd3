"""HTTP routes of accounts: email verification, the (legacy) password login, logout, whoami, reset request.

Sign-up, OPAQUE login, password change and reset completion are OPAQUE flows (accounts.opaque): the
password never reaches the server. `POST /sessions` with a password is only for accounts made before
OPAQUE (an Argon2 hash, no OPAQUE record): the client registers OPAQUE right after (docs/server.md).

Public routes are on `public`; the rest on `router`, which requires a logged-in caller.
"""

from __future__ import annotations

import html

from fastapi import APIRouter, BackgroundTasks, Depends, Request, Response
from fastapi.responses import HTMLResponse

from c11.server.accounts import reset, service
from c11.server.accounts.client_address import client_address
from c11.server.accounts.limits import DEVICE_COOKIE
from c11.server.accounts.models import User
from c11.server.accounts.schemas import (
    AuthInfo,
    LoginIn,
    ResetRequestedOut,
    ResetRequestIn,
    SessionOut,
    UserOut,
    VerifiedOut,
    VerifyIn,
    WhoAmIOut,
)
from c11.server.auth import SESSION_COOKIE, AccountLogin, AccountUser, require_account
from c11.server.context import Ctx, ServerContext
from c11.server.problems import Problem, responses
from c11.server.webapp import SECURITY_HEADERS

public = APIRouter(prefix="/api/v1", tags=["accounts"], responses=responses(400, 401, 409, 422, 429))
router = APIRouter(
    prefix="/api/v1",
    tags=["accounts"],
    dependencies=[Depends(require_account)],
    responses=responses(401, 403, 409, 422),
)


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id, email=user.email, email_verified=user.email_verified_at is not None, created_at=user.created_at
    )


def deliver_later(tasks: BackgroundTasks, ctx: ServerContext) -> None:
    """Wake the notification worker after the response (the rows are committed by then)."""
    tasks.add_task(ctx.wake_delivery)


def set_session_cookie(response: Response, ctx: ServerContext, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=ctx.config.session_ttl_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=ctx.config.cookie_secure,
    )


@router.post("/account/verify", response_model=VerifiedOut, summary="Confirm your email address")
def verify(body: VerifyIn, principal: AccountLogin, ctx: Ctx) -> VerifiedOut:
    """The token of the emailed link, sent under a login session of the account that signed up (403
    `wrong-account` otherwise): the link alone, or a login alone, confirms nothing."""
    with ctx.db.session() as s:
        user = service.verify_email(s, body.token, principal.user_id)
        return VerifiedOut(email=user.email, email_verified=True)


@public.get("/accounts/verify", response_class=HTMLResponse, summary="Verification link (HTML page)")
def verify_page(token: str, ctx: Ctx) -> HTMLResponse:
    """The page the emailed link opens: says how to confirm (opening the link, as mail scanners do, confirms
    nothing; the owner logs in, by OPAQUE, and sends the token: the browser app or `c11 verify LINK`)."""
    try:
        with ctx.db.session() as s:
            email = service.pending_verification(s, token)[1].email
    except Problem as p:
        return HTMLResponse(
            _page("Link not valid", p.detail or p.title), status_code=p.status, headers=SECURITY_HEADERS
        )
    base = ctx.config.base_url
    return HTMLResponse(
        _page(
            f"Confirm {email}",
            "To confirm this address, log in to the account you signed up "
            f"with: open {base}/verify#token=... (this page's link in the c11 app), or run "
            f"`c11 verify --server {base} LINK` with this page's address as LINK. If you did not "
            "sign up with this address, close this page: the account expires unconfirmed.",
        )
        + f'<p data-email="{html.escape(email, quote=True)}"></p>',
        headers=SECURITY_HEADERS,
    )


def _page(title: str, text: str) -> str:
    return (
        f"<!doctype html><meta charset=utf-8><title>c11: {html.escape(title)}</title>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>"
    )


@public.post("/sessions", status_code=201, response_model=SessionOut, summary="Log in")
def login(body: LoginIn, request: Request, response: Response, ctx: Ctx) -> SessionOut:
    """Log in with email and password: a session cookie (web) or a bearer token (CLI, SDK). The known-device
    token (body `device_token`, or the `c11_device` cookie) lets the right password pass the login backoff."""
    device = body.device_token.get_secret_value() if body.device_token else request.cookies.get(DEVICE_COOKIE)
    user, new_device = service.authenticate_password(
        ctx, body.email, body.password.get_secret_value(), client_address(request, ctx.config), device
    )
    with ctx.db.session() as s:
        token, row = service.create_session(ctx, s, user.id, body.kind)
    if body.kind == "cookie":
        set_session_cookie(response, ctx, token)
        if new_device:
            response.set_cookie(
                DEVICE_COOKIE,
                new_device,
                max_age=ctx.config.known_device_days * 86400,
                path="/api/v1/sessions",
                httponly=True,
                samesite="strict",
                secure=ctx.config.cookie_secure,
            )
    bearer = body.kind == "bearer"
    return SessionOut(
        user=user_out(user),
        kind=body.kind,
        expires_at=row.expires_at,
        token=token if bearer else None,
        device_token=new_device if bearer else None,
    )


@public.post("/accounts/password-reset", status_code=202, summary="Ask for a password reset link")
def request_password_reset(body: ResetRequestIn, tasks: BackgroundTasks, ctx: Ctx) -> ResetRequestedOut:
    """Email a single-use reset link to the account of this address, if it has a verified one; the answer
    is the same either way (it does not tell whether an account exists)."""
    with ctx.db.session() as s:
        reset.request_reset(ctx, s, body.email)
    deliver_later(tasks, ctx)
    return ResetRequestedOut(not_restored=reset.NOT_RESTORED)


@public.get("/accounts/password-reset", response_class=HTMLResponse, summary="Reset link (HTML page)")
def reset_page(ctx: Ctx) -> HTMLResponse:
    """The page the emailed link opens: how to choose the new password (the link itself stays unused)."""
    return HTMLResponse(
        _page(
            "Choose a new password",
            f"Run `c11 password reset --server {ctx.config.base_url}` "
            "and paste the link from the email when it asks. " + reset.NOT_RESTORED,
        ),
        headers=SECURITY_HEADERS,
    )


@router.delete("/sessions/current", status_code=204, summary="Log out")
def logout(response: Response, principal: AccountUser, ctx: Ctx) -> Response:
    with ctx.db.session() as s:
        service.logout(s, principal)
    response.status_code = 204
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=ctx.config.cookie_secure)
    return response


@router.get("/account", response_model=WhoAmIOut, summary="Who am I")
def whoami(principal: AccountUser, ctx: Ctx) -> WhoAmIOut:
    with ctx.db.session() as s:
        user = s.get(User, principal.user_id)
        assert user is not None
        base = user_out(user)
    return WhoAmIOut(
        **base.model_dump(),
        auth=AuthInfo(kind=principal.kind, credential_id=principal.credential_id, scopes=sorted(principal.scopes)),
    )


@router.post("/account/verification", status_code=202, summary="Resend the verification email")
def resend_verification(tasks: BackgroundTasks, principal: AccountLogin, ctx: Ctx) -> Response:
    with ctx.db.session() as s:
        user = s.get(User, principal.user_id)
        assert user is not None
        if user.email_verified_at is not None:
            raise Problem(409, "Conflict", "The email address is already verified.", "already-verified")
        service.send_verification(ctx, s, user)
    deliver_later(tasks, ctx)
    return Response(status_code=202)
