"""Account calls: sign up, verify, log in (OPAQUE or OIDC browser flow), log out, whoami, password.

Every password flow is OPAQUE (RFC 9807, c11._web.pake): the password never leaves this device, except the
one last password login of an account made before OPAQUE that the user asks for (`--legacy-password`).

Used through `Client`; a successful login sets the client's token.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from c11._web import pake
from c11.client._http import HttpCore
from c11.client.types import LoginResult, User, WhoAmI
from c11.errors import AuthError, ServerError, UsageError

#: The password rules the server can no longer check (it never sees the password): at least 10 characters.
MIN_PASSWORD, MAX_PASSWORD = 10, 1024
LEGACY_HINT = (
    "wrong email or password (if your account predates OPAQUE, log in once with `c11 login --legacy-password`)"
)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"passwords need at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UsageError(f"passwords have at most {MAX_PASSWORD} characters")


class AccountsAPI:
    """The /api/v1/accounts, /sessions and /account routes."""

    def __init__(self, core: HttpCore) -> None:
        self._core = core

    def signup(self, email: str, password: str) -> User:
        """Create an account by OPAQUE registration (the password never leaves this device)."""
        _check_password(password)
        reg = pake.ClientRegistration.start(password)
        d = self._core.request(
            "POST", "/api/v1/accounts/signup/start", {"email": email, "request": pake.b64u(reg.request)}, auth=False
        )
        upload = reg.finish(pake.unb64u(str(d["response"])))
        return User.from_json(
            self._core.request(
                "POST",
                "/api/v1/accounts",
                {"email": email, "signup_id": d["signup_id"], "registration": pake.b64u(upload)},
                auth=False,
            )
        )

    def verify_email(self, token: str) -> User | None:
        """Confirm the email with a verification link's token, under this client's login to that account."""
        self._core.request("POST", "/api/v1/account/verify", {"token": token})
        return None

    def login(
        self, email: str, password: str, device_token: str | None = None, legacy_password: bool = False
    ) -> LoginResult:
        """Log in by OPAQUE (the password never leaves this device). Only with `legacy_password` (the user asked
        for it: `c11 login --legacy-password`) does an account made before OPAQUE send its password, this one
        last time, and register OPAQUE at once (the server then deletes its Argon2 hash); no server answer
        ever makes this client send it. `device_token` (from an earlier login here) passes the login backoff."""
        if not legacy_password:
            return self._opaque_login(email, password, device_token)
        body = {"email": email, "password": password, "kind": "bearer"}
        if device_token:
            body["device_token"] = device_token
        d = self._core.request("POST", "/api/v1/sessions", body, auth=False)
        self._core.token = d["token"]
        self.register_opaque(password)
        return LoginResult(
            User.from_json(d["user"]), d["token"], datetime.fromisoformat(d["expires_at"]), d.get("device_token")
        )

    def _opaque_login(self, email: str, password: str, device_token: str | None) -> LoginResult:
        attempt = pake.ClientLogin.start(password)
        d = self._core.request(
            "POST",
            "/api/v1/sessions/opaque/start",
            {"email": email, "request": pake.b64u(attempt.request), "device_token": device_token},
            auth=False,
        )
        try:
            final, _ = attempt.finish(pake.unb64u(str(d["response"])))
        except AuthError:  # a wrong password (or no record), seen here: a KE3 that fails makes the server count it
            self._report_failure(str(d.get("login_id", "")))
            raise AuthError(LEGACY_HINT, 401) from None
        done = self._core.request(
            "POST",
            "/api/v1/sessions/opaque/finish",
            {
                "login_id": d["login_id"],
                "finalization": pake.b64u(final),
                "kind": "bearer",
                "device_token": device_token,
            },
            auth=False,
        )
        self._core.token = done["token"]
        return LoginResult(
            User.from_json(done["user"]),
            done["token"],
            datetime.fromisoformat(done["expires_at"]),
            done.get("device_token"),
        )

    def _report_failure(self, login_id: str) -> None:
        """Finish a login whose KE2 the password did not open with a KE3 that proves nothing (the server's 401
        is expected): the account's failure is counted there, as the login backoff needs."""
        try:
            self._core.request(
                "POST",
                "/api/v1/sessions/opaque/finish",
                {"login_id": login_id[:64], "finalization": pake.b64u(bytes(64)), "kind": "bearer"},
                auth=False,
            )
        except ServerError:
            pass

    def register_opaque(self, password: str) -> None:
        """Register (or replace: a password change) this account's OPAQUE record; needs a login at most ten
        minutes old. Replacing it ends the account's other sessions."""
        _check_password(password)
        reg = pake.ClientRegistration.start(password)
        d = self._core.request("POST", "/api/v1/account/opaque/start", {"request": pake.b64u(reg.request)})
        upload = reg.finish(pake.unb64u(str(d["response"])))
        self._core.request("PUT", "/api/v1/account/opaque", {"registration": pake.b64u(upload)})

    def request_password_reset(self, email: str) -> str:
        """Ask for a reset link by email; returns what a reset does not restore (the server says it)."""
        d = self._core.request("POST", "/api/v1/accounts/password-reset", {"email": email}, auth=False)
        return str(d.get("not_restored", ""))

    def reset_password(self, token: str, new_password: str) -> dict[str, Any]:
        """Set a new password with the token of a reset link, by a new OPAQUE registration (the password
        never leaves this device); every session of the account ends."""
        _check_password(new_password)
        reg = pake.ClientRegistration.start(new_password)
        d = self._core.request(
            "POST",
            "/api/v1/accounts/password-reset/start",
            {"token": token, "request": pake.b64u(reg.request)},
            auth=False,
        )
        upload = reg.finish(pake.unb64u(str(d["response"])))
        return dict(
            self._core.request(
                "POST",
                "/api/v1/accounts/password-reset/complete",
                {"token": token, "registration": pake.b64u(upload)},
                auth=False,
            )
        )

    def logout(self) -> None:
        self._core.request("DELETE", "/api/v1/sessions/current")
        self._core.token = None

    def whoami(self) -> WhoAmI:
        return WhoAmI.from_json(self._core.request("GET", "/api/v1/account"))

    def change_password(self, email: str, current: str, new: str) -> None:
        """Log in again with `current` (OPAQUE: proves it without sending it), then register `new`; the
        account's other sessions end."""
        self.login(email, current)
        self.register_opaque(new)

    def providers(self) -> list[dict[str, Any]]:
        return list(self._core.request("GET", "/api/v1/auth/oidc/providers", auth=False))

    def oidc_login(self, provider: str, open_url: Callable[[str], None], timeout: float = 300.0) -> LoginResult:
        """Log in through an identity provider: `open_url` shows the login page in a browser;
        a one-shot listener on 127.0.0.1 receives the code, traded with a PKCE verifier for a token."""
        from c11.client._loopback import LoopbackReceiver

        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        with LoopbackReceiver() as receiver:
            query = urlencode({"cli_port": receiver.port, "cli_challenge": challenge})
            open_url(f"{self._core.server}/api/v1/auth/oidc/{provider}/login?{query}")
            code = receiver.wait(timeout)
        if not code:
            raise ServerError("no login code arrived from the browser", 0)
        d = self._core.request("POST", "/api/v1/auth/oidc/token", {"code": code, "verifier": verifier}, auth=False)
        self._core.token = d["token"]
        return LoginResult(User.from_json(d["user"]), d["token"], datetime.fromisoformat(d["expires_at"]))
