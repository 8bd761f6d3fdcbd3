"""Logging in to the c11 server with OPAQUE (docs/shards.md §8): the password never leaves this device.

from c11.client import Client
from c11.client import opaque_login
with Client(url) as c:
    result = opaque_login.login(c, email, password)
    # c.login(email, password) does this; c.login(..., legacy_password=True) (asked by the user) logs in an
    # account made before OPAQUE with the password once and registers (c11.client.accounts)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from c11.client.types import LoginResult

if TYPE_CHECKING:
    from c11.client import Client


def login(client: Client, email: str, password: str, device_token: str | None = None) -> LoginResult:
    """Log in with OPAQUE (the client then uses the new token). AuthError for a wrong password, an account
    without an OPAQUE registration, or a server that is not the one you registered with."""
    return client._accounts._opaque_login(email, password, device_token)


def register(client: Client, password: str) -> None:
    """Register `password` for OPAQUE logins at the c11 server (needs a login at most 10 minutes old)."""
    client._accounts.register_opaque(password)
