"""The c11 server: one ASGI application whose services each live in their own package and router.

`create_app(config)` builds it; importing this package stays cheap (FastAPI is loaded on first use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from c11.server.app import create_app as create_app
    from c11.server.config import Config as Config

__all__ = ["Config", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from c11.server.app import create_app

        return create_app
    if name == "Config":
        from c11.server.config import Config

        return Config
    raise AttributeError(name)
