"""Account calls: sign up, verify, log in (password or OIDC browser flow), log out, whoami, password.

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

from c11.client._http import HttpCore
from c11.client.types import LoginResult, User, WhoAmI
from c11.errors import ServerError


class AccountsAPI:
    """The /api/v1/accounts, /sessions and /account routes."""

    def __init__(self, core: HttpCore) -> None:
        self._core = core

    def signup(self, email: str, password: str) -> User:
        return User.from_json(self._core.request("POST", "/api/v1/accounts",
                                                 {"email": email, "password": password}, auth=False))

    def verify_email(self, token: str, password: str) -> User | None:
        self._core.request("POST", "/api/v1/accounts/verify", {"token": token, "password": password}, auth=False)
        return None

    def login(self, email: str, password: str, device_token: str | None = None) -> LoginResult:
        """Log in; `device_token` (from an earlier login on this device) passes the login backoff."""
        body = {"email": email, "password": password, "kind": "bearer"}
        if device_token:
            body["device_token"] = device_token
        d = self._core.request("POST", "/api/v1/sessions", body, auth=False)
        self._core.token = d["token"]
        return LoginResult(User.from_json(d["user"]), d["token"], datetime.fromisoformat(d["expires_at"]),
                           d.get("device_token"))

    def request_password_reset(self, email: str) -> str:
        """Ask for a reset link by email; returns what a reset does not restore (the server says it)."""
        d = self._core.request("POST", "/api/v1/accounts/password-reset", {"email": email}, auth=False)
        return str(d.get("not_restored", ""))

    def reset_password(self, token: str, new_password: str) -> dict[str, Any]:
        """Set a new password with the token of a reset link; every session of the account ends."""
        return dict(self._core.request("POST", "/api/v1/accounts/password-reset/complete",
                                       {"token": token, "new_password": new_password}, auth=False))

    def logout(self) -> None:
        self._core.request("DELETE", "/api/v1/sessions/current")
        self._core.token = None

    def whoami(self) -> WhoAmI:
        return WhoAmI.from_json(self._core.request("GET", "/api/v1/account"))

    def change_password(self, current: str, new: str) -> None:
        self._core.request("POST", "/api/v1/account/password",
                           {"current_password": current, "new_password": new})

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
        d = self._core.request("POST", "/api/v1/auth/oidc/token", {"code": code, "verifier": verifier},
                               auth=False)
        self._core.token = d["token"]
        return LoginResult(User.from_json(d["user"]), d["token"], datetime.fromisoformat(d["expires_at"]))
