"""Shard store tokens: short-lived JWTs (RFC 7519, alg Ed25519 per RFC 9864, via joserfc) that the c11 server
issues and a shard store verifies, bound to one user (`sub`), one store (`aud`) and one action (`act`).

The signing key is made at first start in `<data-dir>/secrets/shard-token.key` (PKCS#8 PEM, mode 0600); its
public half is published at `GET /api/v1/shards/token-key`. `verify` is shared by the server (store reports)
and the shard stores. Claims and checks: docs/shards.md §4.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from c11.errors import ConfigError

ALG = "Ed25519"
KEY_FILE = "shard-token.key"
ACTIONS = ("get", "put", "delete")
#: How the transparency log names each action (the server logs it, the store checks the proof of it).
LOGGED_ACTION = {"get": "fetch", "put": "store", "delete": "delete"}
#: The header in which a client sends its shard-store session (docs/shards.md §8).
SESSION_HEADER = "c11-store-session"
#: A store refuses tokens meant to live longer than this (whatever the server's TTL setting).
MAX_LIFETIME = 3600
_log = logging.getLogger("c11.server.shards")


class TokenError(Exception):
    """A store token is not valid here: the message says why (safe to show)."""


def normalize_url(url: str) -> str:
    """A store or server URL as tokens name it: no trailing slash, scheme and host in lower case."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), "", ""))


def load_or_create_key(secrets_dir: Path) -> OKPKey:
    """The token signing key from `<secrets>/shard-token.key`, created (mode 0600) at first start."""
    path = secrets_dir / KEY_FILE
    if not path.exists():
        secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(secrets_dir, 0o700)
        key = OKPKey.generate_key("Ed25519")
        tmp = secrets_dir / f".{KEY_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key.as_pem(private=True))
        try:
            os.link(tmp, path)  # atomic; a concurrent first start keeps the first key
            _log.info("shards: created the shard token key %s", path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    try:
        return OKPKey.import_key(path.read_bytes())
    except (OSError, ValueError, JoseError) as e:
        raise ConfigError(f"cannot read the shard token key {path}: {e}") from None


def public_jwk(key: OKPKey) -> dict[str, Any]:
    """The verification key as a JWK with its thumbprint as `kid`."""
    d = dict(key.as_dict(private=False))
    d["kid"] = key.thumbprint()
    d["alg"] = ALG
    d["use"] = "sig"
    return d


def import_public(jwk: dict[str, Any]) -> OKPKey:
    """A verification key from its JWK (public members only); TokenError if it is not an Ed25519 key."""
    try:
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "d" in jwk:
            raise ValueError("not an Ed25519 public key")
        return OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": jwk["x"]})
    except (KeyError, TypeError, ValueError, JoseError) as e:
        raise TokenError(f"bad token key: {e}") from None


@dataclass(frozen=True)
class Issued:
    token: str
    jti: str
    expires_at: int


def issue(key: OKPKey, *, issuer: str, user_id: str, store: str, action: str, ttl: int) -> Issued:
    """A signed token for `user_id` to do `action` at `store` within `ttl` seconds."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    now = int(time.time())
    jti = secrets.token_hex(16)
    claims = {
        "iss": issuer,
        "sub": user_id,
        "aud": normalize_url(store),
        "act": action,
        "iat": now,
        "exp": now + ttl,
        "jti": jti,
    }
    token = jwt.encode({"alg": ALG, "typ": "JWT", "kid": key.thumbprint()}, claims, key, algorithms=[ALG])
    return Issued(token, jti, now + ttl)


def verify(
    token: str,
    key: OKPKey,
    *,
    issuer: str,
    audience: str | None,
    action: str | None = None,
    leeway: int = 0,
    now: int | None = None,
) -> dict[str, Any]:
    """The claims of `token` if its signature (by `key`), issuer, audience (None: any), action, lifetime and
    expiry check out; TokenError otherwise. Single use is up to the caller (it remembers `jti`)."""
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 4096:
        raise TokenError("malformed token")
    try:
        claims = dict(jwt.decode(token, key, algorithms=[ALG]).claims)
    except (JoseError, ValueError, TypeError):
        raise TokenError("bad token signature") from None
    now = int(time.time()) if now is None else now
    for name, kind in (
        ("iss", str),
        ("sub", str),
        ("aud", str),
        ("act", str),
        ("jti", str),
        ("exp", int),
        ("iat", int),
    ):
        if not isinstance(claims.get(name), kind):
            raise TokenError(f"token lacks the claim {name}")
    if claims["iss"] != issuer:
        raise TokenError("token issued by another server")
    if audience is not None and claims["aud"] != normalize_url(audience):
        raise TokenError("token issued for another store")
    if action is not None and claims["act"] != action:
        raise TokenError(f"token is for {claims['act']}, not {action}")
    if claims["exp"] + leeway <= now:
        raise TokenError("token expired")
    if claims["iat"] - 60 > now or claims["exp"] - claims["iat"] > MAX_LIFETIME:
        raise TokenError("token lifetime out of range")
    if not 16 <= len(claims["jti"]) <= 64 or len(claims["sub"]) > 64:
        raise TokenError("token has a bad jti or subject")
    return claims


#: How far a key login's time may be from the store's clock, in seconds (docs/shards.md §8.4).
KEY_LOGIN_SKEW = 300


def key_login_message(store_url: str, server_url: str, user_id: str, at: int, nonce: bytes) -> bytes:
    """What the key's Ed25519 signing key signs to log in at a store without the password (docs/shards.md
    §8.4): "c11-store-key-login/v1" 0x00 store URL 0x00 c11 server URL 0x00 user ID 0x00 time (8 bytes,
    big-endian Unix seconds) nonce (16 random bytes). The store URL binds it to one store: another store
    cannot replay it; the nonce makes each attempt's signature new (the store takes each once)."""
    if not 0 <= at < 2**63 or len(nonce) != 16:
        raise ValueError("time out of range or nonce not 16 bytes")
    return b"\x00".join(
        [
            b"c11-store-key-login/v1",
            store_url.encode(),
            server_url.encode(),
            user_id.encode(),
            at.to_bytes(8, "big") + nonce,
        ]
    )
