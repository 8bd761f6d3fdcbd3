"""Bearer secrets (session tokens, machine tokens, links): 256 random bits, stored only as SHA-256.

`matches` compares in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret(prefix: str) -> str:
    """A fresh token such as `c11t_<43 url-safe characters>`; the prefix helps secret scanners."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def digest(secret: str) -> str:
    """The hex SHA-256 of a secret: what the database keeps."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def matches(secret: str, stored_digest: str) -> bool:
    """Whether `secret` hashes to `stored_digest`, compared in constant time."""
    return hmac.compare_digest(digest(secret), stored_digest)
