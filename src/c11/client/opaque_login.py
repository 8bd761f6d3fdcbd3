"""Logging in to the c11 server with OPAQUE (docs/shards.md §8): the password never leaves this device.

    from c11.client import Client
    from c11.client import opaque_login
    with Client(url) as c:
        result = opaque_login.login(c, email, password)     # None: no OPAQUE registration yet
        if result is None:
            result = c.login(email, password)               # the Argon2 password login, once
            opaque_login.register(c, password)              # later logins use OPAQUE
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from c11._web import pake
from c11.client.types import LoginResult, User
from c11.errors import ServerError

if TYPE_CHECKING:
    from c11.client import Client


def login(client: Client, email: str, password: str, device_token: str | None = None) -> LoginResult | None:
    """Log in with OPAQUE (the client then uses the new token); None when the account has no OPAQUE
    registration. AuthError for a wrong password (or a server that is not the one you registered with)."""
    core = client._core
    attempt = pake.ClientLogin.start(password)
    try:
        d = core.request("POST", "/api/v1/sessions/opaque/start",
                         {"email": email, "request": pake.b64u(attempt.request), "device_token": device_token},
                         auth=False)
    except ServerError as e:
        not_registered = e.status == 404 and str((e.problem or {}).get("type", "")).endswith(":not-registered")
        if not_registered or e.status == 405:  # 405: a server without OPAQUE logins
            return None
        raise
    final, _ = attempt.finish(pake.unb64u(str(d["response"])))
    done = core.request("POST", "/api/v1/sessions/opaque/finish",
                        {"login_id": d["login_id"], "finalization": pake.b64u(final), "kind": "bearer",
                         "device_token": device_token}, auth=False)
    core.token = done["token"]
    return LoginResult(User.from_json(done["user"]), done["token"], datetime.fromisoformat(done["expires_at"]),
                       done.get("device_token"))


def register(client: Client, password: str) -> None:
    """Register `password` for OPAQUE logins at the c11 server (needs a login at most 10 minutes old)."""
    core = client._core
    reg = pake.ClientRegistration.start(password)
    d = core.request("POST", "/api/v1/account/opaque/start", {"request": pake.b64u(reg.request)})
    upload = reg.finish(pake.unb64u(str(d["response"])))
    core.request("PUT", "/api/v1/account/opaque", {"registration": pake.b64u(upload)})
