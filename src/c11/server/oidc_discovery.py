"""Each OpenID provider's discovery document and signing keys, cached per app (docs/server.md, OIDC logins).

Below the OIDC routes and the server context, so that the context can hold the cache without importing routes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from c11.server.config import OidcProvider
from c11.server.problems import Problem

_METADATA_TTL = 3600.0


@dataclass
class _Discovered:
    metadata: dict[str, Any]
    keys: KeySet
    fetched: float


@dataclass
class OidcClients:
    """Per-app cache of each provider's discovery document and keys (no module-level state)."""

    timeout: float = 10.0
    _cache: dict[str, _Discovered] = field(default_factory=dict)

    def discover(self, provider: OidcProvider, refresh_keys: bool = False) -> _Discovered:
        hit = self._cache.get(provider.name)
        if hit and not refresh_keys and time.monotonic() - hit.fetched < _METADATA_TTL:
            return hit
        try:
            url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
            meta = httpx.get(url, timeout=self.timeout).raise_for_status().json()
            if meta.get("issuer") != provider.issuer:
                raise Problem(
                    502, "Bad Gateway", "The identity provider's issuer does not match.", "oidc-provider-error"
                )
            jwks = httpx.get(meta["jwks_uri"], timeout=self.timeout).raise_for_status().json()
            found = _Discovered(meta, KeySet.import_key_set(jwks), time.monotonic())
        except (httpx.HTTPError, KeyError, ValueError, JoseError) as e:
            raise Problem(
                502, "Bad Gateway", f"The identity provider is unavailable ({type(e).__name__}).", "oidc-provider-error"
            ) from e
        self._cache[provider.name] = found
        return found
