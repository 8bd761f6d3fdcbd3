"""Client side of cloud-stored keys in shards (docs/shards.md): reached as `Client.shards`.

The identity is made on this device, sealed and split 2 of 3 (`c11.keys.cloudkey`): one shard goes to the c11
server, one to a shard store, the third to a second store or back to the caller as a recovery shard to keep
offline. `fetch_identity()` gets two shards (each fetch logged, its log entry proven) and rebuilds the identity
in memory only. A store hands out a shard only to a session got by logging in there with OPAQUE (your password
never leaves this device; `shards.password` gives it, `shards.sessions` keeps the sessions).

    from c11.client import Client
    with Client.from_environment() as c:
        c.shards.password = "your account password"    # or a callable asked only when a store needs it
        me = c.shards.fetch_identity()                 # an Identity, never written to disk
        old = c.shards.archived(me)                    # keys replaced before, to open older files
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from c11._web import pake
from c11._web.shard_tokens import SESSION_HEADER, normalize_url
from c11.client._http import HttpCore, _error, json_object
from c11.client.store_sessions import FILE_NAME as STORE_SESSIONS
from c11.client.store_sessions import StoreSessions
from c11.client.transparency import LogAPI
from c11.errors import C11Error, CloudKeyError, ProofError, ServerError, UsageError
from c11.keys import cloudkey
from c11.keys.cloudkey import Shard
from c11.keys.identity import Identity

ARCHIVE_FORMAT = "c11-key-archive/v1"


@dataclass(frozen=True)
class Placement:
    """Where one shard of a cloud-stored key is: on the c11 server, at a store (`url`), or with the user."""

    index: int
    where: str
    url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "where": self.where, **({"url": self.url} if self.url else {})}


@dataclass(frozen=True)
class KeyStatus:
    """What the server knows of your keys: your cloud key (None: none), the stores, your key archive."""

    user_id: str
    server: str
    stores: tuple[str, ...]
    fingerprint: str | None
    placements: tuple[Placement, ...]
    created_at: str | None
    archive_fingerprint: str | None

    @property
    def kind(self) -> str:
        return "cloud" if self.fingerprint else "none"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "fingerprint": self.fingerprint,
            "server": self.server,
            "stores": list(self.stores),
            "shards": [p.to_dict() for p in self.placements],
            "created_at": self.created_at,
            "archive": self.archive_fingerprint,
        }


@dataclass(frozen=True)
class Created:
    """A cloud key just stored: where its shards are, the recovery shard if one is the user's, log entries."""

    fingerprint: str
    placements: tuple[Placement, ...]
    recovery: Shard | None
    log_indexes: tuple[int, ...]


@dataclass(frozen=True)
class Fetched:
    """A rebuilt identity and the log entries of the fetches that gave its shards."""

    identity: Identity = field(repr=False)
    log_indexes: tuple[int, ...]
    sources: tuple[str, ...]
    version: int = cloudkey.VERSION  # the shard format the key was stored in (1: run `upgrade` once)


def env_stores() -> list[str]:
    """C11_SHARD_STORES as a list of URLs (the client may read it when the server announces none)."""
    return [normalize_url(u) for u in os.environ.get("C11_SHARD_STORES", "").split(",") if u.strip()]


class ShardsAPI:
    """The /api/v1/shards routes and the shard stores they name."""

    def __init__(self, core: HttpCore, log: LogAPI, state_dir: Callable[[], Path] | None = None) -> None:
        self._core = core
        self._log = log
        #: Your account password for the stores' OPAQUE logins (or a callable asked when one is needed);
        #: None: C11_PASSWORD, else no store login.
        self.password: str | Callable[[], str] | None = None
        #: Accounts without a password: opens the store's identity-provider login page in a browser (§8.5).
        self.oidc_open: Callable[[str], None] | None = None
        self._state_dir = state_dir
        self._sessions: StoreSessions | None = None

    @property
    def sessions(self) -> StoreSessions:
        """This device's store sessions (`<state dir>/store-sessions.json`, mode 0600; in memory without one)."""
        if self._sessions is None:
            path = self._state_dir() / STORE_SESSIONS if self._state_dir else None
            self._sessions = StoreSessions(path)
        return self._sessions

    # -- state --------------------------------------------------------------------------------------------

    def status(self) -> KeyStatus:
        d = self._core.request("GET", "/api/v1/shards")
        ck = d.get("cloud_key") or {}
        return KeyStatus(
            d["user_id"],
            d["server"],
            tuple(d.get("stores") or ()),
            ck.get("fingerprint"),
            tuple(Placement(p["index"], p["where"], p.get("url")) for p in ck.get("placements", [])),
            ck.get("created_at"),
            (d.get("archive") or {}).get("fingerprint"),
        )

    def stores(self) -> list[str]:
        """The shard stores the server announces, else those in C11_SHARD_STORES."""
        return list(self.status().stores) or env_stores()

    # -- store calls --------------------------------------------------------------------------------------

    def _token(self, store: str, action: str) -> str:
        return str(self._core.request("POST", "/api/v1/shards/tokens", {"store": store, "action": action})["token"])

    @staticmethod
    def _call(
        store: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        try:
            with httpx.Client(base_url=store, timeout=30) as h:
                return h.request(method, path, json=body, headers=headers or {})
        except httpx.HTTPError as e:
            raise ServerError(f"cannot reach the shard store {store}: {type(e).__name__}", 0) from None

    @staticmethod
    def _ok(store: str, r: httpx.Response) -> dict[str, Any]:
        if not r.is_success:
            err = _error(r)
            raise type(err)(f"shard store {store}: {err}", err.status, err.problem)
        return json_object(r.json())

    def _store(self, store: str, method: str, action: str, body: Any = None, user_id: str = "") -> dict[str, Any]:
        """A shard call with a fresh store token and this device's store session (logging in when it has none
        or the store refused it)."""
        session = self.sessions.get(store, user_id)
        fresh = session is None
        session = session or self.login_store(store, user_id)
        r = self._call(
            store,
            method,
            "/v1/shard",
            body,
            {"authorization": f"Bearer {self._token(store, action)}", SESSION_HEADER: session},
        )
        if (
            r.status_code == 401 and not fresh and str(_problem(r).get("type", "")).endswith(":store-login-required")
        ):  # the store forgot it
            self.sessions.drop(store, user_id)
            r = self._call(
                store,
                method,
                "/v1/shard",
                body,
                {
                    "authorization": f"Bearer {self._token(store, action)}",
                    SESSION_HEADER: self.login_store(store, user_id),
                },
            )
        return self._ok(store, r)

    # -- logging in at a store (OPAQUE) -------------------------------------------------------------------

    def _password(self, store: str) -> str:
        pw = self.password() if callable(self.password) else self.password or os.environ.get("C11_PASSWORD")
        if not pw:
            raise CloudKeyError(
                f"the shard store {store} needs your password: it logs you in itself (OPAQUE), "
                "so the c11 server alone cannot fetch your shard"
            )
        return pw

    def _use_oidc(self) -> bool:
        return self.oidc_open is not None and not (self.password or os.environ.get("C11_PASSWORD"))

    def _oidc_login(self, store: str, user_id: str, bind: bool = False) -> str:
        """Log in at `store` through its own identity-provider client (a browser page); `bind`: send a put store
        token, so that a first login binds the provider account to you there. The session."""
        from c11.client._loopback import LoopbackReceiver

        assert self.oidc_open is not None
        with LoopbackReceiver() as receiver:
            d = self._ok(
                store,
                self._call(
                    store, "POST", "/v1/oidc/start", {"redirect_uri": f"http://127.0.0.1:{receiver.port}/callback"}
                ),
            )
            self.oidc_open(str(d["url"]))
            code = receiver.wait(300)
        if not code:
            raise CloudKeyError(f"no login code arrived from the browser for the shard store {store}")
        headers = {"authorization": f"Bearer {self._token(store, 'put')}"} if bind else {}
        done = self._ok(
            store, self._call(store, "POST", "/v1/oidc/finish", {"state": d["state"], "code": code}, headers)
        )
        self.sessions.put(store, user_id, done["session"], int(done["expires"]))
        return str(done["session"])

    def login_store(self, store: str, user_id: str) -> str:
        """Log in at `store` with OPAQUE (your password never leaves this device), or through the store's
        identity-provider login when `oidc_open` is set and no password is; the session, also kept in
        `sessions`. CloudKeyError if you are not registered there, AuthError for a wrong password."""
        if self._use_oidc():
            return self._oidc_login(store, user_id)
        login = pake.ClientLogin.start(self._password(store))
        d = self._ok(
            store,
            self._call(
                store, "POST", "/v1/opaque/login/start", {"user_id": user_id, "request": pake.b64u(login.request)}
            ),
        )
        final, _ = login.finish(pake.unb64u(str(d["response"])))
        done = self._ok(
            store,
            self._call(
                store, "POST", "/v1/opaque/login/finish", {"login_id": d["login_id"], "finalization": pake.b64u(final)}
            ),
        )
        self.sessions.put(store, user_id, done["session"], int(done["expires"]))
        return str(done["session"])

    def login_stores(self) -> list[str]:
        """Log in now at every store holding your shard that this device has no session with (so later
        fetches need no password); the stores logged in to."""
        st = self.status()
        done = []
        for p in st.placements:
            if p.where == "store" and p.url and not self.sessions.get(p.url, st.user_id):
                self.login_store(p.url, st.user_id)
                done.append(p.url)
        return done

    def _registered(self, store: str, user_id: str) -> bool:
        """True once this device has a session at `store` (logging in now if needed); False if you have no
        registration there yet."""
        if self.sessions.get(store, user_id):
            return True
        if self._use_oidc():
            self._oidc_login(store, user_id, bind=True)  # binds your provider account at a first registration
            return True
        try:
            self.login_store(store, user_id)
        except ServerError as e:
            if e.status == 404 and str((e.problem or {}).get("type", "")).endswith(":not-registered"):
                return False
            raise
        return True

    def _register_put(self, store: str, user_id: str, shard: Shard) -> int:
        """Register at `store` (OPAQUE) and keep the first shard there, in one store token; the log index."""
        reg = pake.ClientRegistration.start(self._password(store))
        headers = {"authorization": f"Bearer {self._token(store, 'put')}"}
        d = self._ok(
            store, self._call(store, "POST", "/v1/opaque/register", {"request": pake.b64u(reg.request)}, headers)
        )
        upload = reg.finish(pake.unb64u(str(d["response"])))
        put = self._ok(
            store,
            self._call(store, "PUT", "/v1/shard", {"shard": shard.b64(), "registration": pake.b64u(upload)}, headers),
        )
        self.login_store(store, user_id)
        return int(put["log_index"])

    def change_store_password(self, new_password: str) -> list[str]:
        """Register `new_password` at every store holding your shard (log in with the current one first);
        the stores updated. Other sessions there end."""
        st = self.status()
        done = []
        for p in st.placements:
            if p.where != "store" or not p.url:
                continue
            session = self.sessions.get(p.url, st.user_id) or self.login_store(p.url, st.user_id)
            reg = pake.ClientRegistration.start(new_password)
            h = {SESSION_HEADER: session}
            d = self._ok(
                p.url, self._call(p.url, "POST", "/v1/opaque/register", {"request": pake.b64u(reg.request)}, h)
            )
            upload = reg.finish(pake.unb64u(str(d["response"])))
            self._ok(p.url, self._call(p.url, "PUT", "/v1/opaque/record", {"registration": pake.b64u(upload)}, h))
            self.sessions.drop(p.url, st.user_id)
            done.append(p.url)
        return done

    def reregister_with_key(self, identity: Identity, new_password: str) -> list[str]:
        """After a forgotten password (a c11 reset): at every store holding your shard, log in with a signature
        by `identity` (the key those shards hold; back from the recovery shard or another device) instead of
        the old password, and register `new_password` there (docs/shards.md §8.4). The stores updated."""
        import time

        from c11._web.shard_tokens import key_login_message

        st = self.status()
        if st.fingerprint and st.fingerprint != identity.fingerprint:
            raise CloudKeyError(f"this is not your cloud-stored key ({st.fingerprint})")
        done = []
        for p in st.placements:
            if p.where != "store" or not p.url:
                continue
            at, nonce = int(time.time()), os.urandom(16)
            sig = identity.sign(
                key_login_message(normalize_url(p.url), normalize_url(self._core.server), st.user_id, at, nonce)
            )
            d = self._ok(
                p.url,
                self._call(
                    p.url,
                    "POST",
                    "/v1/opaque/key-login",
                    {"user_id": st.user_id, "time": at, "nonce": pake.b64u(nonce), "signature": pake.b64u(sig)},
                ),
            )
            h = {SESSION_HEADER: str(d["session"])}
            reg = pake.ClientRegistration.start(new_password)
            r = self._ok(
                p.url, self._call(p.url, "POST", "/v1/opaque/register", {"request": pake.b64u(reg.request)}, h)
            )
            upload = reg.finish(pake.unb64u(str(r["response"])))
            self._ok(p.url, self._call(p.url, "PUT", "/v1/opaque/record", {"registration": pake.b64u(upload)}, h))
            self.sessions.drop(p.url, st.user_id)
            done.append(p.url)
        return done

    # -- create, fetch, delete ----------------------------------------------------------------------------

    def create(
        self, identity: Identity, stores: list[str] | None = None, *, version: int = cloudkey.VERSION
    ) -> Created:
        """Seal `identity`, split it 2 of 3 and store the shards: 1 on the server, 2 (and 3) at the stores.

        With one store the third shard is returned as `recovery` (keep it offline: with it and either other
        shard the key rebuilds). CloudKeyError when no store is known. `version`: the shard format (2; 1 only
        to make keys of the old format in tests)."""
        st = self.status()
        if st.fingerprint and st.fingerprint != identity.fingerprint:
            raise CloudKeyError(
                f"you already have a cloud-stored key ({st.fingerprint}); replace it with `c11 keys replace`"
            )
        try:
            stores = [normalize_url(s) for s in (stores or list(st.stores) or env_stores())]
        except ValueError as e:
            raise CloudKeyError(f"bad shard store URL: {e}") from None
        if not stores:
            raise CloudKeyError(
                "no shard store is configured (the server's C11_SHARD_STORES, or yours): a "
                "cloud-stored key needs at least one; use a key on this device instead"
            )
        shards = cloudkey.make_shards(identity, st.user_id, version=version)
        places = [
            Placement(1, "server"),
            Placement(2, "store", stores[0]),
            Placement(3, "store", stores[1]) if len(stores) > 1 else Placement(3, "recovery"),
        ]
        indexes = []
        for p in places:
            if p.where == "store" and p.url:
                shard = shards[p.index - 1]
                if self._registered(p.url, st.user_id):
                    indexes.append(self._store(p.url, "PUT", "put", {"shard": shard.b64()}, st.user_id)["log_index"])
                else:
                    indexes.append(self._register_put(p.url, st.user_id, shard))
        d = self._core.request(
            "PUT", "/api/v1/shards/shard", {"shard": shards[0].b64(), "placements": [p.to_dict() for p in places]}
        )
        indexes.append(d["log_index"])
        recovery = shards[2] if places[2].where == "recovery" else None
        return Created(identity.fingerprint, tuple(places), recovery, tuple(indexes))

    def fetch(self, recovery: Shard | None = None, verify_log: bool = True) -> Fetched:
        """Fetch two shards (the server's, then a store's, else `recovery`) and rebuild the identity in memory.

        With `verify_log`, each fetch's log entry is proven to be in the verified transparency log."""
        st = self.status()
        if not st.fingerprint:
            raise CloudKeyError(f"your account on {self._core.server} has no cloud-stored key")
        found: list[Shard] = []
        indexes: list[tuple[int, str]] = []
        problems: list[str] = []
        sources: list[str] = []

        def take(text: str, index: int | None, source: str) -> None:
            try:
                shard = Shard.from_b64(text)
            except C11Error as e:
                problems.append(f"{source}: {e}")
                return
            if shard.fingerprint != st.fingerprint:
                problems.append(f"{source}: a shard of another key")
                return
            found.append(shard)
            sources.append(source)
            if index is not None:
                indexes.append((index, source))

        try:
            d = self._core.request("GET", "/api/v1/shards/shard")
            take(d["shard"], d["log_index"], st.server)
        except ServerError as e:
            problems.append(f"{st.server}: {e}")
        for p in st.placements:
            if len(found) >= cloudkey.THRESHOLD:
                break
            if p.where == "store" and p.url:
                try:
                    d = self._store(p.url, "GET", "get", user_id=st.user_id)
                    take(d["shard"], d["log_index"], p.url)
                except (ServerError, CloudKeyError, KeyError, TypeError) as e:
                    problems.append(f"{p.url}: {e}")
        if len(found) < cloudkey.THRESHOLD and recovery is not None:
            take(recovery.b64(), None, "recovery shard")
        if len(found) < cloudkey.THRESHOLD:
            raise CloudKeyError(
                "cannot rebuild your cloud-stored key: fewer than two shards reachable ("
                + "; ".join(problems)
                + "); a recovery shard file helps: C11_RECOVERY_SHARD=FILE"
            )
        identity = cloudkey.rebuild(found[: cloudkey.THRESHOLD], st.user_id)
        if verify_log:
            self._prove(indexes)
        return Fetched(identity, tuple(i for i, _ in indexes), tuple(sources), found[0].version)

    def upgrade(self, recovery: Shard | None = None) -> tuple[Fetched, Created | None]:
        """Re-split a cloud key stored in shard format 1 (GF(2^128) shares, which browsers cannot combine) into
        fresh format 2 shards at the same places; (the fetch, the new shards), or (the fetch, None) when the key
        is in format 2 already. With one store the new recovery shard replaces the old, which no longer matches."""
        fetched = self.fetch(recovery)
        if fetched.version == cloudkey.VERSION:
            return fetched, None
        return fetched, self.create(fetched.identity)

    def _prove(self, indexes: list[tuple[int, str]]) -> None:
        for index, source in indexes:
            entry = json.loads(self._log.prove(index).entry)
            if entry.get("kind") != "shard" or entry.get("action") != "fetch" or entry.get("store") != source:
                raise ProofError(f"log entry {index} does not record the shard fetch from {source}")

    def fetch_identity(self, recovery: Shard | None = None) -> Identity:
        """Your cloud-stored identity, rebuilt in memory from two shards (see `fetch`)."""
        return self.fetch(recovery).identity

    def delete(self) -> list[int]:
        """Delete every shard of your cloud-stored key (stores first, then the server's); log indexes."""
        st = self.status()
        if not st.fingerprint:
            return []
        indexes = []
        for p in st.placements:
            if p.where == "store" and p.url:
                try:
                    indexes.append(self._store(p.url, "DELETE", "delete", user_id=st.user_id)["log_index"])
                except ServerError as e:
                    if e.status != 404:
                        raise
        indexes.append(self._core.request("DELETE", "/api/v1/shards/shard")["log_index"])
        return indexes

    # -- archive of old keys ------------------------------------------------------------------------------

    def archived(self, current: Identity) -> list[Identity]:
        """Your old private keys, from the archive encrypted to `current` ([] if none or not for it)."""
        from c11 import files
        from c11.keys.keyfile import KeyFile

        try:
            d = self._core.request("GET", "/api/v1/shards/archive")
        except ServerError as e:
            if e.status == 404:
                return []
            raise
        if d.get("fingerprint") != current.fingerprint:
            return []
        try:
            blob = base64.b64decode(d["archive"], validate=True)
            plaintext = files.decrypt_bytes(blob, [current]).plaintext
            if plaintext is None:
                raise ValueError("not a file")
            doc = json.loads(plaintext)
            if doc.get("format") != ARCHIVE_FORMAT:
                raise ValueError("format")
            return [KeyFile(k, "key archive").unlock() for k in doc["keys"]]
        except (binascii.Error, ValueError, KeyError, TypeError) as e:
            raise CloudKeyError(f"your key archive is damaged ({type(e).__name__})") from None

    def store_archive(self, keys: list[Identity], to: Identity) -> int:
        """Replace the archive with `keys`, encrypted to (and signed by) `to`; the log index."""
        from c11 import files
        from c11.keys import keyfile

        unique = {k.fingerprint: k for k in keys if k.fingerprint != to.fingerprint}
        doc = {"format": ARCHIVE_FORMAT, "keys": [json.loads(keyfile.dumps(k, None)) for k in unique.values()]}
        blob = files.encrypt_bytes(json.dumps(doc).encode(), [to.public], to, name="c11-key-archive.json")
        return int(
            self._core.request(
                "PUT",
                "/api/v1/shards/archive",
                {"archive": base64.b64encode(blob).decode(), "fingerprint": to.fingerprint},
            )["log_index"]
        )

    # -- switching key type -------------------------------------------------------------------------------

    def replace(
        self, current: Identity, new: Identity, cloud: bool, email: str | None = None, stores: list[str] | None = None
    ) -> Created | None:
        """Move to `new` (cloud-stored if `cloud`, else kept by the caller, e.g. in a key file written first).

        `current` and the keys archived for it are archived for `new`, so older files still open; the
        registry then publishes `new`; a device key's old shards are deleted. Returns the new cloud key.
        If publishing fails, the archive is put back for `current` and new shards are deleted."""
        from c11.client.registry import RegistryAPI

        st = self.status()
        if cloud and st.fingerprint:
            raise UsageError("your key is already cloud-stored")
        old = self.archived(current)
        created = self.create(new, stores) if cloud else None
        try:
            self.store_archive([*old, current], new)
            RegistryAPI(self._core, self._log).publish(new, email, storage="cloud" if cloud else "device")
        except BaseException:
            # nothing was published: put the archive back for the current key, drop the new shards
            self.store_archive(old, current)
            if created is not None:
                self.delete()
            raise
        if not cloud and st.fingerprint:
            self.delete()
        return created


def _problem(r: httpx.Response) -> dict[str, Any]:
    try:
        d = r.json()
    except ValueError:
        return {}
    return d if isinstance(d, dict) else {}
