"""`c11 org recovery-key ...`: the organization's recovery keys (docs/organizations.md, Recovery keys).

The key pair is made on this device; the private key file is written once (never over an existing file)
and only the public key is uploaded. Every member's client then adds the current recovery keys as
recipients; `c11 decrypt -i RECOVERY.key` opens any member's content.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from c11._internal.display import safe_text  # names from servers: never printed raw

if TYPE_CHECKING:
    from c11.client.recovery import RecoveryAPI

_OUTPUT = click.option(
    "-o",
    "--output",
    "output",
    required=True,
    metavar="FILE",
    help="Where to write the PRIVATE recovery key file (refuses an existing file). Keep it "
    "offline, e.g. on a USB stick in a safe.",
)
_NAME = click.option("--name", metavar="NAME", help="A name people recognise (default: the file name).")
_PASS = click.option(
    "--passphrase/--no-passphrase",
    default=True,
    show_default=True,
    help="Protect the key file with a passphrase (C11_PASSPHRASE, or asked on the terminal).",
)


def _api() -> RecoveryAPI:
    from c11.cli._registry import client, logged_in
    from c11.errors import AuthError

    if not logged_in():
        raise AuthError("not logged in: run `c11 login` (or set C11_TOKEN and C11_SERVER)", 401)
    return client("`c11 org recovery-key`").groups.recovery


def _passphrase(protect: bool) -> str | None:
    import sys

    from c11.cli._identity import passphrase_from_env
    from c11.errors import UsageError

    if not protect:
        return None
    pw = passphrase_from_env()
    if pw is not None:
        return pw
    if not sys.stdin.isatty():
        raise UsageError(
            "a recovery key file is passphrase-protected: set C11_PASSPHRASE (or "
            "C11_PASSPHRASE_FILE), run in a terminal, or pass --no-passphrase"
        )
    return click.prompt("Passphrase for the recovery key file", hide_input=True, confirmation_prompt=True, err=True)


def _check_new(output: str) -> None:
    from pathlib import Path

    from c11.errors import OutputExistsError

    if Path(output).exists():
        raise OutputExistsError(f"{output} exists: a recovery key file is written once; choose another -o FILE")


def _done(key: Any, path: Any, what: str) -> None:
    click.echo(
        f"c11: {what} recovery key {key.name} ({key.fingerprint}); the private key is in {path} "
        "(only the public key was uploaded: keep this file safe, it opens every member's content)",
        err=True,
    )
    click.echo(key.id)


@click.group("recovery-key")
def recovery_key() -> None:
    """Recovery keys: added to everything members encrypt (and is encrypted for them).

    \b
    Examples:
      c11 org recovery-key create -o /media/usb/acme-recovery.key
      c11 org recovery-key list
      c11 org recovery-key rotate ID -o /media/usb/acme-recovery-2027.key
      c11 reencrypt --add-recovery old-report.pdf.c11    # bring old content to the new key
      c11 decrypt -i /media/usb/acme-recovery.key report.pdf.c11
    """


@recovery_key.command("create")
@_OUTPUT
@_NAME
@_PASS
def create(output: str, name: str | None, passphrase: bool) -> None:
    """Make a recovery key pair here, write the private key to FILE, upload the public key."""
    from pathlib import Path

    _check_new(output)
    key, path = _api().create(name or Path(output).name, output, _passphrase(passphrase))
    _done(key, path, "created")


@recovery_key.command("rotate")
@click.argument("key_id", metavar="ID")
@_OUTPUT
@_NAME
@_PASS
def rotate(key_id: str, output: str, name: str | None, passphrase: bool) -> None:
    """Replace recovery key ID by a new one (written to FILE); ID stays listed as retired.

    New content gets the new key; run `c11 reencrypt --add-recovery FILE` to bring old content along.
    """
    from pathlib import Path

    _check_new(output)
    key, path = _api().rotate(key_id, name or Path(output).name, output, _passphrase(passphrase))
    _done(key, path, "rotated to")
    click.echo(
        "c11: old content still has the retired key: `c11 reencrypt --add-recovery FILE` brings it along", err=True
    )


@recovery_key.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_keys(as_json: bool) -> None:
    """List the recovery keys (current ones are added to new content)."""
    from c11.cli._output import emit_json

    keys = _api().list()
    if as_json:
        emit_json([k.to_dict() for k in keys])
        return
    if not keys:
        click.echo("no recovery keys (an admin creates one with `c11 org recovery-key create -o FILE`)")
    for k in keys:
        click.echo(
            f"{k.id}  {k.status:8}  {k.fingerprint}  {safe_text(k.name)}  created {k.created_at[:10]}"
            + (f", retired {k.retired_at[:10]}" if k.retired_at else "")
        )


@recovery_key.command("remove")
@click.argument("key_id", metavar="ID")
def remove(key_id: str) -> None:
    """Remove recovery key ID: no longer added to new content (content that has it still opens with it)."""
    _api().remove(key_id)
    click.echo(f"c11: removed recovery key {key_id}", err=True)
