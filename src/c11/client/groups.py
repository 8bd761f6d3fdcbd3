"""Groups of your organization as recipients (docs/organizations.md): group keys made here, wrapped to each member.

A group has an X-Wing key pair made on an admin's device; the server keeps its public line and, per member,
the private key wrapped to that member's registry key (docs/format.md §12). Encrypting to a group is one
ordinary recipient stanza; a member opens it with the group identity unwrapped in memory, after checking the
wrap is signed by the published key of who the server says wrapped it. Only group admins and a version's
creator wrap (the server refuses anyone else's wraps); the creator keeps a custody wrap, so a member added
later gets every key version once such a holder's client runs `sync()`; removing a member rotates the key.

    with Client.from_environment() as c:
        c.groups.create("finance", ["ann@acme.example", "bob@acme.example"], identity=me)  # admin
        key = c.groups.group_key("finance")                   # encrypt to it like any public key
        ident = c.groups.open_group_identity("finance", me)   # a member, to decrypt
        c.groups.sync(me)                                     # wrap the key for members added since
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from c11 import groupkey
from c11.client._http import HttpCore, json_object
from c11.client.registry import RegistryAPI
from c11.client.transparency import LogAPI, decode_hashes
from c11.errors import (
    C11Error,
    FormatError,
    NoKeyPublishedError,
    NoMatchingKeyError,
    ProofError,
    ServerError,
    UsageError,
)
from c11.format.envelope import IdentitySource
from c11.groupkey import GroupKeyRecord, GroupKeyRef
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey
from c11.log.checkpoint import Checkpoint
from c11.log.entries import GroupKeyEntry, group_key_digest
from c11.log.merkle import leaf_hash, verify_inclusion

if TYPE_CHECKING:
    from c11.client.recovery import RecoveryAPI

_BASE = "/api/v1/org"


@dataclass(frozen=True)
class GroupKey:
    """One version of a group's key (public part)."""

    version: int
    fingerprint: str
    public_key: PublicKey
    retired: bool = False

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> GroupKey:
        return cls(int(d["version"]), d["fingerprint"], PublicKey.parse(d["public_key"]), bool(d.get("retired_at")))


@dataclass(frozen=True)
class Group:
    """A group: its current key (None until an admin's client made one) and, in details, its members."""

    id: str
    name: str
    member_count: int
    key: GroupKey | None
    rotation_due: bool
    pending_wraps: int
    members: list[dict[str, Any]] = field(default_factory=list)
    #: Members without the current key: [{"email", "reason": no-published-key | not-wrapped}].
    waiting: list[dict[str, Any]] = field(default_factory=list)
    #: Who holds the current key and may wrap it for members (group admins, the key's creator).
    key_holders: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Group:
        return cls(
            d["id"],
            d["name"],
            int(d.get("member_count", 0)),
            GroupKey.from_json(d["key"]) if d.get("key") else None,
            bool(d.get("rotation_due")),
            int(d.get("pending_wraps", 0)),
            list(d.get("members") or []),
            list(d.get("waiting") or []),
            list(d.get("key_holders") or []),
        )


@dataclass
class SyncReport:
    """What `sync` did: wraps made, keys created or rotated, members skipped (and why)."""

    wrapped: list[tuple[str, int, str]] = field(default_factory=list)  # (group, version, email)
    created: list[str] = field(default_factory=list)
    rotated: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (group or email, reason)

    def to_dict(self) -> dict[str, Any]:
        return {
            "wrapped": [{"group": g, "version": v, "email": e} for g, v, e in self.wrapped],
            "created": self.created,
            "rotated": self.rotated,
            "skipped": [{"what": w, "reason": r} for w, r in self.skipped],
        }


def verify_group_key(proof: dict[str, Any], checkpoint: Checkpoint, name: str | None = None) -> GroupKeyRecord:
    """The record of a group key answer's `proof` once its entry is proven in `checkpoint` (already accepted)
    and commits to it, for the group named `name` when given; ProofError otherwise."""
    record_text, entry_text, index = proof.get("record"), proof.get("entry"), proof.get("log_index")
    if not isinstance(record_text, str) or not isinstance(entry_text, str):
        raise ProofError("the answer lacks the group key record or its log entry")
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise ProofError("the answer has a bad log index")
    verify_inclusion(
        leaf_hash(entry_text.encode("utf-8")),
        index,
        checkpoint.size,
        decode_hashes(proof.get("inclusion_proof")),
        checkpoint.root_hash,
    )
    entry = GroupKeyEntry.parse(entry_text)
    if group_key_digest(record_text) != entry.digest:
        raise ProofError("the group key differs from the one its log entry commits to")
    try:
        record = GroupKeyRecord.parse(record_text)
    except C11Error as e:
        raise ProofError(f"the logged group key record is malformed: {e}") from None
    if (record.org, record.group, record.version) != (entry.org, entry.group, entry.version):
        raise ProofError("the group key record's organization, group or version differs from its log entry's")
    if name is not None and record.name != name.strip():
        raise ProofError(f"the server served the key of group {record.name!r}")
    return record


def _ids(mine: Identity | Sequence[Identity]) -> list[Identity]:
    return [mine] if isinstance(mine, Identity) else list(mine)


class GroupsAPI:
    """The /api/v1/org/groups routes and the client-side work on group keys."""

    def __init__(self, core: HttpCore, log: LogAPI) -> None:
        self._core = core
        self._log = log
        self._registry = RegistryAPI(core, log)
        self._signers: dict[str, frozenset[str]] = {}

    @cached_property
    def recovery(self) -> RecoveryAPI:
        """Recovery keys of your organization (docs/organizations.md): create, list, rotate, remove."""
        from c11.client.recovery import RecoveryAPI

        return RecoveryAPI(self._core)

    def _path(self, name: str, tail: str = "") -> str:
        return f"{_BASE}/groups/{quote(name.strip(), safe='')}{tail}"

    # -- reading -----------------------------------------------------------------------------------------

    def list(self) -> list[Group]:
        """The organization's groups."""
        return [Group.from_json(g) for g in self._core.request("GET", f"{_BASE}/groups")["groups"]]

    def get(self, name: str) -> Group:
        """A group with its members (for its members and group admins)."""
        return Group.from_json(self._core.request("GET", self._path(name)))

    def members(self, name: str) -> builtins.list[dict[str, Any]]:
        """The group's members: `{"email", "status", "has_key"}` (has_key: holds the current key)."""
        return self.get(name).members

    def group_key(self, name: str) -> PublicKey:
        """The group's current public key: encrypt to it (it reaches every member, also later ones). Only a
        key the log commits to is returned (`proven_key`); anything else is a ProofError."""
        return self.proven_key(name).public_key

    def proven_key(self, name: str) -> GroupKeyRecord:
        """The group's current key record, proven in the log (docs/organizations.md, "Group keys in the log"):
        the answer's checkpoint accepted as every log answer (pinned key, consistent with the stored one),
        its `groupkey` entry included and committing to the record, the record for the group asked, and no
        older version (nor another key of the same version) than this device saw for the group."""
        log = self._log
        known = log.known_size()
        d = self._core.request(
            "GET", self._path(name, "/key"), params={"known_size": known} if known is not None else None
        )
        try:
            proof = d.get("proof") if isinstance(d, dict) else None
            if not isinstance(proof, dict):
                raise ProofError("the answer carries no log proof")
            check = log.accept_answer(proof, known, "the group key answer")
            record = verify_group_key(proof, check.current, name)
            seen = log.trust.group_keys().get(record.group)
            if seen is not None and record.version < seen[0]:
                raise ProofError(
                    f"it is key version {record.version}, but this device has seen version {seen[0]}: the server "
                    "is hiding the newer key (rolled back)"
                )
            if seen is not None and record.version == seen[0] and record.public_key.fingerprint != seen[1]:
                raise ProofError(f"this device has seen another key as version {record.version}")
        except ProofError as e:
            raise ProofError(
                f"{self._core.server} served a key for group:{name.strip()} that does not verify: {e}; "
                "nothing was encrypted to it"
            ) from None
        log.trust.remember_group_key(record.group, record.version, record.public_key.fingerprint)
        return record

    def wraps(self, name: str | None = None) -> dict[str, Any]:
        """Your wraps (`{"org_id", "wraps": [...]}`) of one group or of every group you are in."""
        return json_object(self._core.request("GET", self._path(name, "/wraps") if name else f"{_BASE}/group-wraps"))

    # -- admin ---------------------------------------------------------------------------------------------

    def create(self, name: str, members: Sequence[str] = (), identity: Identity | None = None) -> Group:
        """Create a group (crud:groups-org); with `identity`, also make its key here and wrap it to members."""
        self._core.request("POST", f"{_BASE}/groups", {"name": name, "members": list(members)})
        return self.rotate_key(name, identity) if identity is not None else self.get(name)

    def delete(self, name: str) -> None:
        self._core.request("DELETE", self._path(name))

    def add_member(self, name: str, email: str, identity: Identity | Sequence[Identity] | None = None) -> Group:
        """Add a member; with your `identity` (if you hold the group key) the new member gets it now."""
        return self.add_members(name, [email], identity)

    def add_members(
        self, name: str, emails: Sequence[str], identity: Identity | Sequence[Identity] | None = None
    ) -> Group:
        self._core.request("POST", self._path(name, "/members"), {"emails": list(emails)})
        if identity is not None:
            self.sync(identity, only=name, admin_work=False)
        return self.get(name)

    def remove_member(self, name: str, email: str, identity: Identity | None = None) -> Group:
        """Remove a member (their wraps go); with `identity`, rotate the key now so new content excludes them.
        Without it the group is flagged and the next admin `sync` rotates it."""
        return self.remove_members(name, [email], identity)

    def remove_members(self, name: str, emails: Sequence[str], identity: Identity | None = None) -> Group:
        self._core.request("POST", self._path(name, "/members/remove"), {"emails": list(emails)})
        return self.rotate_key(name, identity) if identity is not None else self.get(name)

    def rotate_key(self, name: str, identity: Identity) -> Group:
        """Make a new group key here (the first, or a rotation) and wrap it to every member with a key, and to
        you: you keep custody of this version (also outside the group) so you can wrap it for members added
        later, even before any member has it.

        `identity` signs the wraps: it must be your published key. Old versions stay with their holders.
        """
        d = self._core.request("GET", self._path(name))
        me = str((self._core.request("GET", _BASE).get("you") or {}).get("email", ""))
        org_id, group = d["org_id"], d["name"]
        version = (d["key"]["version"] + 1) if d.get("key") else 1
        new = groupkey.generate(group)
        ref = GroupKeyRef(org_id, group, version)
        wraps = []
        for email in dict.fromkeys([*(m["email"] for m in d.get("members") or []), me]):
            member = self._member_key(email) if email else None
            if member is not None:
                wraps.append({"email": email, "wrapped": groupkey.wrap(new, ref, member, identity)})
        out = self._core.request("PUT", self._path(group, "/key"), {"public_key": new.public.line(), "wraps": wraps})
        got = Group.from_json(out)
        if got.key is None or got.key.version != version or got.key.public_key != new.public:
            raise ProofError("the server recorded another group key than the one made here")
        return got

    # -- members -------------------------------------------------------------------------------------------

    def open_group_identity(
        self, name: str, my_identity: Identity | Sequence[Identity], version: int | None = None
    ) -> Identity:
        """The group's private key (current version, or `version`), opened in memory with your identity."""
        d = self.wraps(name)
        rows = [w for w in d["wraps"] if (w["version"] == version if version else w["current"])]
        if not rows:
            raise UsageError(
                f"you hold no key of the group {name!r}"
                f"{' version ' + str(version) if version else ''}: ask a member or an admin "
                "to run `c11 org groups sync`"
            )
        return self._open(d["org_id"], rows[0], my_identity)

    def _open(self, org_id: str, w: dict[str, Any], mine: Identity | Sequence[Identity]) -> Identity:
        """Open a wrap after checking it was signed by a key `wrapped_by` published in the verified log (the
        server stores only authorized wrappers' wraps; this catches a wrap swapped behind its back)."""
        ref = GroupKeyRef(org_id, w["group"], int(w["version"]))
        return groupkey.unwrap(
            w["wrapped"],
            ref,
            _ids(mine),
            PublicKey.parse(w["public_key"]),
            signers=self._signer_ids(str(w.get("wrapped_by") or "")),
        )

    def _signer_ids(self, email: str) -> frozenset[str]:
        """Ed25519 key IDs `email` has published (current and earlier, from the verified log)."""
        if email not in self._signers:
            found: set[str] = set()
            if email:
                try:
                    found = {k.sig_fingerprint for k in [self._registry.lookup(email)] if k.sig_fingerprint}
                except NoKeyPublishedError:
                    pass
                try:
                    found |= {
                        h.public_key.sig_fingerprint
                        for h in self._registry.history(email)
                        if h.public_key is not None and h.public_key.sig_fingerprint
                    }
                except (ProofError, ServerError):  # no history served: the current key alone decides
                    pass
            self._signers[email] = frozenset(found)
        return self._signers[email]

    def identities_for(self, key_ids: Sequence[bytes], mine: Identity | Sequence[Identity]) -> builtins.list[Identity]:
        """The group identities you hold whose keys are among `key_ids` (a file's recipients)."""
        wanted = {k.hex() for k in key_ids}
        d = self.wraps()
        out = []
        for w in d["wraps"]:
            if w["fingerprint"] in wanted:
                try:
                    out.append(self._open(d["org_id"], w, mine))
                except NoMatchingKeyError:  # wrapped to a key you replaced since: a holder's sync renews it
                    continue
                except FormatError:  # not signed by who the server names as its wrapper: never used
                    continue
        return out

    def sync(
        self, identity: Identity | Sequence[Identity], *, only: str | None = None, admin_work: bool = True
    ) -> SyncReport:
        """Complete pending wraps with the keys you hold and may wrap (as a group admin, or their creator); as a
        group admin, also make keys for groups that have none and rotate those a member left or that no
        authorized holder holds any more. `identity`: your key(s), the first signs the wraps."""
        mine = _ids(identity)
        report = SyncReport()
        d = self._core.request("GET", f"{_BASE}/group-pending")
        held = (
            {(w["group"], w["version"]): w for w in self._core.request("GET", f"{_BASE}/held-wraps")["wraps"]}
            if d["wraps"]
            else {}
        )
        opened: dict[tuple[str, int], Identity] = {}
        todo: dict[str, list[dict[str, Any]]] = {}
        for p in d["wraps"]:
            g, v, email = p["group"], int(p["version"]), p["email"]
            if only is not None and g != only:
                continue
            member = self._member_key(email)
            if member is None or member.fingerprint != p["member_key"]:
                report.skipped.append(
                    (
                        email,
                        "the registry's verified key differs from the server's record"
                        if member is not None
                        else "no published key",
                    )
                )
                continue
            if (g, v) not in held:
                report.skipped.append((email, f"you no longer hold {g} key v{v}"))
                continue
            if (g, v) not in opened:
                opened[(g, v)] = self._open(d["org_id"], held[(g, v)], mine)
            ref = GroupKeyRef(d["org_id"], g, v)
            todo.setdefault(g, []).append(
                {"email": email, "version": v, "wrapped": groupkey.wrap(opened[(g, v)], ref, member, mine[0])}
            )
            report.wrapped.append((g, v, email))
        for g, wraps in todo.items():
            self._core.request("POST", self._path(g, "/wraps"), {"wraps": wraps})
        if admin_work:
            for g in d.get("keyless") or []:
                if only is None or g == only:
                    self.rotate_key(g, mine[0])
                    report.created.append(g)
            for g in d.get("rotate") or []:
                if only is None or g == only:
                    self.rotate_key(g, mine[0])
                    report.rotated.append(g)
        return report

    def _member_key(self, email: str) -> PublicKey | None:
        """A member's verified registry key, or None when they have none yet."""
        try:
            return self._registry.lookup(email)
        except NoKeyPublishedError:
            return None


class Client(Protocol):
    """What `GroupKeys` needs of a client (a logged-in `c11.Client`)."""

    groups: GroupsAPI

    def close(self) -> None: ...


class GroupKeys(IdentitySource):
    """The group keys you hold, as an identity source to pass to decryption next to your identities: a file
    none of them opens is tried with the group keys whose keys are among its recipients (fetched and opened
    with `identities` on first need, and added to that list, so re-encryption sees them)."""

    def __init__(self, client: Client | Callable[[], Client | None], identities: list[Identity]) -> None:
        self._client = client
        self._identities = identities
        self._made: list[Client | None] = []

    def identities_for(self, header: Any, wanted: list[bytes]) -> list[Identity]:
        if not self._made:
            self._made.append(self._client() if callable(self._client) else self._client)
        c = self._made[0]
        if c is None:
            return []
        try:
            found = c.groups.identities_for(wanted, self._identities)
        except C11Error as e:
            if getattr(e, "status", None) in (401, 403, 404):  # not logged in as a member, or no groups
                return []
            raise
        self._identities.extend(found)
        return found

    def close(self) -> None:
        """Close the client the factory made, if any."""
        if self._made and self._made[0] is not None and self._made[0] is not self._client:
            self._made[0].close()


@contextmanager
def opening_groups(
    client: Client | Callable[[], Client | None], identities: list[Identity], *, close: bool = True
) -> Iterator[GroupKeys]:
    """The group keys you hold (`GroupKeys`) for this block; a client made by the factory is closed after,
    if `close`."""
    source = GroupKeys(client, identities)
    try:
        yield source
    finally:
        if close:
            source.close()
