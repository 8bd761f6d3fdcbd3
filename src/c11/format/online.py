"""The online-policy stanza `c11-online/v1` (docs/format.md §2.6, docs/keyserver.md).

With an online policy the file key is split: recipients' stanzas wrap a random key A, and this
critical stanza carries a random key B sealed (HPKE) to the key server, bound to the document ID and
to the policy written next to it. Readers need both:

    file key = HKDF-SHA256(IKM = A || B, salt = document ID, info = "c11/v1 online file key", L = 32)

B is obtained from the key server, which checks that the caller is still allowed: the caller passes a
`Release` to decryption next to its identities (`c11.online.releasing` makes one for a logged-in client).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from c11.crypto.kem import HYBRID, PrivateKey, kem_type
from c11.errors import FormatError, IntegrityError, OnlinePolicyError
from c11.format.header import Header, HeaderOptions, Stanza
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey, key_id

ONLINE = "c11-online/v1"
KEY_SIZE = 32
MAX_POLICY = 1 << 16
#: Latest expiry a policy may name (year 9999), so every reader can turn it into a date.
MAX_EXPIRES = 253402300799
_HEX = set("0123456789abcdef")


@dataclass(frozen=True, order=True)
class PolicyRecipient:
    """Who may ask for B: an email (as its `email_hash`) and/or a key (its 32-hex fingerprint)."""

    email: str | None = None
    key: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"email": self.email, "key": self.key}


@dataclass(frozen=True)
class Policy:
    """The policy bound into the stanza (canonical JSON, docs/format.md §2.6)."""

    doc_id: bytes
    server: str
    server_key: str
    author: str
    recipients: tuple[PolicyRecipient, ...]
    expires: int | None = None
    version: int = field(default=1)

    @property
    def doc_uuid(self) -> str:
        return str(uuid.UUID(bytes=self.doc_id))

    def encode(self) -> bytes:
        return _canonical(
            {
                "author": self.author,
                "doc": self.doc_uuid,
                "expires": self.expires,
                "recipients": [r.to_json() for r in sorted(self.recipients, key=_sort_key)],
                "server": self.server,
                "server_key": self.server_key,
                "v": self.version,
            }
        )

    def digest(self) -> str:
        """SHA-256 (hex) of the policy's encoding (computed once)."""
        d = self.__dict__.get("_digest")
        if d is None:
            d = hashlib.sha256(self.encode()).hexdigest()
            object.__setattr__(self, "_digest", d)
        return d

    @classmethod
    def parse(cls, data: bytes) -> Policy:
        """Parse and check a policy; it must be in its one canonical encoding."""
        try:
            d = json.loads(data.decode("ascii"))
            if (
                not isinstance(d, dict)
                or set(d) != {"author", "doc", "expires", "recipients", "server", "server_key", "v"}
                or d["v"] != 1
            ):
                raise ValueError("members")
            recips = []
            for r in d["recipients"]:
                if not isinstance(r, dict) or set(r) != {"email", "key"}:
                    raise ValueError("recipient")
                recips.append(PolicyRecipient(_opt_hex(r["email"], 64), _opt_hex(r["key"], 32)))
                if recips[-1].email is None and recips[-1].key is None:
                    raise ValueError("empty recipient")
            expires = d["expires"]
            if expires is not None and (
                not isinstance(expires, int) or isinstance(expires, bool) or not 0 <= expires <= MAX_EXPIRES
            ):
                raise ValueError("expires")
            if not isinstance(d["server"], str) or not d["server"].startswith(("http://", "https://")):
                raise ValueError("server")
            policy = cls(
                uuid.UUID(d["doc"]).bytes,
                d["server"],
                _opt_hex(d["server_key"], 32) or "",
                _opt_hex(d["author"], 64) or "",
                tuple(recips),
                expires,
            )
        except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError, RecursionError) as e:
            raise FormatError(f"malformed online-policy stanza ({e})") from None
        if not policy.server_key or not policy.author or not recips or policy.encode() != data:
            raise FormatError("malformed online-policy stanza (not canonical)")
        return policy


def _sort_key(r: PolicyRecipient) -> tuple[str, str]:
    return (r.email or "", r.key or "")


def _opt_hex(v: object, n: int) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str) or len(v) != n or not set(v) <= _HEX:
        raise ValueError("hex value")
    return v


def _canonical(obj: object) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def seal_info(doc_id: bytes, policy_bytes: bytes) -> bytes:
    """HPKE `info` sealing B to the key server: binds the document and the exact policy."""
    return b"c11/v1 online\x00" + doc_id + hashlib.sha256(policy_bytes).digest()


def release_info(doc_id: bytes, recipient_key_id: bytes) -> bytes:
    """HPKE `info` of the key server's answer, sealed to the caller's recipient key."""
    return b"c11/v1 online release\x00" + doc_id + recipient_key_id


def combine(a: bytes, b: bytes, doc_id: bytes) -> bytes:
    """The file key from the recipients' part A and the key server's part B."""
    if len(a) != KEY_SIZE or len(b) != KEY_SIZE:
        raise IntegrityError("an online-policy key part has the wrong length")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=doc_id, info=b"c11/v1 online file key").derive(a + b)


def encode_body(policy_bytes: bytes, sealed: bytes) -> bytes:
    return struct.pack(">I", len(policy_bytes)) + policy_bytes + sealed


def parse_body(body: bytes) -> tuple[Policy, bytes, bytes]:
    """(policy, its exact bytes, sealed B) of a stanza body."""
    if len(body) < 4:
        raise FormatError("malformed online-policy stanza (truncated)")
    (n,) = struct.unpack(">I", body[:4])
    if n > MAX_POLICY or len(body) < 4 + n + kem_type(HYBRID).enc_size + 16 + KEY_SIZE:
        raise FormatError("malformed online-policy stanza (lengths)")
    raw = body[4 : 4 + n]
    return _parse_cached(raw), raw, body[4 + n :]


@lru_cache(maxsize=1024)
def _parse_cached(raw: bytes) -> Policy:
    """`Policy.parse`, remembered: a key server parses the same policies again and again (pure, immutable)."""
    return Policy.parse(raw)


@dataclass(frozen=True)
class OnlineSeal:
    """What an author needs to write a header with an online policy (`c11.files.encrypt(options=seal.options())`)."""

    policy: Policy
    stanza: Stanza
    recipient_key: bytes  # A
    file_key: bytes

    def options(self) -> HeaderOptions:
        """The header options of a file with this policy."""
        return HeaderOptions(
            extra_stanzas=(self.stanza,),
            recipient_key=self.recipient_key,
            file_key=self.file_key,
            doc_id=self.policy.doc_id,
        )


def make(
    server: str,
    server_key: PublicKey,
    author_hash: str,
    recipients: Sequence[PolicyRecipient],
    expires: int | None,
    doc_id: bytes | None = None,
) -> OnlineSeal:
    """Draw A and B, seal B to the key server under a new policy; B is then forgotten."""
    if server_key.kem != HYBRID:
        raise FormatError("the key server's key must be mlkem768x25519")
    doc_id = doc_id or uuid.uuid4().bytes
    policy = Policy(
        doc_id,
        server.rstrip("/"),
        server_key.fingerprint,
        author_hash,
        tuple(sorted(set(recipients), key=_sort_key)),
        expires,
    )
    raw = policy.encode()
    a, b = os.urandom(KEY_SIZE), os.urandom(KEY_SIZE)
    sealed = kem_type(HYBRID).seal(server_key.enc, b, seal_info(doc_id, raw))
    stanza = Stanza(ONLINE, encode_body(raw, sealed), critical=True)
    return OnlineSeal(policy, stanza, a, combine(a, b, doc_id))


def open_share(private_key: PrivateKey, body: bytes) -> tuple[Policy, bytes]:
    """Key server side: the policy and B of a stanza body (IntegrityError if it does not open)."""
    policy, raw, sealed = parse_body(body)
    return policy, open_sealed_share(private_key, policy.doc_id, raw, sealed)


def open_sealed_share(private_key: PrivateKey, doc_id: bytes, policy_bytes: bytes, sealed: bytes) -> bytes:
    """Key server side: B from the sealed part of a stanza whose policy bytes were parsed already."""
    b = kem_type(HYBRID).open(private_key, sealed, seal_info(doc_id, policy_bytes))
    if len(b) != KEY_SIZE:
        raise IntegrityError("bad key part")
    return b


def seal_release(recipient: PublicKey, doc_id: bytes, b: bytes) -> bytes:
    """Key server side: B sealed to the caller's recipient key."""
    return kem_type(recipient.kem).seal(recipient.enc, b, release_info(doc_id, recipient.key_id))


def open_release(identity: Identity, doc_id: bytes, sealed: bytes) -> bytes:
    """Client side: B from the key server's answer."""
    b = kem_type(identity.kem).open(identity.kem_private, sealed, release_info(doc_id, identity.public.key_id))
    if len(b) != KEY_SIZE:
        raise IntegrityError("the key server's answer has a bad key part")
    return b


def find_stanza(header: Header) -> Stanza | None:
    return next((s for s in header.stanzas if s.type == ONLINE), None)


def describe(stanza: Stanza) -> dict[str, Any]:
    """What `inspect` shows of an online-policy stanza (anyone can read the policy)."""
    try:
        p, _, _ = parse_body(stanza.body)
    except FormatError as e:
        return {"error": str(e)}
    return {
        "server": p.server,
        "server_key": p.server_key,
        "expires": p.expires,
        "policy_recipients": len(p.recipients),
    }


# -- reading: B comes from a release the caller passes -----------------------------------------------


@dataclass(frozen=True)
class Release:
    """The key server's part B of an online-policy file, passed to decryption next to the identities:
    `fetch(stanza, header, policy, identity)` returns B for `identity`, the recipient whose stanza opened."""

    fetch: Callable[[Stanza, Header, Policy, Identity], bytes]


def file_key(stanza: Stanza, header: Header, a: bytes, identity: Identity, releases: Sequence[Release]) -> bytes:
    """The file key of a file with this online-policy stanza, from the recipient key A and the first
    release's B; OnlinePolicyError (with `server`) when the caller passed no release."""
    policy, _, _ = parse_body(stanza.body)
    if policy.doc_id != header.doc_id:
        raise IntegrityError("the online-policy stanza belongs to another document: the file was modified")
    if not releases:
        raise OnlinePolicyError(
            f"this file has an online policy: its key server {policy.server} must release "
            "part of the key, and no release from it was given",
            server=policy.server,
        )
    return combine(a, releases[0].fetch(stanza, header, policy, identity), header.doc_id)


__all__ = [
    "ONLINE",
    "OnlineSeal",
    "Policy",
    "PolicyRecipient",
    "Release",
    "combine",
    "file_key",
    "key_id",
    "make",
    "open_release",
    "open_share",
    "seal_release",
]
