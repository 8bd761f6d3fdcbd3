"""The shards service's state per application: the token key, the configured stores, and the log entries.

Every shard action becomes one v2 `shard` log entry (docs/log.md section 7): public `{"action", "store"
(URL), "jti" (store token ID or null), "actor"}`, the actor committing to the person (email hash) and
`{"key": fingerprint or null}`, opened only for that person and their organization's admins. The server writes the
entries of its own shard directly, and those of the stores when a store reports a token it accepted
(`record_use`, once per token ID, in the same transaction as the `shard_token_uses` row).
"""

from __future__ import annotations

import json
import os
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from c11._web import shard_tokens as tokens
from c11.errors import ConfigError
from c11.log.entries import email_hash
from c11.server.accounts.models import User
from c11.server.context import ServerContext
from c11.server.db import utcnow
from c11.server.logsrv.service import LogWriter, log_service
from c11.server.shards.models import CloudKey, ShardTokenUse

#: store token action -> log entry action
LOGGED_ACTION = tokens.LOGGED_ACTION


def shard_entry(action: str, store: str, jti: str | None = None) -> dict[str, Any]:
    """The public fields of a `shard` log entry (who and which key are in its actor commitment)."""
    return {"action": action, "store": store, "jti": jti}


class ShardService:
    """One per application (`shard_service(ctx)`)."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.secrets = ctx.config.data_dir / "secrets"
        self._keys_stamp: tuple[int, int] | None = None
        self._keys: tokens.TokenKeys | None = None
        self.handovers: list[str] = []
        self.keys  # noqa: B018 - creates the key at first start
        self.issuer = tokens.normalize_url(ctx.config.base_url)
        self.ttl = max(10, int(getattr(ctx.config, "shard_token_ttl_seconds", 300)))
        raw = getattr(ctx.config, "shard_stores", None) or ""
        self.stores = [tokens.normalize_url(u) for u in raw.split(",") if u.strip()]

    @property
    def keys(self) -> tokens.TokenKeys:
        """The current token key and the retired ones (re-read when `c11 db rotate-token-key` replaced the file)."""
        try:
            st = os.stat(self.secrets / tokens.KEY_FILE)
            stamp: tuple[int, int] | None = (st.st_ino, st.st_mtime_ns)
        except FileNotFoundError:
            stamp = None
        if self._keys is None or stamp != self._keys_stamp:
            current = tokens.load_or_create_key(self.secrets)
            handovers = tokens.load_handovers(self.secrets)
            chain = tokens.follow_handovers(_first_old(handovers), handovers) if handovers else []
            self._keys = tokens.TokenKeys.from_handovers(current, chain)
            self.handovers, self._keys_stamp = handovers, stamp
        return self._keys

    @property
    def key(self) -> OKPKey:
        """The key new tokens are signed with."""
        return self.keys.current

    def issue(self, user_id: str, store: str, action: str) -> tokens.Issued:
        return tokens.issue(self.key, issuer=self.issuer, user_id=user_id, store=store, action=action, ttl=self.ttl)

    def log(self, log: LogWriter, action: str, email: str, store: str, key: str | None, jti: str | None = None) -> int:
        return log.append("shard", shard_entry(action, store, jti), person=email_hash(email), private={"key": key})

    def record_use(self, token: str) -> tuple[int, dict[str, Any]]:
        """Log a store token a shard store accepted (once per token ID); returns (log index, claims).

        TokenError if the token is not one of this server's (signature, issuer, expiry with 60 s leeway for
        the report's trip) or its user is gone."""
        claims = tokens.verify(token, self.keys, issuer=self.issuer, audience=None, leeway=60)
        jti = claims["jti"]
        with self.ctx.db.session() as s:
            done = s.get(ShardTokenUse, jti)
        if done is not None:
            return done.log_index, claims
        try:
            with log_service(self.ctx).transaction() as (s, log):
                user = s.get(User, claims["sub"])
                if user is None:
                    raise tokens.TokenError("no such user")
                key = s.execute(select(CloudKey.fingerprint).where(CloudKey.user_id == user.id)).scalar()
                index = self.log(log, LOGGED_ACTION[claims["act"]], user.email, claims["aud"], key, jti)
                s.add(
                    ShardTokenUse(
                        jti=jti,
                        user_id=user.id,
                        store=claims["aud"],
                        action=claims["act"],
                        log_index=index,
                        at=utcnow(),
                    )
                )
        except IntegrityError:  # reported twice at once (another server process won)
            with self.ctx.db.session() as s:
                done = s.get(ShardTokenUse, jti)
            if done is None:
                raise
            return done.log_index, claims
        return index, claims


def _first_old(handovers: list[str]) -> OKPKey:
    """The key the first hand-over hands over from (the server trusts its own secrets folder)."""
    try:
        payload = json.loads(jws.extract_compact(handovers[0].encode("ascii")).payload)
        return tokens.import_public(payload["old"])
    except (ValueError, KeyError, TypeError, JoseError) as e:
        raise ConfigError(f"damaged {tokens.HANDOVERS_FILE}: {e}") from None


def shard_service(ctx: ServerContext) -> ShardService:
    """The application's shards service (created, with its token key, at start or on first use)."""
    return ctx.service("shard_service", ShardService)
