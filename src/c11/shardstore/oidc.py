"""The shard store's own OpenID Connect login (docs/shards.md §8.5): for accounts without a password.

The store is a client of the person's identity provider with its own registration (client ID and secret, set
at the store): it runs the authorization-code flow with PKCE and a nonce, exchanges the code itself and checks
the ID token (signature from the provider's JWKS, issuer, audience = its own client ID, expiry, nonce). The
c11 server cannot mint such a token. The provider identity (issuer, subject) is bound to the c11 user at the
user's first registration here; later it gives a store session for that user only.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from c11.errors import AuthError, ConfigError

_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA"]
PENDING_TTL = 600  # seconds for the person to log in at the provider
MAX_PENDING = 10_000


@dataclass(frozen=True)
class _Pending:
    verifier: str
    nonce: str
    redirect_uri: str
    expires: float


def loopback_redirect(uri: str) -> bool:
    """True for `http://127.0.0.1:<port>/callback` (the CLI's one-shot listener), the only redirect allowed."""
    try:
        u = urlsplit(uri)
        return (
            u.scheme == "http"
            and u.hostname == "127.0.0.1"
            and bool(u.port)
            and u.path == "/callback"
            and not u.query
            and not u.fragment
        )
    except ValueError:
        return False


class StoreOidc:
    """The store's registration at one identity provider, its logins in progress and the provider's keys."""

    def __init__(self, issuer: str, client_id: str, client_secret: str) -> None:
        self.issuer, self.client_id, self._secret = issuer.rstrip("/"), client_id, client_secret
        self._meta: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()

    def _discover(self, refresh: bool = False) -> tuple[dict[str, Any], KeySet]:
        with self._lock:
            if self._meta is None or self._keys is None or refresh:
                try:
                    meta = httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=15).json()
                    if meta.get("issuer", "").rstrip("/") != self.issuer:
                        raise ConfigError(f"{self.issuer} announces another issuer")
                    keys = KeySet.import_key_set(httpx.get(meta["jwks_uri"], timeout=15).json())
                except (httpx.HTTPError, ValueError, KeyError, TypeError) as e:
                    raise ConfigError(f"cannot read the identity provider {self.issuer}: {type(e).__name__}") from None
                self._meta, self._keys = meta, keys
            return self._meta, self._keys

    def start(self, redirect_uri: str) -> tuple[str, str]:
        """(URL to open in the browser, state) of a new login."""
        meta, _ = self._discover()
        state, nonce, verifier = (secrets.token_urlsafe(24) for _ in range(3))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        now = time.monotonic()
        with self._lock:
            for k in [k for k, p in self._pending.items() if p.expires < now]:
                del self._pending[k]
            while len(self._pending) >= MAX_PENDING:
                del self._pending[next(iter(self._pending))]
            self._pending[state] = _Pending(verifier, nonce, redirect_uri, now + PENDING_TTL)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "scope": "openid",
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{meta['authorization_endpoint']}?{query}", state

    def finish(self, state: str, code: str) -> tuple[str, str]:
        """(issuer, subject) of the person once the code gives a valid ID token for this store; AuthError."""
        with self._lock:
            pending = self._pending.pop(state, None)
        if pending is None or pending.expires < time.monotonic():
            raise AuthError("no such login in progress (it lasts ten minutes): start again", 401)
        meta, _ = self._discover()
        try:
            r = httpx.post(
                meta["token_endpoint"],
                timeout=15,
                auth=(self.client_id, self._secret),
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": pending.redirect_uri,
                    "code_verifier": pending.verifier,
                },
            )
            id_token = r.json().get("id_token") if r.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            id_token = None
        if not isinstance(id_token, str):
            raise AuthError("the identity provider refused the code", 401)
        claims = self._check(id_token, pending.nonce)
        return self.issuer, str(claims["sub"])

    def _check(self, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            try:
                decoded = jwt.decode(id_token, self._discover()[1], algorithms=_ALGORITHMS)
            except JoseError:  # perhaps the provider rotated its keys
                decoded = jwt.decode(id_token, self._discover(refresh=True)[1], algorithms=_ALGORITHMS)
            claims = decoded.claims
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                sub={"essential": True},
                aud={"essential": True, "value": self.client_id},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(claims)
        except (JoseError, ValueError) as e:
            raise AuthError(f"the ID token is not valid for this store ({type(e).__name__})", 401) from None
        aud = claims.get("aud")
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != self.client_id:
            raise AuthError("the ID token is for another client", 401)
        return claims
