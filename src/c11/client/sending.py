"""Sending: for a sender and a set of recipients, what a protected item gets (one place for every client).

Recipients' keys are resolved (key lines, recipients files, emails through the verified registry, groups of
your organization, invitations and temporary keys), then the organization rules (`c11.orgrules`) add the
recovery keys of your organization (from the server, else cached on this device) and of the recipients'
organizations, the online policy and the expiry. `encrypt`, `protect` (in-document) and `reencrypt` use it.

    from c11.client.sending import Sending, SendRequest
    s = Sending(client, store=OrgPolicyStore(config_dir()), account="bob@example.com")
    plan = s.plan(SendRequest(recipients=["carol@example.com"], online=False))
    plan.keys, plan.online, plan.expires, plan.notes
    options, seal = s.header_options(plan, sender_identity, include_sender=True)   # online policy, temporary keys
    c11.files.encrypt(src, dst, plan.keys, sender_identity, options=options)

Without a client (not logged in), only key lines and files resolve, and no organization applies.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from c11.client.org_policy import NONE, OrgPolicyStore, OwnPolicy, from_info, own_policy
from c11.errors import (
    NoKeyPublishedError,
    OnlinePolicyError,
    RecipientError,
    ServerError,
    UnregisteredRecipientError,
    UsageError,
)
from c11.format.header import HeaderOptions
from c11.keys.publickey import PREFIX, PublicKey
from c11.keys.recipients_file import read_recipients_file
from c11.orgrules import OrgPolicy, RulesPlan, SendOptions, apply

if TYPE_CHECKING:
    from c11.client.client import Client
    from c11.client.policies import Policy
    from c11.client.recovery import OrgInfo
    from c11.format.header import Stanza
    from c11.format.online import OnlineSeal
    from c11.keys.identity import Identity

GROUP_PREFIX = "group:"
#: `--policy org:NAME`: always the organization's encryption policy NAME (never one of your own).
ORG_POLICY_PREFIX = "org:"


@dataclass(frozen=True)
class SendRequest:
    """What a sender asks for. `recipients`: key lines, emails, `group:NAME`; `keys`: parsed keys;
    `invite(email)`: whether to invite an unregistered email (None: never); `allow_missing_org_policy`: go on
    without your organization's policy when it can be neither read nor found cached."""

    recipients: Sequence[str] = ()
    recipient_files: Sequence[str | Path] = ()
    keys: Sequence[PublicKey] = ()
    policy_id: str | None = None
    online: bool = False
    expires: str | None = None
    invite: Callable[[str], bool] | None = None
    allow_missing_org_policy: bool = False
    own_org: bool = True


@dataclass
class SendPlan:
    """Every recipient key (recovery keys included), the members the sender named (emails or key lines, for a
    saved encryption policy), the temporary keys among them, the rules' outcome, and what to tell the sender
    (`notes`, `warnings`: one line each)."""

    keys: list[PublicKey]
    members: list[dict[str, str]]
    pairs: list[tuple[str | None, PublicKey]]  # (email or None, key) of each recipient, for an online policy
    rules: RulesPlan
    own: OwnPolicy
    temporary: list[PublicKey] = field(default_factory=list)
    invited: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    policy_id: str | None = None

    @property
    def online(self) -> bool:
        return self.rules.online

    @property
    def expires(self) -> str | None:
        return self.rules.expires

    def extra_stanzas(self) -> list[Stanza]:
        """The temporary-keys stanza (c11-temporary-keys/v1) when a temporary key is a recipient."""
        from c11.format import temporary

        return [temporary.stanza([k.key_id for k in self.temporary])] if self.temporary else []

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipients": [k.fingerprint for k in self.keys],
            **self.rules.to_json(),
            "temporary_keys": [k.fingerprint for k in self.temporary],
            "invited": self.invited,
            "organization_policy": self.own.source,
        }


class Sending:
    """Plans what a protected item gets for a sender; `client` None (or a function giving one on first need)
    means offline: key lines and files only, no organization."""

    def __init__(
        self,
        client: Client | Callable[[], Client | None] | None,
        *,
        store: OrgPolicyStore | None = None,
        account: str | None = None,
    ) -> None:
        self._client_arg = client
        self._client: Client | None = None
        self.store = store
        self.account = account
        #: "NAME: recipients" of the organization encryption policy the last `resolve` used (shown to the sender)
        self.org_policy_note: str | None = None

    def client(self) -> Client | None:
        if self._client is None and self._client_arg is not None:
            self._client = self._client_arg() if callable(self._client_arg) else self._client_arg
            self._client_arg = None
        return self._client

    def _need(self, what: str) -> Client:
        c = self.client()
        if c is None:
            raise RecipientError(f"{what} needs a c11 server and a login; or give public key lines or files")
        return c

    # -- recipients -------------------------------------------------------------------------------------

    def resolve(
        self, request: SendRequest
    ) -> tuple[list[PublicKey], list[dict[str, str]], list[OrgPolicy], list[PublicKey], list[str], list[str]]:
        """(keys, policy members, recipients' organizations, temporary keys, invited emails, warnings)."""
        keys: list[PublicKey] = []
        members: list[dict[str, str]] = []
        orgs: list[OrgPolicy] = []
        temporary: list[PublicKey] = []
        invited: list[str] = []
        warnings: list[str] = []

        def add_key(k: PublicKey) -> None:
            keys.append(k)
            members.append({"public_key": k.line()})

        def add_email(email: str) -> None:
            k, org, temp, inv, warn = self._email(email, request.invite)
            keys.append(k)
            members.append({"email": email.strip().lower()})
            if org is not None:
                orgs.append(from_info(org))
            if temp:
                temporary.append(k)
                warnings.append(warn)
            if inv:
                invited.append(email.strip().lower())

        if request.policy_id:
            saved, shared = self._policy(request.policy_id)
            if shared is not None:  # the organization's: each recipient resolved as if typed (proofs, group log)
                self.org_policy_note = f"organization encryption policy {shared[0]!r}: {', '.join(shared[1])}"
                for v in shared[1]:
                    if v.startswith(GROUP_PREFIX):
                        add_key(self.group_key(v))
                    else:
                        add_email(v)
            elif saved is not None:
                for m in saved.members:
                    if m.email:
                        add_email(m.email)
                    elif m.public_key:
                        add_key(PublicKey.parse(m.public_key))
        for k in request.keys:
            add_key(k)
        for v in request.recipients:
            if v.startswith(PREFIX):
                add_key(PublicKey.parse(v))
            elif v.startswith(GROUP_PREFIX):
                add_key(self.group_key(v))
            elif "@" in v and "/" not in v:
                add_email(v)
            else:
                raise RecipientError(f"{v!r} is not a public key line (c11:<type>:...), an email or group:NAME")
        for f in request.recipient_files:
            for k in read_recipients_file(Path(f)):
                add_key(k)
        return keys, members, orgs, temporary, invited, warnings

    def _policy(self, value: str) -> tuple[Policy | None, tuple[str, tuple[str, ...]] | None]:
        """(your own saved policy, None) or (None, (name, recipients) of an organization policy) for `--policy VALUE`.

        One rule (docs/organizations.md "Encryption policies"): `org:NAME` (or `org:ID`) is always the
        organization's policy; any other VALUE is first your own saved policy with that ID or name, and only
        when you have none the organization's policy of that name or ID. So an organization admin cannot shadow
        a policy of yours by giving an organization policy its name or ID."""
        wanted = value.strip()
        if wanted.casefold().startswith(ORG_POLICY_PREFIX):
            name = wanted[len(ORG_POLICY_PREFIX) :].strip()
            if not name:
                raise RecipientError("give the organization policy's name: --policy org:NAME")
            shared = self._org_policy(name)
            if shared is None:
                raise RecipientError(
                    f"your organization has no encryption policy {name!r} (`c11 org encryption-policies list`)"
                )
            return None, shared
        own = self._own_policy(wanted)
        if own is not None:
            return own, None
        shared = self._org_policy(wanted)
        if shared is None:
            raise RecipientError(
                f"no encryption policy {wanted!r}: neither one of yours (`c11 policies`) nor your organization's "
                "(`c11 org encryption-policies list`)"
            )
        return None, shared

    def _own_policy(self, wanted: str) -> Policy | None:
        """Your own saved policy with ID `wanted`, else the most recent one named `wanted` (case-insensitive)."""
        c = self._need(f"the encryption policy {wanted}")
        if re.fullmatch(r"[0-9A-Za-z_-]{1,64}", wanted):
            try:
                return c.policies.get(wanted)
            except ServerError as e:
                if e.status not in (404, 422):
                    raise
        for p in c.policies.list(limit=200):
            if p.name is not None and p.name.casefold() == wanted.casefold():
                return p
        return None

    def _org_policy(self, name_or_id: str) -> tuple[str, tuple[str, ...]] | None:
        """(name, recipients: emails and group:NAME) of your organization's encryption policy `name_or_id`, or None
        (no such policy, or not a member)."""
        from c11.errors import AuthError

        c = self._need(f"the encryption policy {name_or_id}")
        try:
            policies = c.org.encryption_policies.list()
        except AuthError:  # not a member of an organization (or a token without org:read)
            return None
        wanted = name_or_id.strip()
        for p in policies:
            if p.id == wanted or p.name.casefold() == wanted.casefold():
                if not p.recipients:
                    raise RecipientError(f"the encryption policy {p.name!r} has no recipients left (groups deleted)")
                return p.name, p.recipients
        return None

    def group_key(self, value: str) -> PublicKey:
        """`group:NAME`: the current key of a group of your organization (reaches all of its members)."""
        name = value[len(GROUP_PREFIX) :].strip()
        if not name:
            raise RecipientError("give a group name: group:NAME")
        return self._need(f"{value}: a group recipient").groups.group_key(name)

    def _email(
        self, email: str, invite: Callable[[str], bool] | None
    ) -> tuple[PublicKey, OrgInfo | None, bool, bool, str]:
        """(key, organization, temporary?, invited now?, warning) for an email recipient."""
        from c11.client.recovery import OrgInfo  # with a client only: offline sending imports no HTTP layer

        c = self._need(f"{email}: looking a recipient up by email")
        try:
            record = c.registry.lookup_record(email)
        except NoKeyPublishedError:
            pass
        else:
            return record.public_key, OrgInfo.from_lookup(record.org), False, False, ""
        tk = c.invitations.temporary_key(email)
        invited = False
        if tk is None:
            if invite is None or not invite(email):
                raise UnregisteredRecipientError(
                    f"{email} has no published key on {c.server}: invite them, or give their public key line", email
                )
            inv = c.invitations.invite([email])[0]
            if inv.status == "registered":
                raise RecipientError(
                    f"{email} has an account but no published key yet: ask them to log in once with c11"
                )
            invited = True
            tk = c.invitations.temporary_key(email)
            if tk is None:
                raise RecipientError(f"the server did not make a temporary key for {email}")
        warn = (
            f"{email} is not registered yet: encrypting to a temporary key the key server holds for them "
            f"({tk.fingerprint}; not zero-trust). Re-encrypt once they have registered."
        )
        return tk.public_key, None, True, invited, warn

    # -- the plan ---------------------------------------------------------------------------------------

    def plan(self, request: SendRequest) -> SendPlan:
        """Recipients resolved, then your organization's and theirs applied (see the module docstring)."""
        keys, members, orgs, temporary, invited, warnings = self.resolve(request)
        own = (
            own_policy(self.client(), self.store, self.account, allow_missing=request.allow_missing_org_policy)
            if request.own_org
            else OwnPolicy(None, NONE)
        )
        policies = ([own.policy] if own.policy is not None else []) + orgs
        rules = apply(policies, keys, SendOptions(request.online, request.expires))
        notes = [f"added recovery key of {a.org} ({a.key.fingerprint[:16]})" for a in rules.added]
        if self.org_policy_note is not None and request.policy_id:
            notes.insert(0, self.org_policy_note)
        if own.source == "cache" and own.policy is not None:
            when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(own.fetched_at or 0))
            notes.insert(0, f"the server is unreachable: applying {own.policy.name}'s policy as read on {when}")
        if rules.online_required_by and not request.online:
            notes.append(f"online policy required by {', '.join(rules.online_required_by)}")
        if rules.default_expiry_days:
            notes.append(f"expires in {rules.default_expiry_days} days (organization default expiry)")
        if own.left:
            warnings.append(
                f"the server says you are no longer a member of {own.left}: its recovery keys and policy no "
                "longer apply (the server's word: docs/security.md)"
            )
        if own.source == NONE and request.allow_missing_org_policy and self.client() is not None:
            warnings.append(
                "your organization's policy could not be read and none is cached: encrypting "
                "without its recovery keys and online policy"
            )
        pairs = [
            *((m.get("email"), k) for m, k in zip(members, keys, strict=True)),
            *((None, a.key) for a in rules.added),
        ]
        return SendPlan(
            list(rules.recipients), members, pairs, rules, own, temporary, invited, notes, warnings, request.policy_id
        )

    def part_keys(self, plan: SendPlan, keys: Sequence[PublicKey]) -> list[PublicKey]:
        """A document part's own recipients with your organization's recovery keys added (the recipients'
        organizations of the document's recipients do not reach other parts)."""
        own = [plan.own.policy] if plan.own.policy is not None else []
        return list(apply(own, keys, SendOptions()).recipients)

    def protect_document(
        self, request: SendRequest, src: str | Path, selectors: Sequence[Any], sender: Identity, **options: Any
    ) -> tuple[SendPlan, bytes]:
        """In-document protection (`c11.indoc.api.protect_document`, `options` passed on) under the plan of
        `request`; parts with their own recipients get your organization's recovery keys too. An organization
        requiring online stops it: in-document protection carries no online policy yet."""
        from c11.indoc import api
        from c11.indoc import selectors as sel_mod

        plan = self.plan(request)
        if plan.online:
            raise OnlinePolicyError(
                f"{', '.join(plan.rules.online_required_by) or 'the request'} requires an online "
                "policy, which in-document protection cannot carry yet: protect the whole file"
            )
        parsed = [sel_mod.parse_part(s) if isinstance(s, str) else s for s in selectors]
        for s in parsed:
            if s.recipients is not None:
                s.recipients = self.part_keys(plan, s.recipients)
        return plan, api.protect_document(src, parsed, plan.keys, sender, **options)

    def retired_recovery_keys(self) -> list[Any]:
        """Your organization's retired recovery keys (after a rotation), to remove from existing files."""
        return [
            r for r in self._need("your organization's recovery keys").groups.recovery.list() if r.status == "retired"
        ]

    def online_seal(self, plan: SendPlan, sender: Identity, include_sender: bool) -> OnlineSeal | None:
        """Register the online policy of a new item when the plan has one (None otherwise)."""
        if not plan.online:
            return None
        from c11 import online

        c = self._need("an online policy")
        when = online.parse_time(plan.expires) if plan.expires else None
        if when is not None and when.timestamp() <= time.time():
            raise UsageError(f"the expiry {plan.expires} is in the past")
        pairs: list[tuple[str | None, PublicKey]] = []
        seen: set[tuple[str | None, str]] = set()
        for email, k in plan.pairs:
            if (email, k.fingerprint) not in seen:
                seen.add((email, k.fingerprint))
                pairs.append((email, k))
        return online.prepare(
            c,  # type: ignore[arg-type]  # c11.online's Client protocol
            sender,
            pairs,
            expires=int(when.timestamp()) if when else None,
            include_sender=include_sender,
        )

    def header_options(
        self, plan: SendPlan, sender: Identity, include_sender: bool
    ) -> tuple[HeaderOptions | None, OnlineSeal | None]:
        """The header options of `c11.files.encrypt` for this plan (online policy, temporary keys; None: none),
        and the online seal registered (None: offline)."""
        seal = self.online_seal(plan, sender, include_sender)
        options = (seal.options() if seal is not None else HeaderOptions()).with_stanzas(plan.extra_stanzas())
        return (None if options == HeaderOptions() else options), seal

    def record(self, plan: SendPlan, sender: Identity) -> None:
        """Save the recipient set (the sender included) as an encryption policy (needs a login)."""
        c = self._need("saving the encryption policy")
        me = c.whoami().email
        c.policies.record([*plan.members, {"email": me, "public_key": sender.public.line()}])
