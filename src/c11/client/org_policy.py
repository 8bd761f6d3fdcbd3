"""Your organization's policy on this device: the signed document the log commits to, verified, and cached.

`GET /api/v1/org` carries the organization's policy document (`c11.orgrules.PolicyDocument`), its `orgpolicy`
log entry, the entry's inclusion proof and a signed checkpoint (docs/organizations.md, "The signed policy").
The client accepts the checkpoint as every log answer (pinned log key, consistent with the stored checkpoint:
`LogAPI.accept_answer`), checks the entry is in it and commits to the document, and refuses a document whose
number is lower than one this device saw for the organization (a server hiding a newer policy). Any failure
is a `ProofError`: nothing is applied.

The copy (`<config>/orgs/<server>/policy.json`, 0600) keeps the document with its entry, proof and checkpoint,
bound to the server and account, and the highest number seen per organization. Read offline, it is verified
again (the checkpoint with the pinned log key, the inclusion proof, the digest); a copy that does not verify
is an error, never "no organization". No copy and no server: `OrgPolicyUnavailableError` (a caller that
accepts encrypting without it says so explicitly).

    from c11.client.org_policy import OrgPolicyStore, own_policy
    got = own_policy(client, OrgPolicyStore(config_dir()), account="bob@example.com")
    got.policy, got.source, got.seq   # OrgPolicy or None (not a member), "server" | "cache" | "none", number
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from c11.errors import C11Error, FormatError, OrgPolicyUnavailableError, ProofError, ServerError

if TYPE_CHECKING:  # the log and the rules are imported on first use: an offline `c11 encrypt` needs neither
    from c11.client.client import Client
    from c11.client.recovery import OrgInfo
    from c11.client.transparency import LogCheck
    from c11.log.checkpoint import Checkpoint, NoteVerifier
    from c11.orgrules import OrgPolicy, PolicyDocument

SERVER = "server"
CACHE = "cache"
NONE = "none"  # no organization to apply: not logged in, or the caller skipped a missing policy
_VERSION = 2
#: Largest cached copy read (bytes).
MAX_CACHE = 4 << 20


@dataclass(frozen=True)
class SignedPolicy:
    """A policy document with what proves it: its log entry, the entry's index and inclusion proof in the
    tree of the signed checkpoint `note`."""

    document: str
    entry: str
    log_index: int
    proof: tuple[bytes, ...]
    note: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "entry": self.entry,
            "log_index": self.log_index,
            "inclusion_proof": [base64.b64encode(h).decode("ascii") for h in self.proof],
            "checkpoint": self.note.decode("utf-8"),
        }

    @classmethod
    def from_json(cls, d: Any) -> SignedPolicy:
        """From `to_json`'s form (or the `policy` field of `GET /api/v1/org`); ProofError when malformed."""
        from c11.client.transparency import decode_hashes

        if not isinstance(d, dict):
            raise ProofError("no signed organization policy")
        doc, entry, index, note = d.get("document"), d.get("entry"), d.get("log_index"), d.get("checkpoint")
        if not isinstance(doc, str) or not isinstance(entry, str) or not isinstance(note, str):
            raise ProofError("the signed organization policy lacks its document, entry or checkpoint")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ProofError("the signed organization policy has a bad log index")
        return cls(doc, entry, index, tuple(decode_hashes(d.get("inclusion_proof"))), note.encode("utf-8"))


def verify_signed(signed: SignedPolicy, checkpoint: Checkpoint, org_id: str | None = None) -> PolicyDocument:
    """The document, once its entry is proven in `checkpoint` (already accepted) and commits to it, for
    `org_id` when given; ProofError otherwise."""
    from c11.log.entries import OrgPolicyEntry, org_policy_digest
    from c11.log.merkle import leaf_hash, verify_inclusion
    from c11.orgrules import PolicyDocument

    verify_inclusion(
        leaf_hash(signed.entry.encode("utf-8")),
        signed.log_index,
        checkpoint.size,
        list(signed.proof),
        checkpoint.root_hash,
    )
    entry = OrgPolicyEntry.parse(signed.entry)
    if org_policy_digest(signed.document) != entry.digest:
        raise ProofError("the organization policy differs from the one its log entry commits to")
    try:
        doc = PolicyDocument.parse(signed.document)
    except C11Error as e:
        raise ProofError(f"the logged organization policy is malformed: {e}") from None
    if doc.org != entry.org or doc.seq != entry.seq:
        raise ProofError("the organization policy's ID or number differs from its log entry's")
    if org_id is not None and doc.org != org_id:
        raise ProofError("the server served another organization's policy")
    return doc


@dataclass(frozen=True)
class OwnPolicy:
    """Your organization's policy (None: not a member), where it came from, when it was read, its number
    (`seq`) and organization ID; `left`: the name of an organization this device saw you in and the server
    now says you are not a member of (docs/security.md: that claim cannot be proven)."""

    policy: OrgPolicy | None
    source: str
    fetched_at: int | None = None
    seq: int | None = None
    org_id: str | None = None
    left: str | None = None


def from_info(info: OrgInfo) -> OrgPolicy:
    """An `OrgInfo` (server answer or registry lookup) as the rules' input."""
    from c11.orgrules import OrgPolicy

    return OrgPolicy(info.name, tuple(info.recovery_keys), info.require_online, info.default_expiry_days)


class OrgPolicyStore:
    """The cached policies under `folder` (normally the config folder), one file per server."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder) / "orgs"

    def path(self, server: str) -> Path:
        from c11.client.transparency import server_slug

        return self.folder / server_slug(server) / "policy.json"

    def _read(self, server: str) -> dict[str, Any] | None:
        path = self.path(server)
        try:
            with open(path, "rb") as f:
                raw = f.read(MAX_CACHE + 1)
            if len(raw) > MAX_CACHE:
                raise ValueError("too large")
            doc = json.loads(raw.decode("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            raise FormatError(
                f"{path}: the cached organization policy is unreadable; delete it and connect to the server once"
            ) from None
        if isinstance(doc, dict) and doc.get("version") == 1:
            return None  # an unsigned copy of an older c11: never applied, replaced at the next answer
        if (
            not isinstance(doc, dict)
            or doc.get("version") != _VERSION
            or not isinstance(doc.get("fetched_at"), int)
            or not isinstance(doc.get("seen"), dict)
            or not all(isinstance(k, str) and _seen_ok(v) for k, v in doc["seen"].items())
        ):
            raise FormatError(f"{path}: not a cached organization policy; delete it and connect to the server once")
        return doc

    def member_of(self, server: str, account: str | None) -> str | None:
        """The organization name in the cached copy (not verified: for a warning only), or None."""
        doc = self._read(server)
        if doc is None or not _ours(doc, server, account) or not isinstance(doc.get("policy"), dict):
            return None
        try:
            name = json.loads(doc["policy"]["document"])["name"]
        except (KeyError, TypeError, ValueError):
            return None
        return name if isinstance(name, str) else None

    def seen(self, server: str, account: str | None) -> dict[str, list[Any]]:
        """organization ID -> [highest policy number seen, its name] for this server and account."""
        doc = self._read(server)
        if doc is None or not _ours(doc, server, account):
            return {}
        return dict(doc["seen"])

    def save(
        self,
        server: str,
        account: str | None,
        signed: SignedPolicy | None,
        doc: PolicyDocument | None,
        now: int | None = None,
    ) -> None:
        """Remember what the server proved for `account` (`signed` None: not a member), atomically, 0600;
        the highest number seen per organization is kept across answers."""
        seen = self.seen(server, account)
        if doc is not None and (doc.org not in seen or seen[doc.org][0] < doc.seq):
            seen[doc.org] = [doc.seq, doc.policy.name]
        data = {
            "version": _VERSION,
            "server": server.rstrip("/"),
            "account": account,
            "fetched_at": int(time.time()) if now is None else now,
            "policy": signed.to_json() if signed is not None else None,
            "seen": seen,
        }
        path = self.path(server)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def load(self, server: str, account: str | None, verifier: NoteVerifier | None) -> OwnPolicy | None:
        """The cached policy for this server and account, verified again with the pinned log key `verifier`,
        or None when there is none for them; a copy that does not parse or verify raises (FormatError,
        ProofError): it is not silently ignored."""
        doc = self._read(server)
        if doc is None or not _ours(doc, server, account):
            return None
        path = self.path(server)
        if doc.get("policy") is None:
            return OwnPolicy(None, CACHE, doc["fetched_at"])
        from c11.log.checkpoint import open_checkpoint

        try:
            if verifier is None:
                raise ProofError("no log key is pinned for this server to verify it with")
            signed = SignedPolicy.from_json(doc["policy"])
            checkpoint = open_checkpoint(signed.note, verifier)
            verified = verify_signed(signed, checkpoint)
        except ProofError as e:
            raise ProofError(
                f"{path}: the cached organization policy does not verify ({e}); delete it and connect to the "
                "server once"
            ) from None
        return OwnPolicy(verified.policy, CACHE, doc["fetched_at"], verified.seq, verified.org)


def _ours(doc: dict[str, Any], server: str, account: str | None) -> bool:
    return doc.get("server") == server.rstrip("/") and (account is None or doc.get("account") == account)


def _seen_ok(v: Any) -> bool:
    return (
        isinstance(v, list)
        and len(v) == 2
        and isinstance(v[0], int)
        and not isinstance(v[0], bool)
        and isinstance(v[1], str)
    )


def fetch_policy(client: Client) -> tuple[SignedPolicy, PolicyDocument, LogCheck] | None:
    """Your organization's signed policy from the server, verified against the log (pinned key, consistent
    with the stored checkpoint, entry included and committing to the document); None: not a member."""
    log = client.log
    known = log.known_size()
    d = client.groups.recovery.org_answer(known)
    if d is None:
        return None
    try:
        proof = d.get("policy") if isinstance(d, dict) else None
        if not isinstance(proof, dict):
            raise ProofError("the answer carries no signed policy")
        check = log.accept_answer(proof, known, "the organization policy answer")
        signed = SignedPolicy.from_json(proof)
        doc = verify_signed(signed, check.current, d.get("id") if isinstance(d.get("id"), str) else None)
    except ProofError as e:
        raise ProofError(f"{client.server} served an organization policy that does not verify: {e}") from None
    return SignedPolicy(signed.document, signed.entry, signed.log_index, signed.proof, check.note), doc, check


def own_policy(
    client: Client | None, store: OrgPolicyStore | None, account: str | None = None, *, allow_missing: bool = False
) -> OwnPolicy:
    """Your organization's policy: from the server (verified, then cached), else the cached copy (verified
    again) when the server is unreachable; neither: OrgPolicyUnavailableError, unless `allow_missing` (then
    source "none"). A policy older than one this device saw for the organization is a ProofError."""
    if client is None:
        return OwnPolicy(None, NONE)
    try:
        got = fetch_policy(client)
    except ServerError as e:
        if e.status != 0:
            raise
        cached = store.load(client.server, account, _pinned(client)) if store is not None else None
        if cached is not None:
            return cached
        if allow_missing:
            return OwnPolicy(None, NONE)
        raise OrgPolicyUnavailableError(
            f"your organization's policy could not be read ({e}) and none is cached on this device, so its "
            "recovery keys and online policy cannot be applied: connect to the server once, or encrypt "
            "explicitly without the organization policy"
        ) from None
    seen = store.seen(client.server, account) if store is not None else {}
    now = int(time.time())
    if got is None:
        left = store.member_of(client.server, account) if store is not None else None
        if store is not None:
            store.save(client.server, account, None, None, now)
        return OwnPolicy(None, SERVER, now, left=left)
    signed, doc, _ = got
    if doc.org in seen and doc.seq < seen[doc.org][0]:
        raise ProofError(
            f"{client.server} served policy number {doc.seq} of {doc.policy.name}, but this device has seen "
            f"number {seen[doc.org][0]}: the server is hiding the newer policy (rolled back); nothing was applied"
        )
    if store is not None:
        store.save(client.server, account, signed, doc, now)
    return OwnPolicy(doc.policy, SERVER, now, doc.seq, doc.org)


def _pinned(client: Client) -> NoteVerifier | None:
    """The log key pinned for the client's server (no network), or None."""
    from c11.log.checkpoint import NoteVerifier

    key = client.log.trust.pinned_key()
    try:
        return NoteVerifier.parse(key) if key else None
    except (ProofError, ValueError):
        return None


def policy_json(got: OwnPolicy) -> dict[str, Any]:
    """For `--json` summaries."""
    return {
        "source": got.source,
        "fetched_at": got.fetched_at,
        "organization": got.policy.name if got.policy else None,
        "policy_seq": got.seq,
    }
