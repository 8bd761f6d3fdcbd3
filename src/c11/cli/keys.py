"""`c11 keys ...`: which kind of key you have (cloud-stored in shards, or a key file on this device), where its
shards are, and switching between the two (docs/shards.md). Also the CLI glue for cloud keys:

* `after_login`: at first login, make a cloud-stored key by default (`c11 login --device`: a key file);
* `decrypting_identities`: `c11 decrypt` without -i also uses your cloud key and your archived old keys.

The cloud client, the shard stores' password, the recovery shard and `cloud_sender` live in `_cloud`
(re-exported here).

A cloud key is rebuilt in memory for the command that needs it and never written to disk.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from c11.cli import _identity
from c11.cli._cloud import cloud_client as _client
from c11.cli._cloud import cloud_sender, recovery_shard, store_password
from c11.errors import AuthError, C11Error, CloudKeyError, NoKeyPublishedError, ServerError, UsageError

__all__ = [
    "after_login",
    "cloud_identities",
    "cloud_sender",
    "decrypting_identities",
    "keys",
    "recovery_shard",
    "store_password",
    "write_recovery",
]

if TYPE_CHECKING:
    from c11.client import Client
    from c11.keys.cloudkey import Shard
    from c11.keys.identity import Identity


def _warn(message: str) -> None:
    click.echo(f"c11: warning: {message}", err=True)


def write_recovery(shard: Shard, path: Path | None = None, *, force: bool = False) -> Path:
    """Write the recovery shard file (mode 0600); default: `<config>/recovery/c11_recovery_<16 hex>.shard`."""
    from c11._internal.atomic import atomic_write_bytes
    from c11._internal.paths import config_dir
    from c11.keys.cloudkey import armor

    if path is None:
        folder = config_dir() / "recovery"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = folder / f"c11_recovery_{shard.fingerprint[:16]}.shard"
    return atomic_write_bytes(path, armor(shard).encode("ascii"), mode=0o600, force=force)


def _say_created(created, path_hint: Path | None = None) -> None:  # type: ignore[no-untyped-def]
    where = ", ".join(
        f"the shard store {p.url}" if p.where == "store" else "the c11 server"
        for p in created.placements
        if p.where != "recovery"
    )
    click.echo(f"c11: created your cloud-stored key {created.fingerprint}; its shards are at {where}", err=True)
    if created.recovery is not None:
        path = write_recovery(created.recovery, path_hint)
        click.echo(
            f"c11: wrote your recovery shard to {path}: move it OFFLINE (a USB stick, a printout). With "
            "it and one other shard your key rebuilds; if a shard store is gone, decrypt with "
            f"C11_RECOVERY_SHARD={path}",
            err=True,
        )


# -- first login: a key file ----------------------------------------------------------------------------------------


def _new_passphrase() -> str | None:
    pw = _identity.passphrase_from_env()
    if pw is not None or not sys.stdin.isatty():
        return pw
    pw = click.prompt(
        "Passphrase for your new key file (protects it on this device; empty: none)",
        hide_input=True,
        default="",
        show_default=False,
        confirmation_prompt=True,
        err=True,
    )
    return pw or None


def _device_after_login(server: str, token: str, email: str, new_key: bool = False) -> None:
    """After `c11 login`: make sure this device has a key file and the registry a key for `email`
    (`c11.client.key_lifecycle.ensure_device_key`); say what happened and what to do next."""
    from c11._internal.paths import keys_dir
    from c11.client import Client
    from c11.client import key_lifecycle as kl

    folder = keys_dir()
    with Client(server, token) as c:
        out = kl.ensure_device_key(c, email, folder, new_key=new_key, passphrase=_new_passphrase, load=_identity.load)
    if out.status == kl.ELSEWHERE:
        _warn(
            f"{email} already has a key published from another device ({out.registry_fingerprint}): "
            f"copy that key file into {folder} to use it here, or run `c11 login --new-key` to make "
            "and publish a new one (what was sent to the old key then opens only where it is)"
        )
        return
    if out.status == kl.FOREIGN:
        _warn(
            f"the registry key of {email} ({out.registry_fingerprint}) is not one of the keys in "
            f"{folder}; check `c11 registry history`"
        )
        return
    if out.status == kl.CURRENT:
        return
    if out.status == kl.UNOPENED:
        _warn(f"your key is not published yet ({out.error}); run `c11 registry publish`")
        return
    if out.status == kl.CREATED and out.path is not None and out.identity is not None:
        _identity.remember(out.path, out.identity)  # this login needs it again: no second passphrase prompt
        click.echo(f"c11: created your key {out.path} (fingerprint {out.identity.fingerprint})", err=True)
        if out.unprotected:
            _warn(f"{out.path} is not protected by a passphrase (set C11_PASSPHRASE to protect new keys)")
    if out.unverified:
        _warn(
            "your key is not published yet: verify your email address (see the link we sent), "
            "then run `c11 registry publish`"
        )
    elif out.error is not None:
        _warn(f"your key is not published yet ({out.error}); run `c11 registry publish` later")
    else:
        click.echo(f"c11: published your key in the registry (log entry {out.log_index})", err=True)


# -- first login ----------------------------------------------------------------------------------------


def after_login(
    server: str,
    token: str,
    email: str,
    new_key: bool = False,
    device: bool = False,
    password: str | None = None,
    oidc: bool = False,
    oidc_open=None,
) -> None:  # type: ignore[no-untyped-def]
    """After `c11 login`: by default a first login makes a cloud-stored key (generated here, published,
    sealed and split into shards); `device` or key files in the config folder keep the key-file behaviour.
    `password` (the one just typed) logs in at the shard stores (OPAQUE); an `oidc` login has none: the stores
    log the person in through their own identity-provider client (`oidc_open` shows its page), and a store
    that cannot means the key stays on this device."""
    from c11._internal.paths import keys_dir
    from c11.client import Client
    from c11.client import key_lifecycle as kl

    with Client(server, token) as c:
        c.shards.password = password or store_password
        oidc_only = oidc and not password
        if oidc_only:
            c.shards.password, c.shards.oidc_open = None, oidc_open
        try:
            out = kl.first_login(
                c,
                email,
                keys_dir(),
                device=device,
                new_key=new_key,
                fetch_identity=lambda: c.shards.fetch_identity(recovery_shard()),
                stores_take_oidc=_stores_take_oidc if oidc_only else None,
            )
        except UsageError as e:
            if "allows only cloud-stored keys" in str(e):
                raise UsageError(f"{e}: log in without --device") from None
            if "cloud-stored key already" in str(e):
                raise UsageError(
                    "you have a cloud-stored key: replace it with `c11 keys replace`, not --new-key"
                ) from None
            raise
        if out.kind == kl.CLOUD_EXISTING:
            if out.store_login_error:
                _warn(f"could not log in at your shard store now ({out.store_login_error}); c11 decrypt will ask again")
            if out.identity is not None:
                _publish(c, out.identity, email)
            click.echo(
                f"c11: your key is cloud-stored ({out.fingerprint}); c11 decrypt fetches two of its shards", err=True
            )
            return
        if out.kind == kl.CLOUD_CREATED and out.created is not None and out.identity is not None:
            _say_created(out.created)
            _publish(c, out.identity, email)
            return
    if out.reason == "stores-need-password":
        click.echo(
            "c11: your shard store logs you in with your c11 password, and an identity-provider "
            "account has none: your key is kept on this device (docs/shards.md §8)",
            err=True,
        )
    elif out.reason == "no-stores":
        click.echo(
            "c11: the server announces no shard store (C11_SHARD_STORES): your key is kept on this device", err=True
        )
    _device_after_login(server, token, email, new_key)


def _stores_take_oidc(stores: list[str]) -> bool:
    """True when every store logs people in through its own identity-provider client (GET /v1/oidc)."""
    import httpx

    for url in stores:
        try:
            if httpx.get(f"{url}/v1/oidc", timeout=15).status_code != 200:
                return False
        except httpx.HTTPError:
            return False
    return True


def _publish(c: Client, identity: Identity, email: str, strict: bool = False) -> None:
    try:
        done = c.registry.publish(identity, email, storage="cloud")
    except AuthError as e:
        if e.problem.get("type", "").endswith("email-unverified"):
            if strict:  # `c11 keys publish`: not publishing is a failure
                raise AuthError(
                    f"{email} is not verified yet: run `c11 verify LINK` with the link we emailed "
                    "you, then run `c11 keys publish` again",
                    403,
                ) from None
            _warn(
                "your key is not published yet: verify your email address (see the link we sent), then run "
                "`c11 keys publish`"
            )
            return
        raise
    click.echo(f"c11: published your key in the registry (log entry {done.log_index})", err=True)


# -- decrypting -----------------------------------------------------------------------------------------


def _recipients(input_path: str | None) -> set[str] | None:
    if not input_path or input_path == "-":
        return None
    from c11 import files

    try:
        return {r["fingerprint"] for r in files.inspect(Path(input_path)).recipients}
    except (C11Error, OSError):
        return None


def decrypting_identities(paths: tuple[str, ...], input_path: str | None) -> list[Identity]:
    """The identities `c11 decrypt` tries: -i / C11_IDENTITY as before; otherwise the key files of the config
    folder, and, when logged in and they do not open INPUT (or there are none), your cloud-stored key and the
    old keys archived for your current key."""
    from c11._internal.paths import keys_dir
    from c11.cli._registry import logged_in
    from c11.client.key_lifecycle import temporary_paths

    if paths or os.environ.get("C11_IDENTITY"):
        return _identity.load_many(paths)
    ids = [_identity.load(p) for p in _identity.default_paths() + temporary_paths(keys_dir())]
    wanted = _recipients(input_path)
    if logged_in() and (not ids or (wanted is not None and not wanted & {i.fingerprint for i in ids})):
        try:
            ids += cloud_identities(ids)
        except C11Error as e:
            if not ids:
                raise
            _warn(f"your cloud-stored or archived keys were not fetched: {e}")
    from c11.cli._enterprise import configured

    if not ids and not configured():  # an enterprise member may hold no key at all
        from c11.errors import KeyFileError

        raise KeyFileError("no key to decrypt with: pass -i KEYFILE (or set C11_IDENTITY, or log in with `c11 login`)")
    return ids


def cloud_identities(local: list[Identity]) -> list[Identity]:
    """Your cloud-stored identity (if you have one) and the keys archived for your current key."""
    c = _client()
    try:
        st = c.shards.status()
    except ServerError as e:
        if e.status in (404, 405) and local:  # a server without cloud keys
            return []
        raise
    found: list[Identity] = []
    if st.fingerprint:
        try:
            fetched = c.shards.fetch(recovery_shard())
            found.append(fetched.identity)
            if fetched.version == 1:
                _warn(
                    "your cloud-stored key is in the old shard format (v1), which browsers cannot rebuild: "
                    "run `c11 keys upgrade` once"
                )
        except CloudKeyError as e:
            from c11._internal.paths import config_dir

            kept = config_dir() / "recovery" / f"c11_recovery_{st.fingerprint[:16]}.shard"
            if os.environ.get("C11_RECOVERY_SHARD") or not kept.is_file():
                raise
            raise CloudKeyError(f"{e} (yours is still here: C11_RECOVERY_SHARD={kept})") from None
    if st.archive_fingerprint:
        for current in [*local, *found]:
            if current.fingerprint == st.archive_fingerprint:
                found += c.shards.archived(current)
                break
    if not found and not local:
        raise CloudKeyError(f"your account on {c.server} has no cloud-stored key: pass -i KEYFILE")
    return found


# -- commands -------------------------------------------------------------------------------------------


@click.group("keys")
def keys() -> None:
    """Your keys: cloud-stored in shards (the default) or a key file on this device.

    \b
    Examples:
      c11 keys status                 # which kind of key, where the shards are
      c11 keys replace --device       # move to a key file on this device
      c11 keys replace --cloud        # move back to a cloud-stored key
      c11 keys restore --recovery c11_recovery_1a2b.shard   # after a password reset
      c11 keys upgrade                # old (v1) shards -> v2, which the web app also rebuilds
    """


def _local_keys() -> list[Path]:
    return _identity.default_paths()


@keys.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status(as_json: bool) -> None:
    """Show which kind of key you have and where its shards are."""
    from c11.cli._output import emit_json
    from c11.keys import keyfile

    c = _client()
    st = c.shards.status()
    local = []
    for p in _local_keys():
        try:
            local.append({"path": str(p), "fingerprint": keyfile.load(p).public.fingerprint})
        except C11Error:
            continue
    try:
        published = c.registry.lookup(c.whoami().email).fingerprint
    except NoKeyPublishedError:
        published = None
    kind = "cloud" if st.fingerprint else ("device" if local else "none")
    doc = {**st.to_dict(), "kind": kind, "published": published, "device_keys": local}
    if as_json:
        emit_json(doc)
        return
    if kind == "cloud":
        click.echo(f"Your key {st.fingerprint} is cloud-stored: any {2} of its {3} shards rebuild it.")
        for p in st.placements:
            where = {
                "server": f"the c11 server {st.server}",
                "store": f"the shard store {p.url}",
                "recovery": "your recovery shard file (offline)",
            }[p.where]
            click.echo(f"  shard {p.index}: {where}")
    elif kind == "device":
        click.echo("Your key is kept on this device: " + ", ".join(f"{k['path']} ({k['fingerprint']})" for k in local))
    else:
        click.echo("You have no key here: `c11 login` makes one (cloud-stored by default).")
    hint = " (verify your email address, then run `c11 keys publish`)" if kind == "cloud" and not published else ""
    click.echo(f"Published key: {published or 'none'}{hint}")
    if st.archive_fingerprint:
        click.echo(f"Old keys are archived for key {st.archive_fingerprint} (older files still open).")
    if st.stores:
        click.echo("Shard stores of this server: " + ", ".join(st.stores))


keys.add_command(status, "show")


@keys.command("publish")
def publish() -> None:
    """Publish your cloud-stored key in the registry (after verifying your email)."""
    c = _client()
    email = c.whoami().email
    _publish(c, c.shards.fetch_identity(recovery_shard()), email, strict=True)


@keys.command("replace")
@click.option("--device", "to_device", is_flag=True, help="Move to a new key file on this device.")
@click.option("--cloud", "to_cloud", is_flag=True, help="Move to a new cloud-stored key.")
@click.option(
    "-i",
    "--identity",
    "current_path",
    metavar="KEYFILE",
    help="Your current key file (default: the one in the config folder).",
)
@click.option(
    "-o",
    "--output",
    metavar="PATH",
    help="With --device: where to write the new key file "
    "(default: the config folder's keys/). With --cloud: the recovery shard file, if there is one.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def replace(to_device: bool, to_cloud: bool, current_path: str | None, output: str | None, as_json: bool) -> None:
    """Replace your key by a new one of the other kind, and publish it.

    Your old private keys are kept, encrypted to the new key (the key archive on the server), so files
    encrypted to them still open with `c11 decrypt` until you re-encrypt them.
    --device writes c11_key_<16 hex>.key and deletes your shards; --cloud makes a cloud-stored key. An old
    key file in the config folder moves to keys/replaced/, so that it no longer signs.
    """
    from c11._internal.paths import keys_dir
    from c11.cli._output import emit_json
    from c11.client.key_lifecycle import replace_key

    if to_device == to_cloud:
        raise UsageError("say which kind of key to move to: --device or --cloud")
    c = _client()
    email = c.whoami().email
    st = c.shards.status()
    local = [Path(current_path)] if current_path else _local_keys()
    if st.fingerprint:
        current = c.shards.fetch_identity(recovery_shard())
    elif local:
        current = _identity.load(local[0])
    else:
        raise UsageError("you have no key to replace: `c11 login` makes one")
    if to_cloud and st.fingerprint:
        raise UsageError(f"your key {st.fingerprint} is already cloud-stored")
    unprotected: list[bool] = []

    def passphrase() -> str | None:
        pw = _new_passphrase()
        unprotected.append(pw is None)
        return pw

    folder = keys_dir()
    aside = None if current_path else (folder / "replaced", [p for p in local if p.parent == folder])
    done = replace_key(
        c,
        current,
        email,
        to_device=to_device,
        passphrase=passphrase,
        move_aside=aside,
        target=Path(output) if output and to_device else None,
        keys_folder=folder,
    )
    result: dict[str, object] = {"old": done.old, "new": done.new, "kind": done.kind}
    if done.key_file is not None:
        click.echo(f"c11: wrote your new key {done.key_file}", err=True)
        if unprotected and unprotected[0]:
            _warn(f"{done.key_file} is not protected by a passphrase (set C11_PASSPHRASE to protect new keys)")
        result["key_file"] = str(done.key_file)
    if done.created is not None:
        _say_created(done.created, Path(output) if output else None)
        result["shards"] = [p.to_dict() for p in done.created.placements]
    for moved in done.moved:
        click.echo(f"c11: moved your old key file to {moved} (its key is archived on the server too)", err=True)
    click.echo(
        f"c11: replaced your key {done.old} by {done.new} ({done.kind}); older "
        "files still open (the old key is archived, encrypted to the new one)",
        err=True,
    )
    if as_json:
        emit_json(result)


@keys.command("restore")
@click.option(
    "--recovery",
    "recovery_path",
    metavar="FILE",
    help="Your recovery shard file (default: C11_RECOVERY_SHARD).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def restore(recovery_path: str | None, as_json: bool) -> None:
    """After a password reset: get your cloud-stored key back and register your new password at your stores.

    A reset gives your account back, not your key: your shard stores still know the old password, and the c11
    server alone holds one shard, not enough to rebuild the key. Your recovery shard (or another device) is the
    second one. With the key back, c11 signs in at each store with the key itself and registers your new
    password there (docs/shards.md §8.4). Log in with the new password first; it is asked for (or read from
    C11_PASSWORD) and never sent to any server.

    \b
    Example:
      c11 password reset --server https://c11.example.com --email you@example.com
      c11 login --server https://c11.example.com --email you@example.com
      c11 keys restore --recovery ~/c11_recovery_1a2b3c4d5e6f7a8b.shard
    """
    from c11.keys.cloudkey import dearmor

    if recovery_path:
        try:
            shard = dearmor(Path(recovery_path).read_text("ascii"))
        except OSError as e:
            raise UsageError(f"cannot read the recovery shard {recovery_path}: {e.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"{recovery_path} is not a c11 recovery shard file") from None
    else:
        shard = recovery_shard()
    if shard is None:
        raise UsageError("give your recovery shard file: --recovery FILE (or set C11_RECOVERY_SHARD)")
    c = _client()
    identity = c.shards.fetch(shard).identity
    stores = c.shards.reregister_with_key(identity, store_password())
    # stored again (fresh shards): the c11 server hands out store tokens for it again after the reset
    created = c.shards.create(identity)
    path = write_recovery(created.recovery) if created.recovery is not None else None
    if as_json:
        import json

        click.echo(
            json.dumps(
                {"fingerprint": identity.fingerprint, "stores": stores, "recovery_file": str(path) if path else None}
            )
        )
        return
    click.echo(f"c11: your cloud-stored key {identity.fingerprint[:16]} is back", err=True)
    for url in stores:
        click.echo(f"c11: your new password now logs you in at the shard store {url}", err=True)
    if path is not None:
        click.echo(f"c11: your NEW recovery shard is {path}: keep it offline; the old one no longer matches", err=True)


@keys.command("upgrade")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def upgrade(as_json: bool) -> None:
    """Store your cloud key again in shard format 2, which the web app can rebuild too (run once).

    Keys stored before format 2 have shares over GF(2^128), which no browser library combines. This rebuilds
    your key from two shards and stores it as fresh format 2 shards at the same places (same key: nothing to
    re-encrypt). With one shard store you get a NEW recovery shard file; the old one no longer matches.

    \b
    Example:
      c11 keys upgrade
    """
    c = _client()
    fetched, created = c.shards.upgrade(recovery_shard())
    # the old recovery shard no longer matches the new split: the new one takes its place
    path = None
    if created is not None and created.recovery is not None:
        path = write_recovery(created.recovery, force=True)
    if as_json:
        import json

        click.echo(
            json.dumps(
                {
                    "fingerprint": fetched.identity.fingerprint,
                    "upgraded": created is not None,
                    "recovery_file": str(path) if path else None,
                }
            )
        )
        return
    if created is None:
        click.echo(f"c11: your cloud-stored key {fetched.identity.fingerprint[:16]} is in format 2 already", err=True)
        return
    click.echo(
        f"c11: your cloud-stored key {fetched.identity.fingerprint[:16]} is now stored in shard format 2", err=True
    )
    if path is not None:
        click.echo(f"c11: your NEW recovery shard is {path}: keep it offline; the old one no longer matches", err=True)
