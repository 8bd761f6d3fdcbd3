"""The one place to customise how notifications look: product name, colours, footer, base URL.

Every template receives a `Branding` as `brand`. Override it per deployment with `Branding(...)` or
`branding_from_env()` (C11_BRAND_PRODUCT_NAME, C11_BRAND_PRIMARY_COLOR, C11_BRAND_FOOTER).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Branding:
    """Look and wording shared by every notification."""

    product_name: str = "c11"
    #: External base URL of the server; every link in a message must start with it.
    base_url: str = "http://127.0.0.1:8000"
    primary_color: str = "#1f4e79"
    accent_color: str = "#2e7d32"
    text_color: str = "#1a1a1a"
    muted_color: str = "#6b6b6b"
    background_color: str = "#f4f6f8"
    footer: str = (
        "You receive this email because of activity on your account. Protected documents never travel in email."
    )
    #: Shown as the sender's display name when the configured From has none.
    sender_name: str = "c11"

    def link(self, path: str) -> str:
        """An absolute link to `path` on this server."""
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"


def branding_from_env(base_url: str, env: Mapping[str, str] | None = None) -> Branding:
    """Default branding with the base URL and any C11_BRAND_* overrides."""
    env = os.environ if env is None else env
    b = Branding(base_url=base_url.rstrip("/"))
    overrides = {
        "product_name": env.get("C11_BRAND_PRODUCT_NAME"),
        "primary_color": env.get("C11_BRAND_PRIMARY_COLOR"),
        "footer": env.get("C11_BRAND_FOOTER"),
    }
    return replace(b, **{k: v for k, v in overrides.items() if v})
