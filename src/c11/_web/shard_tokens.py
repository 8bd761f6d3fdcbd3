"""Shard store tokens: short-lived JWTs (RFC 7519, alg Ed25519 per RFC 9864, via joserfc) that the c11 server
issues and a shard store verifies, bound to one user (`sub`), one store (`aud`) and one action (`act`).

The signing key is made at first start in `<data-dir>/secrets/shard-token.key` (PKCS#8 PEM, mode 0600); its
public half is published at `GET /api/v1/shards/token-key`. `verify` is shared by the server (store reports)
and the shard stores. Claims and checks: docs/shards.md §4.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jws, jwt
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


# -- key rotation (docs/shards.md, "Token key rotation") ------------------------------------------------------

#: The hand-overs the server's token keys signed, oldest first (public; served with the key).
HANDOVERS_FILE = "shard-token.handovers.json"
#: `typ` of a hand-over JWS.
HANDOVER_TYP = "c11-token-key-handover"
#: How long after its hand-over a retired key still verifies tokens: the longest token lifetime + clock skew.
RETIRED_GRACE = MAX_LIFETIME + 60
MAX_HANDOVERS = 100


@dataclass(frozen=True)
class KeyHandover:
    """The old token key's signed statement that `new` replaces it from time `at` (Unix seconds)."""

    old: OKPKey
    new: OKPKey
    at: int
    jws: str

    @property
    def old_kid(self) -> str:
        return str(self.old.thumbprint())

    @property
    def new_kid(self) -> str:
        return str(self.new.thumbprint())


def sign_handover(old: OKPKey, new: OKPKey, at: int) -> str:
    """A compact JWS by `old` over the canonical JSON {"at", "new": JWK, "old": JWK} (public members)."""
    payload = json.dumps(
        {"at": at, "new": public_jwk(new), "old": public_jwk(old)}, sort_keys=True, separators=(",", ":")
    )
    header = {"alg": ALG, "kid": old.thumbprint(), "typ": HANDOVER_TYP}
    return str(jws.serialize_compact(header, payload, old, algorithms=[ALG]))


def open_handover(value: str, old: OKPKey) -> KeyHandover:
    """The hand-over `value` if `old` signed it and it names `old`; TokenError otherwise."""
    if not isinstance(value, str) or len(value) > 4096:
        raise TokenError("malformed key hand-over")
    try:
        obj = jws.deserialize_compact(value, old, algorithms=[ALG])
        if obj.protected.get("typ") != HANDOVER_TYP:
            raise ValueError("not a key hand-over")
        d = json.loads(obj.payload)
        new, stated, at = import_public(d["new"]), import_public(d["old"]), d["at"]
    except (JoseError, ValueError, TypeError, KeyError):
        raise TokenError("the key hand-over is not signed by the pinned token key") from None
    if stated.thumbprint() != old.thumbprint() or not isinstance(at, int) or new.thumbprint() == old.thumbprint():
        raise TokenError("the key hand-over does not hand over the pinned token key")
    return KeyHandover(import_public(public_jwk(old)), new, at, value)


def follow_handovers(pinned: OKPKey, values: list[str]) -> list[KeyHandover]:
    """The hand-overs, in order, from `pinned` to the newest key (each signed by the key before it)."""
    chain: list[KeyHandover] = []
    current = pinned
    for value in values[:MAX_HANDOVERS]:
        try:
            kid = jws.extract_compact(value.encode("ascii")).protected.get("kid")
        except (JoseError, ValueError, AttributeError, UnicodeEncodeError):
            raise TokenError("malformed key hand-over") from None
        if kid != current.thumbprint():
            continue
        step = open_handover(value, current)
        chain.append(step)
        current = step.new
    return chain


def load_handovers(secrets_dir: Path) -> list[str]:
    """The server's hand-overs (oldest first), [] before the first rotation."""
    try:
        d = json.loads((secrets_dir / HANDOVERS_FILE).read_text("ascii"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read {secrets_dir / HANDOVERS_FILE}: {e}") from None
    if not isinstance(d, list) or not all(isinstance(x, str) for x in d):
        raise ConfigError(f"{secrets_dir / HANDOVERS_FILE} is not a list of hand-overs")
    return list(d)


def rotate_key(secrets_dir: Path, now: int | None = None, *, revoke_now: bool = False) -> KeyHandover:
    """Make a new token key: the old one signs a hand-over (appended to HANDOVERS_FILE first), then the new key
    file replaces the old one atomically. Running servers switch at their next token. With `revoke_now`, the
    hand-over's time is back-dated by RETIRED_GRACE: the old key verifies no token from then on (a leak).
    Concurrent rotations serialise on a lock file (none loses its hand-over)."""
    import fcntl

    secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = os.open(secrets_dir / ".shard-token.lock", os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        old = load_or_create_key(secrets_dir)
        new = OKPKey.generate_key("Ed25519")
        at = int(time.time()) if now is None else now
        if revoke_now:
            at -= RETIRED_GRACE + 1
        value = sign_handover(old, new, at)
        handovers = json.dumps([*load_handovers(secrets_dir), value], indent=1).encode()
        _write_private(secrets_dir / HANDOVERS_FILE, handovers)
        _write_private(secrets_dir / KEY_FILE, new.as_pem(private=True))
    finally:
        os.close(lock)
    _log.info("shards: the token key is now %s (was %s)", new.thumbprint(), old.thumbprint())
    return open_handover(value, old)


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


@dataclass(frozen=True)
class TokenKeys:
    """The keys that verify tokens: the current one, and retired ones until RETIRED_GRACE after their hand-over."""

    current: OKPKey
    retired: tuple[tuple[OKPKey, int], ...] = ()

    @classmethod
    def from_handovers(cls, current: OKPKey, chain: list[KeyHandover]) -> TokenKeys:
        return cls(current, tuple((h.old, h.at) for h in chain))

    def find(self, kid: object, now: int) -> OKPKey:
        """The key named `kid`; TokenError if unknown or retired for longer than RETIRED_GRACE."""
        if kid == self.current.thumbprint():
            return self.current
        for key, at in self.retired:
            if kid == key.thumbprint():
                if now > at + RETIRED_GRACE:
                    raise TokenError("token signed by a retired key")
                return key
        raise TokenError("token signed by an unknown key")

    def retired_at(self, kid: object) -> int | None:
        """When the key named `kid` was handed over (None: the current key, or not known)."""
        for key, at in self.retired:
            if kid == key.thumbprint():
                return at
        return None


def token_kid(token: str) -> str | None:
    """The `kid` of a token's header (not verified), or None."""
    try:
        kid = jws.extract_compact(token.encode("ascii")).protected.get("kid")
    except (JoseError, ValueError, AttributeError, UnicodeEncodeError):
        return None
    return kid if isinstance(kid, str) else None


def verify(
    token: str,
    key: OKPKey | TokenKeys,
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
    now = int(time.time()) if now is None else now
    handed_over: int | None = None
    if isinstance(key, TokenKeys):
        kid = token_kid(token)
        handed_over = key.retired_at(kid)
        key = key.find(kid, now)
    try:
        claims = dict(jwt.decode(token, key, algorithms=[ALG]).claims)
    except (JoseError, ValueError, TypeError):
        raise TokenError("bad token signature") from None
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
    if handed_over is not None and claims["iat"] > handed_over:
        # a retired key (perhaps leaked: why it was rotated) issues nothing after its hand-over
        raise TokenError("token issued by a retired key after its hand-over")
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
