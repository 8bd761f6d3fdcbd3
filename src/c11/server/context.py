"""What a running application holds: config, database, mail transport, password hasher.

One `ServerContext` per app, kept on `app.state.ctx`; routes reach it through the `get_ctx` dependency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from c11.server.config import Config
from c11.server.db import Database
from c11.server.outbox.transport import Transport
from c11.server.passwords import Passwords

if TYPE_CHECKING:
    from c11.server.oidc import OidcClients


@dataclass
class ServerContext:
    """Everything a request handler needs besides the request."""

    config: Config
    db: Database
    transport: Transport
    passwords: Passwords
    oidc: OidcClients = field(default=None)  # type: ignore[assignment]


def get_ctx(request: Request) -> ServerContext:
    return request.app.state.ctx


#: Route parameter type: the application's context.
Ctx = Annotated[ServerContext, Depends(get_ctx)]
