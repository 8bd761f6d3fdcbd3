"""`Client`: typed access to a c11 server; account calls are methods, other services are attributes.

Later services add an attribute (e.g. `client.registry`) built on the same `HttpCore`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from c11.client._http import HttpCore
from c11.client.accounts import AccountsAPI
from c11.client.credentials import CredentialsStore
from c11.client.services import ServicesMixin
from c11.client.tokens import TokensAPI
from c11.client.types import LoginResult, User, WhoAmI
from c11.errors import ConfigError


class Client(ServicesMixin):
    """A connection to one c11 server, authenticated with `token` (a login or a machine token)."""

    def __init__(
        self,
        server: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._core = HttpCore(server, token, timeout, transport)
        self._accounts = AccountsAPI(self._core)
        #: Machine tokens: `create`, `list`, `revoke`.
        self.tokens = TokensAPI(self._core)

    @classmethod
    def from_environment(
        cls,
        server: str | None = None,
        config: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 30.0,
    ) -> Client:
        """A client for automation or the CLI: `C11_TOKEN` (else the stored login) and
        `server`, else `C11_SERVER`, else the stored login's server; `timeout` in seconds per request."""
        env = os.environ if env is None else env
        stored = CredentialsStore(config).load()
        server = server or env.get("C11_SERVER") or (stored.server if stored else None)
        if not server:
            raise ConfigError("no server: give one, set C11_SERVER, or log in first", reason="no-server")
        token = env.get("C11_TOKEN") or (
            stored.token if stored and stored.server.rstrip("/") == server.rstrip("/") else None
        )
        return cls(server, token, timeout=timeout)

    @property
    def server(self) -> str:
        return self._core.server

    @property
    def token(self) -> str | None:
        return self._core.token

    def close(self) -> None:
        self._core.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def signup(self, email: str, password: str) -> User:
        """Create an account by OPAQUE registration (the password never leaves this device); a verification
        email is sent. Log in, then `verify_email` with the link's token."""
        return self._accounts.signup(email, password)

    def verify_email(self, token: str) -> None:
        """Confirm your email address with the token from the verification link (needs this client logged in
        to the account that signed up)."""
        self._accounts.verify_email(token)

    def login(
        self, email: str, password: str, device_token: str | None = None, legacy_password: bool = False
    ) -> LoginResult:
        """Log in by OPAQUE (`legacy_password`, asked by the user: an account made before OPAQUE sends its
        password this last time, then registers OPAQUE); the client then uses the new bearer token.
        `device_token`: this device's known-device token (c11.client.devices), which passes the login backoff."""
        return self._accounts.login(email, password, device_token, legacy_password)

    def request_password_reset(self, email: str) -> str:
        """Ask for a password reset link by email; returns what a reset does not restore."""
        return self._accounts.request_password_reset(email)

    def reset_password(self, token: str, new_password: str) -> dict[str, Any]:
        """Set a new password with the token of an emailed reset link (every session ends)."""
        return self._accounts.reset_password(token, new_password)

    def login_oidc(self, provider: str, open_url: Callable[[str], None], timeout: float = 300.0) -> LoginResult:
        """Log in through an identity provider in a browser (`open_url` opens the page)."""
        return self._accounts.oidc_login(provider, open_url, timeout)

    def providers(self) -> list[dict[str, Any]]:
        """The identity providers the server offers."""
        return self._accounts.providers()

    def logout(self) -> None:
        """End this login session on the server."""
        self._accounts.logout()

    def whoami(self) -> WhoAmI:
        """The account and credential this client uses."""
        return self._accounts.whoami()

    def change_password(self, current: str, new: str) -> None:
        """Change the password: an OPAQUE login with `current`, then a new OPAQUE registration of `new` (neither
        is sent); the account's other sessions end and this client holds the new login."""
        self._accounts.change_password(self.whoami().email, current, new)
