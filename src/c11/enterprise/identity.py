"""Who is asking: validating the organization's OIDC tokens (issuer, audience, expiry, JWKS) and mapping claims.

The provider's discovery document names its JWKS; keys are cached and fetched again (at most every 30 s) when a
token names a key the cache lacks, which is how the provider's key rotation is followed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from c11.errors import C11Error

_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
_REFRESH_EVERY = 30.0
_LEEWAY = 30


class TokenRefused(C11Error):
    """The token does not identify a member (the reason is for the audit table only)."""


@dataclass(frozen=True)
class Principal:
    """A member as the IdP vouches for them."""

    email: str
    subject: str
    groups: tuple[str, ...]


@dataclass(frozen=True)
class ClaimRules:
    """How claims map to a member, and what a token must carry."""

    issuer: str
    audience: str
    email_claim: str = "email"
    groups_claim: str = "groups"
    required_group: str | None = None
    allowed_domains: tuple[str, ...] = ()
    trust_issuer_email: bool = False
    max_lifetime: int = 3600


class TokenVerifier:
    """Checks bearer tokens against one OIDC provider; thread-safe, one per application."""

    def __init__(self, rules: ClaimRules, http: httpx.Client) -> None:
        self.rules = rules
        self._http = http
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._fetched = 0.0

    def _keyset(self, refresh: bool) -> KeySet:
        with self._lock:
            stale = refresh and time.monotonic() - self._fetched > _REFRESH_EVERY
            if self._keys is None or stale:
                try:
                    disc = self._http.get(f"{self.rules.issuer}/.well-known/openid-configuration").json()
                    if disc.get("issuer", "").rstrip("/") != self.rules.issuer:
                        raise TokenRefused("the discovery document names another issuer")
                    self._keys = KeySet.import_key_set(self._http.get(disc["jwks_uri"]).json())
                except (httpx.HTTPError, ValueError, KeyError, TypeError, JoseError) as e:
                    raise TokenRefused(f"identity provider unreachable or invalid ({type(e).__name__})") from None
                self._fetched = time.monotonic()
            return self._keys

    def verify(self, token: str) -> Principal:
        """The member a token identifies, or TokenRefused."""
        if len(token) > 16384:
            raise TokenRefused("token too long")
        try:
            try:
                claims = jwt.decode(token, self._keyset(False), algorithms=_ALGORITHMS).claims
            except JoseError:  # perhaps the provider rotated its keys
                claims = jwt.decode(token, self._keyset(True), algorithms=_ALGORITHMS).claims
            now = int(time.time())
            jwt.JWTClaimsRegistry(
                now=now,
                leeway=_LEEWAY,
                iss={"essential": True, "value": self.rules.issuer},
                aud={"essential": True, "value": self.rules.audience},
                exp={"essential": True},
                iat={"essential": True},
                sub={"essential": True},
            ).validate(claims)
        except (JoseError, ValueError) as e:
            raise TokenRefused(f"invalid token ({type(e).__name__})") from None
        return self._principal(claims)

    def _principal(self, claims: dict[str, Any]) -> Principal:
        r = self.rules
        aud = claims.get("aud")
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != r.audience:
            raise TokenRefused("token for several audiences without azp")
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int) or not isinstance(iat, int) or exp - iat > r.max_lifetime:
            raise TokenRefused("token lifetime too long")
        email = claims.get(r.email_claim)
        if not isinstance(email, str) or "@" not in email:
            raise TokenRefused(f"no email in claim {r.email_claim!r}")
        email = email.strip().lower()
        if not r.trust_issuer_email and claims.get("email_verified") is not True:
            raise TokenRefused("email not verified")
        if r.allowed_domains and email.rpartition("@")[2] not in r.allowed_domains:
            raise TokenRefused("email domain not allowed")
        raw_groups = claims.get(r.groups_claim, [])
        groups = tuple(g for g in raw_groups if isinstance(g, str)) if isinstance(raw_groups, list) else ()
        if r.required_group and r.required_group not in groups:
            raise TokenRefused("not in the required group")
        return Principal(email, str(claims["sub"]), groups)
