"""Client side of the public key registry: publish (with proof of possession), look up, history, remove.

Everything the registry serves is verified before it is returned: the entry must be a `key` entry for
the email asked, included in a checkpoint signed by the pinned log key that extends the last checkpoint
this client saw (see `c11.client.transparency`). Failures raise `ProofError`.

    from c11.client import Client
    with Client.from_environment() as c:
        bob = c.registry.lookup("bob@example.com")     # a verified c11.keys.PublicKey
        for item in c.registry.history("alice@example.com"):
            print(item.index, item.action, item.fingerprint)
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from c11.client._http import HttpCore
from c11.client.transparency import LogAPI, LogCheck, decode_hashes
from c11.errors import NoKeyPublishedError, ProofError, RecipientError, ServerError
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey
from c11.log.entries import KeyEntry, email_hash, publish_message, rfc3339
from c11.log.merkle import leaf_hash, verify_inclusion


@dataclass(frozen=True)
class KeyRecord:
    """A verified registry answer: the key, and where it is in the log."""

    email: str
    public_key: PublicKey
    log_index: int
    tree_size: int
    published_at: datetime
    #: The person's organization as the server states it (not covered by the log proof), or None:
    #: `{"name", "recovery_keys", "require_online", "default_expiry_days"}` (docs/organizations.md).
    org: dict[str, Any] | None = None

    @property
    def fingerprint(self) -> str:
        return self.public_key.fingerprint


@dataclass(frozen=True)
class HistoryItem:
    """One verified `key` entry of an email: publish, change or remove."""

    index: int
    action: str
    public_key: PublicKey | None
    time: datetime

    @property
    def fingerprint(self) -> str | None:
        return self.public_key.fingerprint if self.public_key else None


@dataclass(frozen=True)
class Published:
    """What `publish` did: action is publish, change or unchanged."""

    email: str
    public_key: PublicKey
    log_index: int
    action: str


class RegistryAPI:
    """The /api/v1/keys routes."""

    def __init__(self, core: HttpCore, log: LogAPI) -> None:
        self._core = core
        self._log = log

    def publish(self, identity: Identity, email: str | None = None, storage: str = "device") -> Published:
        """Publish `identity`'s public key for your account's email (proof of possession signed here);
        `storage`: "cloud" for a cloud-stored key (organizations may refuse "device" keys)."""
        if identity.public.sig is None:
            raise RecipientError("this identity has no signing key")
        if email is None:
            email = self._core.request("GET", "/api/v1/account")["email"]
        line = identity.public.line()
        stamp = rfc3339(datetime.now(UTC), precise=True)  # two publishes never sign alike
        sig = identity.sign(publish_message(email, line, stamp))
        d = self._core.request(
            "POST",
            "/api/v1/keys",
            {
                "email": email,
                "public_key": line,
                "timestamp": stamp,
                "signature": base64.b64encode(sig).decode("ascii"),
                "storage": storage,
            },
        )
        if d.get("public_key") != line:
            raise ProofError("the registry answered with another key than the one published")
        self._log.trust.remember_published(
            {
                "fingerprint": identity.public.fingerprint,
                "public_key": line,
                "email": email.lower(),
                "log_index": d["log_index"],
            }
        )
        return Published(d["email"], identity.public, d["log_index"], d["action"])

    def publish_signed(self, proof: dict[str, str], storage: str = "cloud") -> Published:
        """Publish a key whose proof of possession was signed elsewhere: an enterprise key, signed inside the
        organization's enterprise key server (`c11.client.enterprise.publish_proof`); the key never leaves it."""
        d = self._core.request("POST", "/api/v1/keys", {**proof, "storage": storage})
        if d.get("public_key") != proof["public_key"]:
            raise ProofError("the registry answered with another key than the one published")
        key = PublicKey.parse(proof["public_key"])
        self._log.trust.remember_published(
            {
                "fingerprint": key.fingerprint,
                "public_key": proof["public_key"],
                "email": d["email"],
                "log_index": d["log_index"],
            }
        )
        return Published(d["email"], key, d["log_index"], d["action"])

    def remove(self) -> None:
        """Remove your published key (logged)."""
        self._core.request("DELETE", "/api/v1/keys")

    def lookup(self, email: str) -> PublicKey:
        """The verified current public key of `email`; `NoKeyPublishedError` if there is none."""
        return self.lookup_record(email).public_key

    def lookup_record(self, email: str) -> KeyRecord:
        """`lookup` with where the key is in the log."""
        email = email.strip().lower()
        try:
            return self._lookup(email)
        except ProofError as e:
            raise type(e)(f"the registry's answer for {email} does not verify: {e}") from None

    def _lookup(self, email: str) -> KeyRecord:
        known = self._log.known_size()
        try:
            d = self._core.request(
                "GET", "/api/v1/keys", params={"email": email, **({"known_size": known} if known is not None else {})}
            )
        except ServerError as e:
            if e.status == 404:
                raise NoKeyPublishedError(
                    f"{email} has no published key on {self._core.server}", 404, e.problem
                ) from None
            raise
        check = self._accept(d, known)
        entry = _key_entry(d.get("entry"))
        index = d.get("log_index")
        if not isinstance(index, int):
            raise ProofError("registry answer has no log index")
        verify_inclusion(
            leaf_hash(entry.text.encode("utf-8")),
            index,
            check.current.size,
            decode_hashes(d.get("inclusion_proof")),
            check.current.root_hash,
        )
        if entry.email_hash != email_hash(email) or entry.action == "remove" or entry.public_key is None:
            raise ProofError(f"the registry served a log entry that is not a key of {email}")
        if d.get("public_key") != entry.public_key:
            raise ProofError("the registry served a key that differs from its log entry")
        try:
            key = PublicKey.parse(entry.public_key)
        except RecipientError as e:
            raise ProofError(f"the logged key of {email} is malformed: {e}") from None
        org = d.get("org") if isinstance(d.get("org"), dict) else None
        return KeyRecord(email, key, index, check.current.size, entry.time, org)

    def history(self, email: str) -> list[HistoryItem]:
        """Every logged key change of `email`, oldest first, each proven to be in the verified log."""
        email = email.strip().lower()
        try:
            return self._history(email)
        except ProofError as e:
            raise type(e)(f"the registry's history of {email} does not verify: {e}") from None

    def _history(self, email: str) -> list[HistoryItem]:
        known = self._log.known_size()
        d = self._core.request(
            "GET",
            "/api/v1/keys/history",
            params={"email": email, **({"known_size": known} if known is not None else {})},
        )
        check = self._accept(d, known)
        out: list[HistoryItem] = []
        want = email_hash(email)
        last = -1
        for item in d.get("entries") or []:
            entry = _key_entry(item.get("entry"))
            index = item.get("index")
            if not isinstance(index, int) or index <= last:
                raise ProofError("registry history is not in log order")
            last = index
            verify_inclusion(
                leaf_hash(entry.text.encode("utf-8")),
                index,
                check.current.size,
                decode_hashes(item.get("inclusion_proof")),
                check.current.root_hash,
            )
            if entry.email_hash != want:
                raise ProofError(f"the registry history of {email} holds another person's entry")
            try:
                key = PublicKey.parse(entry.public_key) if entry.public_key else None
            except RecipientError:
                raise ProofError(f"entry {index} holds a malformed key") from None
            out.append(HistoryItem(index, entry.action, key, entry.time))
        return out

    def _accept(self, d: dict[str, Any], known: int | None) -> LogCheck:
        return self._log.accept_answer(d, known, "registry answer")


def _key_entry(text: Any) -> KeyEntry:
    if not isinstance(text, str):
        raise ProofError("registry answer has no log entry")
    return KeyEntry.parse(text)
