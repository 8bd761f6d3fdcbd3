"""What a shard store trusts of its c11 server: the token key (pinned in `<data-dir>/server-key.json`, at first
use or from `--server-key KID`) and the server's transparency log (pinned log key and last checkpoint in
`<data-dir>/trust/`, as any c11 client keeps them)."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any

import httpx
from joserfc.jwk import OKPKey

from c11._web import shard_tokens as tokens
from c11.errors import C11Error
from c11.log.entries import canonical_json
from c11.shardstore.config import StoreConfig

_log = logging.getLogger("c11.shardstore")


class ServerTrust:
    """The pinned token key and the log checks of one store's c11 server."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self.path = config.data_dir / "server-key.json"
        self._key: OKPKey | None = None
        self._lock = threading.Lock()
        self._followed = -1e9
        self.http = httpx.Client(base_url=config.server_url, timeout=15)

    def close(self) -> None:
        self.http.close()

    def key(self) -> OKPKey:
        """The pinned key (fetched and pinned now on first use); TokenError if it cannot be had."""
        with self._lock:
            if self._key is None:
                self._key = self._load_or_pin()
            return self._key

    def _load_or_pin(self) -> OKPKey:
        want = self.config.server_key
        if self.path.exists():
            d = json.loads(self.path.read_text("utf-8"))
            key = tokens.import_public(d["jwk"])
            if d.get("server") != self.config.server_url:
                raise tokens.TokenError(
                    f"{self.path} pins the key of {d.get('server')}, not of {self.config.server_url}"
                )
            if want and key.thumbprint() != want:
                raise tokens.TokenError(f"{self.path} pins key {key.thumbprint()}, not --server-key {want}")
            return key
        try:
            r = self.http.get("/api/v1/shards/token-key")
            r.raise_for_status()
            announced = r.json()
            key = tokens.import_public(announced["jwk"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as e:
            raise tokens.TokenError(
                f"cannot fetch the token key of {self.config.server_url}: {type(e).__name__}"
            ) from None
        if want and key.thumbprint() != want:
            raise tokens.TokenError(
                f"{self.config.server_url} announces token key {key.thumbprint()}, not the --server-key {want}"
            )
        self.config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"server": self.config.server_url, "jwk": tokens.public_jwk(key)}, indent=2))
        os.replace(tmp, self.path)
        _log.info("shard store: pinned the token key %s of %s", key.thumbprint(), self.config.server_url)
        return key

    def keys(self) -> tokens.TokenKeys:
        """The pinned key and the keys it took over from (their tokens stay valid until they expire)."""
        current = self.key()
        retired: list[tuple[OKPKey, int]] = []
        try:
            d = json.loads(self.path.read_text("utf-8"))
            retired = [(tokens.import_public(r["jwk"]), int(r["at"])) for r in d.get("retired", [])]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return tokens.TokenKeys(current, tuple(retired))

    def _follow(self) -> bool:
        """Fetch the server's token key hand-overs and follow them from the pinned key (at most every 30 s, so
        tokens naming unknown keys cannot make the store hammer its server); True if the pinned key moved."""
        with self._lock:
            now = time.monotonic()
            if now - self._followed < 30:
                return False
            self._followed = now
            pinned = self._key or self._load_or_pin()
            try:
                r = self.http.get("/api/v1/shards/token-key")
                r.raise_for_status()
                values = r.json().get("handovers") or []
            except (httpx.HTTPError, ValueError, AttributeError):
                return False
            chain = tokens.follow_handovers(pinned, [v for v in values if isinstance(v, str)])
            if not chain:
                return False
            old = json.loads(self.path.read_text("utf-8")).get("retired", []) if self.path.exists() else []
            retired = [*old, *({"jwk": tokens.public_jwk(h.old), "at": h.at} for h in chain)]
            self._key = chain[-1].new
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(
                json.dumps(
                    {"server": self.config.server_url, "jwk": tokens.public_jwk(self._key), "retired": retired},
                    indent=2,
                )
            )
            os.replace(tmp, self.path)
            _log.info("shard store: followed the token key hand-over to %s", self._key.thumbprint())
            return True

    def verify(self, token: str, action: str) -> dict[str, Any]:
        """The claims of a store token for `action` at this store (not yet checked for reuse); a token signed by
        a key the pinned key handed over to makes the store follow the hand-over first."""
        keys = self.keys()
        kid = tokens.token_kid(token)
        if kid is not None and kid != keys.current.thumbprint() and all(kid != k.thumbprint() for k, _ in keys.retired):
            if self._follow():
                keys = self.keys()
        return tokens.verify(token, keys, issuer=self.config.server_url, audience=self.config.url, action=action)

    def report(self, token: str) -> int:
        """Report the use of `token` to the server and prove its log entry; the log index, or TokenError
        (the store then refuses: fail closed)."""
        try:
            r = self.http.post("/api/v1/shards/uses", headers={"authorization": f"Bearer {token}"})
        except httpx.HTTPError as e:
            raise tokens.TokenError(f"the c11 server did not log this ({type(e).__name__})") from None
        if r.status_code != 200:
            raise tokens.TokenError(f"the c11 server did not log this (HTTP {r.status_code})")
        try:
            index = int(r.json()["log_index"])
        except (ValueError, KeyError, TypeError):
            raise tokens.TokenError("the c11 server answered no log index") from None
        return index

    def prove(self, index: int, claims: dict[str, Any], action: str) -> None:
        """Check that log entry `index` of the server's verified log records this token's use."""
        from c11.client import Client

        try:
            with Client(self.config.server_url) as c:
                c.state_dir = self.config.data_dir / "trust"
                found = c.log.prove(index)
        except C11Error as e:
            raise tokens.TokenError(f"the c11 server's log does not prove the entry ({e})") from None
        try:
            entry = json.loads(found.entry)
        except ValueError:
            raise tokens.TokenError("the logged entry is not JSON") from None
        if not (
            isinstance(entry, dict)
            and canonical_json(entry) == found.entry
            and entry.get("kind") == "shard"
            and entry.get("jti") == claims["jti"]
            and entry.get("store") == self.config.url
            and entry.get("action") == action
        ):
            raise tokens.TokenError("the logged entry does not record this use")
