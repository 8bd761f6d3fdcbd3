"""Client side of the key server (online policy, docs/keyserver.md): reached as `Client.keyserver`.

from c11.client import Client
with Client.from_environment() as c:
    key = c.keyserver.server_key()                       # the key online shares are sealed to
    c.keyserver.revoke(doc_id)                           # nobody gets the key server's part any more
    for a in c.keyserver.accesses(doc_id):              # each proven to be in the verified log
        print(a.time, a.email, a.result, a.address)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from c11.client._http import HttpCore
from c11.client.transparency import LogAPI, decode_hashes
from c11.errors import AccessRefusedError, AuthError, IntegrityError, OnlinePolicyError, ProofError, ServerError
from c11.format import online
from c11.format.header import Stanza
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey
from c11.log.entries import email_hash, parse_rfc3339, rfc3339
from c11.log.openings import verify_opening


def doc_uuid(doc_id: str | bytes) -> str:
    """A document ID as its canonical UUID string (from bytes, a UUID string or 32 hex digits)."""
    try:
        return str(uuid.UUID(bytes=doc_id)) if isinstance(doc_id, bytes) else str(uuid.UUID(doc_id.strip()))
    except (ValueError, AttributeError):
        raise OnlinePolicyError(f"{doc_id!r} is not a document ID") from None


@dataclass(frozen=True)
class PolicyMember:
    """Someone the key server may release to: an email and/or a recipient key fingerprint."""

    email: str | None
    email_hash: str | None
    key: str | None


@dataclass(frozen=True)
class OnlineDocument:
    """The key server's record of an online-policy document (as its author sees it)."""

    doc_id: str
    expires_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    updated_at: datetime
    recipients: tuple[PolicyMember, ...]
    policy_digest: str

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> OnlineDocument:
        def ts(v: str | None) -> datetime | None:
            return parse_rfc3339(v) if v else None

        return cls(
            d["doc_id"],
            ts(d.get("expires_at")),
            ts(d.get("revoked_at")),
            parse_rfc3339(d["created_at"]),
            parse_rfc3339(d["updated_at"]),
            tuple(PolicyMember(r.get("email"), r.get("email_hash"), r.get("key")) for r in d.get("recipients", [])),
            d["policy_digest"],
        )


@dataclass(frozen=True)
class Access:
    """One release request (allowed or denied), verified against its log entry and inclusion proof.

    `by` is whom the log attributes it to: "account" (`email`, the account that asked), "key-holder" (released
    because the key sent is a recipient key: `email` is None) or "unverified-account"."""

    index: int
    time: datetime
    email: str | None
    key: str
    result: str
    address: str
    entry: str
    tree_size: int
    proof: tuple[bytes, ...]
    by: str = "account"

    @property
    def allowed(self) -> bool:
        return self.result == "allowed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "time": rfc3339(self.time),
            "email": self.email,
            "by": self.by,
            "key": self.key,
            "result": self.result,
            "from": self.address,
            "entry": self.entry,
            "tree_size": self.tree_size,
            "inclusion_proof": [base64.b64encode(h).decode() for h in self.proof],
        }


def _check_release_opening(index: int, text: str, item: dict[str, Any], email: Any, key: Any) -> str:
    """Check a v2 release entry's opening against the access record; returns its attribution (`by`)."""
    try:
        nonce = base64.b64decode(item["nonce"], validate=True)
        opened = verify_opening(text, nonce, item["private"])
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise ProofError(f"access record {index} has a malformed opening") from None
    by, person = opened.private.get("by"), opened.person
    fits = {
        "account": isinstance(email, str) and person == email_hash(email),
        "key-holder": email is None and person is None,
        "unverified-account": isinstance(email, str) and person is None,
    }.get(str(by), False)
    if not fits or opened.private.get("key") != key:
        raise ProofError(f"access record {index} does not match its log entry")
    return str(by)


def _member(m: str | PublicKey | PolicyMember) -> dict[str, Any]:
    if isinstance(m, PolicyMember):
        return {"email": m.email, "key": m.key}
    if isinstance(m, PublicKey):
        return {"key": m.fingerprint}
    text = m.strip()
    if "@" in text:
        return {"email": text.lower()}
    return {"key": text.lower()}


class KeyServerAPI:
    """The /api/v1/keyserver and /api/v1/documents routes."""

    def __init__(self, core: HttpCore, log: LogAPI) -> None:
        self._core = core
        self._log = log
        self._server_key: PublicKey | None = None

    @property
    def server(self) -> str:
        return self._core.server

    def server_key(self) -> PublicKey:
        """The key server's X-Wing public key (fetched once per client)."""
        if self._server_key is None:
            d = self._core.request("GET", "/api/v1/keyserver/key", auth=False)
            key = PublicKey.parse(d["public_key"])
            if key.fingerprint != d.get("fingerprint"):
                raise ServerError("the key server announced an inconsistent key")
            self._server_key = key
        return self._server_key

    # -- author side ------------------------------------------------------------------------------------

    def prepare(
        self, author_email: str, recipients: Iterable[tuple[str | None, PublicKey | None]], expires: int | None = None
    ) -> online.OnlineSeal:
        """Draw the key parts of a new online-policy document for (email, key) recipients."""
        members = [
            online.PolicyRecipient(email_hash(e) if e else None, k.fingerprint if k else None) for e, k in recipients
        ]
        return online.make(self.server, self.server_key(), email_hash(author_email), members, expires)

    def register(self, seal: online.OnlineSeal, emails: Sequence[str] = ()) -> OnlineDocument:
        """Register a document's policy (you are its author); emails label the policy's email hashes."""
        d = self._core.request(
            "POST",
            "/api/v1/documents",
            {"stanza": base64.b64encode(seal.stanza.body).decode(), "emails": [e.lower() for e in emails]},
        )
        return OnlineDocument.from_json(d)

    def document(self, doc_id: str | bytes) -> OnlineDocument:
        return OnlineDocument.from_json(self._core.request("GET", f"/api/v1/documents/{doc_uuid(doc_id)}"))

    def documents(self, limit: int = 100) -> list[OnlineDocument]:
        """The documents you registered (you are their author), newest first, at most `limit`."""
        d = self._core.request("GET", f"/api/v1/documents?limit={int(limit)}")
        return [OnlineDocument.from_json(x) for x in d["documents"]]

    def revoke(self, doc_id: str | bytes) -> OnlineDocument:
        """Nobody gets the key server's part any more (until `restore`)."""
        return OnlineDocument.from_json(self._core.request("POST", f"/api/v1/documents/{doc_uuid(doc_id)}/revoke"))

    def restore(self, doc_id: str | bytes) -> OnlineDocument:
        return OnlineDocument.from_json(self._core.request("POST", f"/api/v1/documents/{doc_uuid(doc_id)}/restore"))

    def set_expiry(self, doc_id: str | bytes, when: datetime | None) -> OnlineDocument:
        """Expire at `when` (timezone-aware), or never (None)."""
        return OnlineDocument.from_json(
            self._core.request(
                "PUT",
                f"/api/v1/documents/{doc_uuid(doc_id)}/expiry",
                {"expires_at": rfc3339(when) if when is not None else None},
            )
        )

    def change_recipients(
        self,
        doc_id: str | bytes,
        add: Iterable[str | PublicKey | PolicyMember] = (),
        remove: Iterable[str | PublicKey | PolicyMember] = (),
    ) -> OnlineDocument:
        """Add or remove who may get the key server's part (emails or key fingerprints); the file is untouched."""
        return OnlineDocument.from_json(
            self._core.request(
                "POST",
                f"/api/v1/documents/{doc_uuid(doc_id)}/recipients",
                {"add": [_member(m) for m in add], "remove": [_member(m) for m in remove]},
            )
        )

    def accesses(self, doc_id: str | bytes) -> list[Access]:
        """Every release request for the document, each checked against its log entry and inclusion proof in
        a checkpoint signed by the pinned log key that extends the last one this client saw."""
        doc = doc_uuid(doc_id)
        out: list[Access] = []
        after = -1
        while True:
            d = self._core.request("GET", f"/api/v1/documents/{doc}/accesses", params={"after": after})
            note = d.get("checkpoint")
            if not isinstance(note, str):
                raise ProofError("access list has no checkpoint")
            check = self._log.accept(note.encode("utf-8"))
            if d.get("tree_size") != check.current.size:
                raise ProofError("access list's tree size differs from its checkpoint")
            for item in d.get("accesses") or []:
                out.append(self._verify_access(doc, item, check))
            after = d.get("next_after")
            if after is None:
                return out
            if not isinstance(after, int) or (out and after != out[-1].index):
                raise ProofError("access list pages are out of order")

    def _verify_access(self, doc: str, item: dict[str, Any], check: Any) -> Access:
        try:
            index, text, salt = int(item["index"]), str(item["entry"]), bytes.fromhex(item["salt"])
            email, key, result, address = item["email"], item["key"], item["result"], item["address"]
            proof = decode_hashes(item["inclusion_proof"])
            entry = json.loads(text)
        except (KeyError, TypeError, ValueError):
            raise ProofError("malformed access record") from None
        self._log.check_inclusion(check, text, index, proof)
        expected = {"doc": doc, "result": result, "from": hashlib.sha256(salt + address.encode("utf-8")).hexdigest()}
        by = "account"
        if item.get("nonce") is None:  # a v1 entry: the email hash and key are public
            expected.update({"who": email_hash(email) if isinstance(email, str) else None, "key": key})
        else:
            by = _check_release_opening(index, text, item, email, key)
        if entry.get("kind") != "release" or any(entry.get(k) != v for k, v in expected.items()):
            raise ProofError(f"access record {index} does not match its log entry")
        return Access(
            index, parse_rfc3339(entry["time"]), email, key, result, address, text, check.current.size, tuple(proof), by
        )

    # -- reader side ------------------------------------------------------------------------------------

    def release(self, stanza: Stanza | bytes, identity: Identity) -> bytes:
        """The key server's part B of a document, sealed to `identity` by the server and opened here.

        Raises `AccessRefusedError` when the key server refuses (not a recipient, revoked or expired).
        """
        body = stanza.body if isinstance(stanza, Stanza) else stanza
        policy, _, _ = online.parse_body(body)
        try:
            d = self._core.request(
                "POST",
                "/api/v1/keyserver/release",
                {"stanza": base64.b64encode(body).decode(), "public_key": identity.public.line()},
            )
        except AuthError as e:
            if e.status == 403 and (e.problem.get("type") or "").endswith(":access-refused"):
                raise AccessRefusedError(
                    f"access refused by the key server {self.server} for document {policy.doc_uuid}: the author "
                    "revoked it, or it expired, or you are not (or no longer) a recipient; ask the author",
                    403,
                    e.problem,
                ) from None
            raise
        try:
            sealed = base64.b64decode(d["sealed"], validate=True)
        except (KeyError, TypeError, binascii.Error, ValueError):
            raise ServerError("the key server answered without a key part") from None
        try:
            return online.open_release(identity, policy.doc_id, sealed)
        except IntegrityError:
            raise ServerError("the key server's answer does not open with your key") from None


@dataclass(frozen=True)
class Invitation:
    """An invitation: status pending, accepted, expired, or registered (the person already has an account)."""

    id: str | None
    email: str
    status: str
    fingerprint: str | None
    public_key: PublicKey | None
    expires_at: datetime | None
    send_count: int

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Invitation:
        return cls(
            d.get("id"),
            d["email"],
            d["status"],
            d.get("fingerprint"),
            PublicKey.parse(d["public_key"]) if d.get("public_key") else None,
            parse_rfc3339(d["expires_at"]) if d.get("expires_at") else None,
            int(d.get("send_count") or 0),
        )


@dataclass(frozen=True)
class TemporaryKey:
    """A verified temporary key of an invited email: held by the key server, so not zero-trust."""

    email: str
    public_key: PublicKey
    expires_at: datetime
    log_index: int

    zero_trust = False

    @property
    def fingerprint(self) -> str:
        return self.public_key.fingerprint


class InvitationsAPI:
    """The /api/v1/invitations routes (temporary keys, docs/keyserver.md); reached as `Client.invitations`."""

    def __init__(self, core: HttpCore, log: LogAPI) -> None:
        self._core = core
        self._log = log

    def invite(self, emails: Iterable[str]) -> list[Invitation]:
        """Invite people; each unregistered one gets a temporary key and an email."""
        return [
            Invitation.from_json(d)
            for d in self._core.request("POST", "/api/v1/invitations", {"emails": [e.strip().lower() for e in emails]})
        ]

    def list(self) -> list[Invitation]:
        """Invitations you sent, with their status."""
        return [Invitation.from_json(d) for d in self._core.request("GET", "/api/v1/invitations")]

    def resend(self, invitation_id: str) -> Invitation:
        return Invitation.from_json(self._core.request("POST", f"/api/v1/invitations/{invitation_id}/resend"))

    def temporary_key(self, email: str) -> TemporaryKey | None:
        """The temporary key of `email` (None without a pending invitation), verified in the log."""
        email = email.strip().lower()
        try:
            d = self._core.request("GET", "/api/v1/invitations/key", params={"email": email})
        except ServerError as e:
            if e.status == 404:
                return None
            raise
        note = d.get("checkpoint")
        if not isinstance(note, str):
            raise ProofError("temporary key answer has no checkpoint")
        check = self._log.accept(note.encode("utf-8"))
        try:
            text, index = str(d["entry"]), int(d["log_index"])
            entry = json.loads(text)
            proof = decode_hashes(d["inclusion_proof"])
        except (KeyError, TypeError, ValueError):
            raise ProofError("malformed temporary key answer") from None
        self._log.check_inclusion(check, text, index, proof)
        if (
            entry.get("kind") != "tempkey"
            or entry.get("action") != "create"
            or entry.get("email_hash") != email_hash(email)
            or entry.get("public_key") != d.get("public_key")
        ):
            raise ProofError(f"the server served a temporary key for {email} that differs from its log entry")
        return TemporaryKey(email, PublicKey.parse(d["public_key"]), parse_rfc3339(d["expires_at"]), index)

    def claim(self, identity: Identity) -> Identity | None:
        """Your temporary private key (you were invited), sealed by the key server to your published key
        `identity` and opened here; None if there is none (any more). The server then destroys it."""
        try:
            d = self._core.request("POST", "/api/v1/invitations/claim", {"public_key": identity.public.line()})
        except ServerError as e:
            if e.status == 404:
                return None
            raise
        from c11.crypto.kem import kem_type

        me = email_hash(d["email"])
        seeds = kem_type(identity.kem).open(
            identity.kem_private,
            base64.b64decode(d["sealed"]),
            b"c11/v1 temporary key release\x00" + me.encode() + identity.public.key_id,
        )
        temp_pub = PublicKey.parse(d["public_key"])
        temp = Identity(f"{d['email']} (temporary)", temp_pub.kem, seeds[:32], seeds[32:])
        if temp.public.key_id != temp_pub.key_id:
            raise IntegrityError("the temporary key released does not match its public key")
        return temp
