"""Your key's lifecycle on a device: the first-login key file, replacing your key (with rollback), and the
temporary key held for you since an invitation (docs/keyserver.md, docs/shards.md).

Each function takes what it needs as arguments (client, folders, a passphrase source, identities) and returns
a typed outcome; it prints nothing and names no CLI command, so any front end can say it its own way.

    from c11.client.key_lifecycle import ensure_device_key
    out = ensure_device_key(client, "bob@example.com", keys_dir, new_key=False, passphrase=lambda: None,
                            load=lambda p: keyfile.load(p).unlock(None))
    out.status, out.log_index    # "created" | "existing" | "current" | "elsewhere" | "foreign" | "unopened"
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from c11.errors import AuthError, C11Error, NoKeyPublishedError, ServerError

if TYPE_CHECKING:
    from c11.client.client import Client
    from c11.client.shards import Created
    from c11.keys.identity import Identity

TEMPORARY_LABEL = " (temporary)"

# ensure_device_key statuses
CREATED = "created"  # a key file was made here (then published, see `log_index`)
EXISTING = "existing"  # the registry had no key: the first key file here (then published)
CURRENT = "current"  # the registry already has one of the key files here
ELSEWHERE = "elsewhere"  # no key file here; the registry has a key from another device (nothing done)
FOREIGN = "foreign"  # key files here, but the registry has another key
UNOPENED = "unopened"  # the registry had no key, and the key file here could not be opened (`error`)


@dataclass
class DeviceKey:
    """What `ensure_device_key` did: `status`, the key file (made or used), the registry's key, and the
    publication: its log index, or `unverified` (the email is not verified yet) or `error` (why not)."""

    status: str
    path: Path | None = None
    identity: Identity | None = None
    registry_fingerprint: str | None = None
    log_index: int | None = None
    unverified: bool = False
    unprotected: bool = False
    error: str | None = None


def ensure_device_key(
    client: Client,
    email: str,
    folder: Path,
    *,
    new_key: bool,
    passphrase: Callable[[], str | None],
    load: Callable[[Path], Identity],
) -> DeviceKey:
    """Make sure this device has a key file in `folder` and the registry a key for `email`.

    No key file: make one (label = email, hybrid KEM; `passphrase()` protects it), write it, publish it — unless
    the registry already has a key from another device and `new_key` is false. Key files but no registry key:
    publish the first (opened with `load`). A registry key that is on no key file here: FOREIGN."""
    from c11.crypto.kem import HYBRID
    from c11.keys import keyfile
    from c11.keys.identity import Identity

    paths = sorted(folder.glob("*.key")) if folder.is_dir() else []
    result: DeviceKey
    if not paths:
        if not new_key:
            existing = _registry_key(client, email)
            if existing is not None:
                return DeviceKey(ELSEWHERE, registry_fingerprint=existing)
        identity = Identity.generate(email, HYBRID, int(time.time()))
        secret = passphrase()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = keyfile.write(folder / identity.file_stem, identity, secret)
        result = DeviceKey(CREATED, path, identity, unprotected=secret is None)
    else:
        local = {keyfile.load(p).public.fingerprint for p in paths}
        current = _registry_key(client, email)
        if current is not None:
            return DeviceKey(CURRENT if current in local else FOREIGN, paths[0], registry_fingerprint=current)
        try:
            identity = load(paths[0])
        except C11Error as e:  # e.g. a passphrase-protected key in a script without its passphrase
            return DeviceKey(UNOPENED, paths[0], error=str(e))
        result = DeviceKey(EXISTING, paths[0], identity)
    try:
        result.log_index = client.registry.publish(identity, email).log_index
    except AuthError as e:
        if not str(e.problem.get("type", "")).endswith("email-unverified"):
            raise
        result.unverified = True
    except ServerError as e:
        result.error = str(e)
    return result


def _registry_key(client: Client, email: str) -> str | None:
    try:
        return client.registry.lookup(email).fingerprint
    except NoKeyPublishedError:
        return None


# -- replacing your key ---------------------------------------------------------------------------------------


@dataclass
class Replaced:
    """A key replacement: old and new fingerprints, the new key file (device) or cloud key (cloud), and the
    old key files moved aside."""

    old: str
    new: str
    kind: str
    key_file: Path | None = None
    created: Created | None = None
    moved: list[Path] = field(default_factory=list)


def replace_key(
    client: Client,
    current: Identity,
    email: str,
    *,
    to_device: bool,
    target: Path | None = None,
    keys_folder: Path | None = None,
    passphrase: Callable[[], str | None] = lambda: None,
    move_aside: tuple[Path, list[Path]] | None = None,
) -> Replaced:
    """Replace `current` by a new key of the other kind and publish it; `current` is archived for the new key.

    `to_device`: the new key file is written to `target` (default: `keys_folder/<its stem>`) first and deleted
    again if the replacement fails
    (never published, nothing encrypted to it). An organization allowing only cloud-stored keys is refused
    before anything changes. `move_aside` = (folder, key files): after success, those old key files move to
    `folder` (they would still sign)."""
    from c11.crypto.kem import HYBRID
    from c11.errors import UsageError
    from c11.keys import keyfile
    from c11.keys.identity import Identity

    if to_device:
        try:
            org = client.org.info()
        except ServerError:  # e.g. email not verified: the publication says what to do
            org = None
        if org is not None and org.policies.get("allow_device_keys") is False:
            raise UsageError(
                f"{org.name} allows only cloud-stored keys (policy allow_device_keys is false): "
                "keep your cloud-stored key"
            )
    new = Identity.generate(email, HYBRID, int(time.time()))
    out = Replaced(current.fingerprint, new.fingerprint, "device" if to_device else "cloud")
    if to_device:
        if target is None:
            if keys_folder is None:
                raise UsageError("a new device key needs a path to write it to")
            target = keys_folder / new.file_stem
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = keyfile.write(target, new, passphrase())  # first: the new key is safe before anything changes
        try:
            client.shards.replace(current, new, cloud=False, email=email)
        except BaseException:
            path.unlink(missing_ok=True)  # rollback: never published, nothing encrypted to it
            raise
        out.key_file = path
    else:
        out.created = client.shards.replace(current, new, cloud=True, email=email)
    if move_aside is not None:
        folder, old_files = move_aside
        for p in old_files:
            if p.exists() and p != out.key_file:
                folder.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.replace(p, folder / p.name)
                out.moved.append(folder / p.name)
    return out


# -- the temporary key held for you ---------------------------------------------------------------------------


def temporary_paths(keys_folder: Path) -> list[Path]:
    """Temporary private keys received at login (`<keys>/temporary/*.key`: they open files made before you
    registered)."""
    d = keys_folder / "temporary"
    return sorted(d.glob("*.key")) if d.is_dir() else []


@dataclass
class Claimed:
    """The temporary key received, and where it is kept: `cloud` (the key archive of your cloud-stored key)
    or the key file `path` on this device; `archive_error`: why it could not join the archive."""

    key: Identity
    cloud: bool
    path: Path | None = None
    archive_error: str | None = None


def claim_temporary_key(client: Client, me: Identity, *, cloud: bool, keys_folder: Path) -> Claimed | None:
    """Receive the temporary key the key server held for you (once: it then destroys it), if you were
    invited; keep it with your cloud-stored key `me` (`cloud`) or in `<keys>/temporary/`. None: nothing held."""
    from c11.keys import keyfile

    temp = client.invitations.claim(me)
    if temp is None:
        return None
    error = None
    if cloud:
        try:
            client.shards.store_archive([*client.shards.archived(me), temp], me)
            return Claimed(temp, True)
        except C11Error as e:
            error = str(e)
    folder = keys_folder / "temporary"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = keyfile.write(folder / temp.file_stem, temp, None, force=True)
    return Claimed(temp, False, path, error)


# -- first login: which key, and a cloud-stored one --------------------------------------------------------------

DEVICE = "device"  # keep (or make) a key file on this device: `ensure_device_key` does the rest
CLOUD_EXISTING = "cloud-existing"  # the account already has a cloud-stored key (published if it was not)
CLOUD_CREATED = "cloud-created"  # a cloud-stored key was made here, sealed, split into shards, published


@dataclass
class FirstLogin:
    """What a first login on this device did. `kind` DEVICE comes with `reason`: "asked", "key-files",
    "no-cloud-keys" (the server has none), "published-elsewhere", "stores-need-password", "no-stores"."""

    kind: str
    reason: str | None = None
    fingerprint: str | None = None
    created: Created | None = None
    identity: Identity | None = None  # a key to publish (CLOUD_CREATED, or CLOUD_EXISTING not yet published)
    store_login_error: str | None = None


def first_login(
    client: Client,
    email: str,
    keys_folder: Path,
    *,
    device: bool,
    new_key: bool,
    fetch_identity: Callable[[], Identity],
    stores_take_oidc: Callable[[list[str]], bool] | None = None,
) -> FirstLogin:
    """Decide, and for a cloud-stored key do, what a first login makes (docs/shards.md): by default a
    cloud-stored key; a key file when asked (`device`), when key files are here already, when the server has
    no cloud keys or shard stores, when the registry has a key from another device (unless `new_key`), or when
    the stores need a password this login does not have (`stores_take_oidc` given: an identity-provider login).
    `client.shards.password` must be set by the caller. Publishing is left to the caller (`identity`)."""
    from c11.client.shards import env_stores
    from c11.crypto.kem import HYBRID
    from c11.errors import UsageError
    from c11.keys.identity import Identity

    has_files = keys_folder.is_dir() and any(keys_folder.glob("*.key"))
    if device and not has_files:  # the registry would refuse the new key file's publication: say it first
        try:
            org = client.org.info()
        except ServerError:  # e.g. email not verified yet: the publication says what to do
            org = None
        if org is not None and org.policies.get("allow_device_keys") is False:
            raise UsageError(f"{org.name} allows only cloud-stored keys (policy allow_device_keys is false)")
    if device or has_files:
        return FirstLogin(DEVICE, "asked" if device else "key-files")
    try:
        st = client.shards.status()
    except ServerError as e:
        if e.status in (404, 405):  # a server without cloud keys
            return FirstLogin(DEVICE, "no-cloud-keys")
        raise
    if st.fingerprint and not new_key:
        out = FirstLogin(CLOUD_EXISTING, fingerprint=st.fingerprint)
        try:
            client.shards.login_stores()  # with the password just typed: later commands need none
        except C11Error as e:
            out.store_login_error = str(e)
        if _registry_key(client, email) is None:
            out.identity = fetch_identity()
        return out
    if st.fingerprint:
        raise UsageError("you have a cloud-stored key already: replace it rather than make a new one")
    if not new_key and _registry_key(client, email) is not None:
        return FirstLogin(DEVICE, "published-elsewhere")
    stores = list(st.stores) or env_stores()
    if stores and stores_take_oidc is not None and not stores_take_oidc(stores):
        return FirstLogin(DEVICE, "stores-need-password")
    if not stores:
        return FirstLogin(DEVICE, "no-stores")
    identity = Identity.generate(email, HYBRID, int(time.time()))
    created = client.shards.create(identity, stores)
    return FirstLogin(CLOUD_CREATED, fingerprint=identity.fingerprint, created=created, identity=identity)
