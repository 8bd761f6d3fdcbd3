"""What a running application holds: config, database, mail transport, password hasher.

One `ServerContext` per app, kept on `app.state.ctx`; routes reach it through the `get_ctx` dependency.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from fastapi import Depends, Request

from c11.server.config import Config
from c11.server.db import Database
from c11.server.outbox.transport import Transport
from c11.server.passwords import Passwords

if TYPE_CHECKING:
    from c11.server.oidc import OidcClients

T = TypeVar("T")


@dataclass
class ServerContext:
    """Everything a request handler needs besides the request."""

    config: Config
    db: Database
    transport: Transport
    passwords: Passwords
    oidc: OidcClients = field(default=None)  # type: ignore[assignment]
    _services: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def service(self, name: str, factory: Callable[[ServerContext], T]) -> T:
        """The app's one `name` service, made by `factory(self)` on first use (thread-safe; a factory may
        ask for other services)."""
        svc = self._services.get(name)
        if svc is None:
            with self._lock:
                svc = self._services.get(name)
                if svc is None:
                    svc = self._services[name] = factory(self)
        return svc


def get_ctx(request: Request) -> ServerContext:
    return request.app.state.ctx


#: Route parameter type: the application's context.
Ctx = Annotated[ServerContext, Depends(get_ctx)]
