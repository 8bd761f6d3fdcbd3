"""What a running application holds: config, database, password hasher, notifier (the outbox's delivery).

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
from c11.server.passwords import Passwords

if TYPE_CHECKING:
    from c11.notify.service import Notifier
    from c11.server.oidc_discovery import OidcClients

T = TypeVar("T")


@dataclass
class ServerContext:
    """Everything a request handler needs besides the request."""

    config: Config
    db: Database
    passwords: Passwords
    oidc: OidcClients = field(default=None)  # type: ignore[assignment]
    #: Delivers the outbox (`create_app` makes it); without one (`c11 org create`), a running server's worker does.
    notifier: Notifier | None = None
    _services: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    def wake_delivery(self) -> None:
        """After a transaction that queued emails committed: let the notifier deliver them now."""
        if self.notifier is not None:
            self.notifier.wake()

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
