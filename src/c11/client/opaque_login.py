"""Logging in to the c11 server with OPAQUE (docs/shards.md §8): the password never leaves this device.

from c11.client import Client
from c11.client import opaque_login
with Client(url) as c:
    result = opaque_login.login(c, email, password)     # None: no OPAQUE registration yet
    # c.login(email, password) does this, and for an account made before OPAQUE logs in with the
    # password once and registers (c11.client.accounts)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from c11.client.types import LoginResult

if TYPE_CHECKING:
    from c11.client import Client


def login(client: Client, email: str, password: str, device_token: str | None = None) -> LoginResult | None:
    """Log in with OPAQUE (the client then uses the new token); None when the account has no OPAQUE
    registration. AuthError for a wrong password (or a server that is not the one you registered with)."""
    return client._accounts._opaque_login(email, password, device_token)


def register(client: Client, password: str) -> None:
    """Register `password` for OPAQUE logins at the c11 server (needs a login at most 10 minutes old)."""
    client._accounts.register_opaque(password)
