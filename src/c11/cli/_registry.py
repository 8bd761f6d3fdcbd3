"""CLI glue for the registry: email recipients, first-login keys, and encryption policies.

* `lookup_email`: `-r alice@example.com` becomes her public key, verified against the transparency log.
* `after_login`: at first login, generate the device's identity in `<config>/keys/` and publish it.
* `plan` / `RecipientPlan.record`: `c11 encrypt --policy ID`, and saving each recipient set as a policy.
* `lookup_group`, `org_rules`, `opening_groups`: groups as recipients (`-r group:NAME`), the recovery keys
  and policies of your organization and of recipients' organizations (docs/organizations.md).

Key lines and key files never need a server: without a login, encryption stays fully offline.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from c11.errors import AuthError, C11Error, NoKeyPublishedError, RecipientError, ServerError

if TYPE_CHECKING:
    from c11.client import Client
    from c11.client.recovery import OrgInfo
    from c11.keys.identity import Identity
    from c11.keys.publickey import PublicKey

_client: Client | None = None
#: Organizations of the recipients looked up by email in this command (name -> rules the server stated).
_seen_orgs: dict[str, OrgInfo] = {}
GROUP_PREFIX = "group:"


def warn(message: str) -> None:
    click.echo(f"c11: warning: {message}", err=True)


def logged_in() -> bool:
    """True when a login is stored or C11_TOKEN is set (then the CLI talks to the server)."""
    from c11._internal.paths import credentials_path  # no client import: offline commands stay fast

    return bool(os.environ.get("C11_TOKEN")) or credentials_path().exists()


def client(purpose: str = "this", recipients: bool = False) -> Client:
    """The logged-in client (one per command), or a RecipientError saying how to log in (and, for a
    recipient, how to do without)."""
    global _client
    if _client is None:
        from c11.client import Client

        if not logged_in():
            alt = "; or give public key lines (c11:...) or files with -R" if recipients else ""
            raise RecipientError(f"{purpose} needs a c11 server: run `c11 login` (or set C11_TOKEN and "
                                 f"C11_SERVER){alt}")
        _client = Client.from_environment()
        if not _client.token:
            raise AuthError("not logged in to this server: run `c11 login`", 401)
    return _client


def lookup_email(email: str) -> PublicKey:
    """The verified registry key of `email`."""
    c = client(f"{email}: looking a recipient up by email", recipients=True)
    try:
        record = c.registry.lookup_record(email)
    except NoKeyPublishedError:
        from c11.cli.invites import key_for_unregistered  # temporary key, or an invitation (F9, F20)

        return key_for_unregistered(c, email)
    from c11.client.recovery import OrgInfo

    org = OrgInfo.from_lookup(record.org)
    if org is not None:
        _seen_orgs[org.name] = org
    return record.public_key


def lookup_group(value: str) -> PublicKey:
    """`-r group:NAME`: the current key of a group of your organization (reaches all of its members)."""
    name = value[len(GROUP_PREFIX):].strip()
    if not name:
        raise RecipientError("give a group name: -r group:NAME (see `c11 org groups list`)")
    return client(f"{value}: a group recipient", recipients=True).groups.group_key(name)


@dataclass
class OrgRules:
    """What organizations ask of this encryption: recovery keys to add, online policy, default expiry."""

    recovery_keys: list[PublicKey] = field(default_factory=list)
    require_online: list[str] = field(default_factory=list)  # names of the organizations requiring it
    default_expiry_days: int | None = None
    notes: list[str] = field(default_factory=list)


def org_rules(own: bool = True) -> OrgRules:
    """The rules of your organization (when logged in as a member, `own`) and of the organizations of the
    recipients looked up by email so far: recovery keys (F11) and policies (F19)."""
    orgs: dict[str, OrgInfo] = {}
    if own and logged_in():
        try:
            mine = client("organization policies").groups.recovery.org_context()
        except ServerError as e:
            if e.status != 0:
                raise
            warn(f"your organization's recovery keys and policies could not be read ({e})")
            mine = None
        if mine is not None:
            orgs[mine.name] = mine
    for name, info in _seen_orgs.items():
        orgs.setdefault(name, info)
    rules = OrgRules()
    seen: set[str] = set()
    for name, info in orgs.items():
        for k in info.recovery_keys:
            if k.fingerprint not in seen:
                seen.add(k.fingerprint)
                rules.recovery_keys.append(k)
                rules.notes.append(f"added recovery key of {name} ({k.fingerprint[:16]})")
        if info.require_online:
            rules.require_online.append(name)
        if info.default_expiry_days and (rules.default_expiry_days is None
                                         or info.default_expiry_days < rules.default_expiry_days):
            rules.default_expiry_days = info.default_expiry_days
    return rules


def opening_groups(identities: list[Identity]) -> Any:
    """For `c11 decrypt` / `reencrypt`: a file for a group you are in opens with the group key wrapped for
    you (fetched only when none of your keys is a recipient, and only when logged in)."""
    from c11.client.groups import opening_groups as _opening

    return _opening(lambda: client("opening a group's file") if logged_in() else None, identities, close=False)


# -- first login ----------------------------------------------------------------------------------------

def _new_passphrase() -> str | None:
    from c11.cli._identity import passphrase_from_env

    pw = passphrase_from_env()
    if pw is not None or not sys.stdin.isatty():
        return pw
    pw = click.prompt("Passphrase for your new key file (protects it on this device; empty: none)",
                      hide_input=True, default="", show_default=False, confirmation_prompt=True, err=True)
    return pw or None


def after_login(server: str, token: str, email: str, new_key: bool = False) -> None:
    """After `c11 login`: make sure this device has an identity and the registry has a key for `email`.

    No key file in `<config>/keys/`: generate one (label = email, hybrid KEM), write it, publish it.
    Key files but no key in the registry: publish the first one. A registry key that is on no key file
    here is reported (it was published from another device, or by someone else). A second device with no
    key file does not replace the account's published key unless `new_key` says so.
    """
    from c11._internal.paths import keys_dir
    from c11.cli import _identity
    from c11.client import Client
    from c11.crypto.kem import HYBRID
    from c11.keys import keyfile
    from c11.keys.identity import Identity

    folder = keys_dir()
    paths = sorted(folder.glob("*.key")) if folder.is_dir() else []
    with Client(server, token) as c:
        identity: Identity | None = None
        if not paths and not new_key:
            try:
                existing = c.registry.lookup(email)
            except NoKeyPublishedError:
                existing = None
            if existing is not None:
                warn(f"{email} already has a key published from another device ({existing.fingerprint}): "
                     f"copy that key file into {folder} to use it here, or run `c11 login --new-key` to make "
                     "and publish a new one (what was sent to the old key then opens only where it is)")
                return
        if not paths:
            identity = Identity.generate(email, HYBRID, int(time.time()))
            passphrase = _new_passphrase()
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = keyfile.write(folder / identity.file_stem, identity, passphrase)
            _identity.remember(path, identity)  # this login needs it again: no second passphrase prompt
            click.echo(f"c11: created your key {path} (fingerprint {identity.fingerprint})", err=True)
            if passphrase is None:
                warn(f"{path} is not protected by a passphrase (set C11_PASSPHRASE to protect new keys)")
        else:
            local = {keyfile.load(p).public.fingerprint for p in paths}
            try:
                current = c.registry.lookup(email)
            except NoKeyPublishedError:
                current = None
            if current is not None:
                if current.fingerprint not in local:
                    warn(f"the registry key of {email} ({current.fingerprint}) is not one of the keys in "
                         f"{folder}; check `c11 registry history`")
                return
            try:
                identity = _identity.load(paths[0])
            except C11Error as e:  # e.g. a passphrase-protected key in a script without C11_PASSPHRASE
                warn(f"your key is not published yet ({e}); run `c11 registry publish`")
                return
        try:
            done = c.registry.publish(identity, email)
        except AuthError as e:
            if e.problem.get("type", "").endswith("email-unverified"):
                warn("your key is not published yet: verify your email address (see the link we sent), "
                     "then run `c11 registry publish`")
                return
            raise
        except ServerError as e:
            warn(f"your key is not published yet ({e}); run `c11 registry publish` later")
            return
        click.echo(f"c11: published your key in the registry (log entry {done.log_index})", err=True)


# -- encryption policies --------------------------------------------------------------------------------

@dataclass
class RecipientPlan:
    """The keys `c11 encrypt` encrypts to, and the policy members they came from."""

    keys: list[PublicKey]
    members: list[dict[str, str]] = field(default_factory=list)
    policy_id: str | None = None

    def record(self, sender: Identity) -> None:
        """Save the recipient set (you included) as a policy, when logged in; never fails the command."""
        if not logged_in():
            return
        try:
            c = client("saving the encryption policy")
            me = c.whoami().email
            c.policies.record([*self.members, {"email": me, "public_key": sender.public.line()}])
        except (C11Error, OSError) as e:
            warn(f"the recipient set was not saved as a policy: {e}")


def plan(values: tuple[str, ...], files: tuple[str, ...], policy_id: str | None) -> RecipientPlan:
    """Resolve -r / -R (emails through the registry) and --policy into keys and policy members."""
    from c11.cli._recipients import read_recipients_file
    from c11.keys.publickey import PREFIX, PublicKey

    keys: list[PublicKey] = []
    members: list[dict[str, Any]] = []

    def add_email(email: str) -> None:
        keys.append(lookup_email(email))
        members.append({"email": email.strip().lower()})

    def add_key(key: PublicKey) -> None:
        keys.append(key)
        members.append({"public_key": key.line()})

    if policy_id:
        policy = client("--policy").policies.get(policy_id)
        for m in policy.members:
            if m.email:
                add_email(m.email)
            elif m.public_key:
                add_key(PublicKey.parse(m.public_key))
    for v in values:
        if v.startswith(PREFIX):
            add_key(PublicKey.parse(v))
        elif v.startswith(GROUP_PREFIX):
            add_key(lookup_group(v))
        elif "@" in v and "/" not in v:
            add_email(v)
        else:
            raise RecipientError(f"{v!r} is not a public key line (c11:<type>:...) or an email; use -R for files")
    for f in files:
        from pathlib import Path

        for key in read_recipients_file(Path(f)):
            add_key(key)
    return RecipientPlan(_unique(keys), members, policy_id)


def _unique(keys: list[PublicKey]) -> list[PublicKey]:
    seen: set[str] = set()
    out = []
    for k in keys:
        if k.fingerprint not in seen:
            seen.add(k.fingerprint)
            out.append(k)
    return out
