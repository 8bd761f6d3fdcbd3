"""Invitations and temporary keys in the CLI (docs/keyserver.md): `c11 invite`, receiving the temporary key at first
login, and the hints to re-encrypt files made for it (docs/keyserver.md). Encrypting for people who are not
registered yet (`c11 encrypt -r new@example.com`, `--invite`) is planned by `c11.client.sending`."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from c11.client import Client
    from c11.keys.identity import Identity


def warn(message: str) -> None:
    click.echo(f"c11: warning: {message}", err=True)


def temporary_paths() -> list[Path]:
    """Temporary private keys received at login (they open files made before you registered)."""
    from c11._internal.paths import keys_dir
    from c11.client.key_lifecycle import temporary_paths as _paths

    return _paths(keys_dir())


def claim_after_login(server: str, token: str, email: str) -> None:
    """After `c11 login`: receive the temporary key the key server held for you (once), if you were invited
    (`c11.client.key_lifecycle.claim_temporary_key`): kept with your cloud-stored key (its archive), else in
    the temporary keys folder, so `c11 decrypt` finds it."""
    from c11._internal.paths import keys_dir
    from c11.cli import _identity
    from c11.client import Client
    from c11.client.key_lifecycle import claim_temporary_key
    from c11.errors import C11Error

    try:
        with Client(server, token) as c:
            me, cloud = _claiming_identity(c, _identity.default_paths())
            if me is None:
                return
            got = claim_temporary_key(c, me, cloud=cloud, keys_folder=keys_dir())
    except C11Error as e:
        # 403: email not verified, 409: key not published yet (after_login already said what to do)
        if getattr(e, "status", 0) not in (403, 409):
            warn(f"could not check for a temporary key held for you: {e}")
        return
    if got is None:
        return
    fp = got.key.fingerprint
    if got.cloud:
        click.echo(
            f"c11: you were invited before you registered: received your temporary key {fp}, kept with your "
            f"cloud-stored key; files made for it open with `c11 decrypt` now. Re-encrypt them for your own "
            f"key: c11 reencrypt -r {email} --remove {fp} FILE",
            err=True,
        )
        return
    if got.archive_error:
        warn(
            f"could not keep your temporary key with your cloud-stored key ({got.archive_error}); keeping it on "
            "this device"
        )
    click.echo(
        f"c11: you were invited before you registered: received your temporary key {fp} "
        f"({got.path}); files made for it open now. Re-encrypt them for your own key: "
        f"c11 reencrypt -i {shlex.quote(str(got.path))} -r {shlex.quote(email)} --remove {fp} FILE",
        err=True,
    )


def _claiming_identity(c: Client, paths: list[Path]) -> tuple[Identity | None, bool]:
    """(your key, whether it is cloud-stored): the first device key file, else the cloud-stored key."""
    from c11.cli import _identity
    from c11.errors import ServerError, WrongPassphraseError

    if paths:
        try:
            return _identity.load(paths[0]), False
        except WrongPassphraseError:  # a script without C11_PASSPHRASE: check at an interactive login instead
            return None, False
    try:
        if not c.shards.status().fingerprint:
            return None, False
    except ServerError as e:
        if e.status in (404, 405):  # a server without cloud-stored keys
            return None, False
        raise
    from c11.cli._cloud import recovery_shard

    return c.shards.fetch_identity(recovery_shard()), True


def hint_reencrypt(path: str | None, identities: list[Identity]) -> None:
    """After decrypting with a temporary key: say how to re-encrypt the file for one's own key."""
    if not path:
        return
    from c11 import files
    from c11.client.key_lifecycle import TEMPORARY_LABEL
    from c11.errors import C11Error

    temps = {i.public.fingerprint: i for i in identities if i.label.endswith(TEMPORARY_LABEL)}
    if not temps:
        return
    try:
        info = files.inspect(Path(path))
    except (C11Error, OSError):
        return
    mine = [r["fingerprint"] for r in info.recipients if r["fingerprint"] in temps]
    if mine:
        warn(
            f"{path} was encrypted to your temporary key {mine[0]} (held by the key server until you "
            f"registered; not zero-trust). Re-encrypt it for your own key: "
            f"c11 reencrypt -i {shlex.quote(_key_path(mine[0]))} -r YOUR_PUBLIC_KEY --remove {mine[0]} "
            f"{shlex.quote(path)}"
        )


def _key_path(fingerprint: str) -> str:
    for p in temporary_paths():
        if p.name == f"c11_key_{fingerprint[:16]}.key":
            return str(p)
    return "TEMPORARY_KEY_FILE"


@click.command()
@click.argument("emails", nargs=-1, metavar="EMAIL...")
@click.option("--list", "show", is_flag=True, help="List the invitations you sent and their status.")
@click.option("--resend", is_flag=True, help="Send the invitation email again to EMAIL... (pending ones).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def invite(emails, show, resend, as_json) -> None:
    """Invite people by email: each one who is not registered gets an invitation email, and a temporary
    key held by the key server so that anyone can encrypt for them at once (not zero-trust until they
    register; then the key is handed to them and destroyed).

    \b
    Examples:
      c11 invite carol@example.com dave@example.com
      c11 invite --list
      c11 invite --resend carol@example.com
    """
    from c11.cli._output import emit_json
    from c11.cli.online import _client
    from c11.errors import UsageError

    if show == bool(emails) and not resend:
        raise UsageError("give EMAIL... to invite, or --list")
    with _client() as c:
        if show:
            items = c.invitations.list()
        elif resend:
            if not emails:
                raise UsageError("--resend needs EMAIL...")
            wanted = {e.strip().lower() for e in emails}
            pending = {i.email: i for i in c.invitations.list() if i.status == "pending"}
            missing = wanted - set(pending)
            if missing:
                raise UsageError(f"no pending invitation from you for {', '.join(sorted(missing))}")
            items = [c.invitations.resend(pending[e].id) for e in sorted(wanted)]  # type: ignore[arg-type]
        else:
            items = c.invitations.invite(emails)
    if as_json:
        emit_json(
            [
                {
                    "id": i.id,
                    "email": i.email,
                    "status": i.status,
                    "fingerprint": i.fingerprint,
                    "expires_at": i.expires_at.isoformat() if i.expires_at else None,
                    "sent": i.send_count,
                }
                for i in items
            ]
        )
        return
    for i in items:
        if i.status == "registered":
            click.echo(f"{i.email}: already registered (nothing to do)")
        else:
            exp = i.expires_at.strftime("%Y-%m-%d") if i.expires_at else "-"
            click.echo(
                f"{i.email}: {i.status}; temporary key {i.fingerprint} (not zero-trust); expires {exp}; "
                f"emails sent: {i.send_count}"
            )
