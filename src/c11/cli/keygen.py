"""`c11 keygen` and `c11 pubkey`: create an identity key file, print a public key line."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click


@click.command()
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False),
    help="Key file to write (default: c11_key_<16 hex>.key here).",
)
@click.option("--label", default="", metavar="EMAIL", help="Who the key belongs to; shown to recipients as the sender.")
@click.option("--classic", is_flag=True, help="Classic X25519 key instead of post-quantum hybrid ML-KEM-768+X25519.")
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Read the passphrase from the first line of this file.",
)
@click.option("--no-passphrase", is_flag=True, help="Store the key unprotected (not recommended).")
@click.option("--force", is_flag=True, help="Overwrite an existing key file.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def keygen(output, label, classic, passphrase_file, no_passphrase, force, as_json) -> None:
    """Create an identity: an encryption key pair and an Ed25519 signing key pair.

    The key file is passphrase-protected (scrypt) unless --no-passphrase; the passphrase comes
    from --passphrase-file, the C11_PASSPHRASE variable, or a prompt. Prints the public key
    line, which is what others encrypt to.

    \b
    Examples:
      c11 keygen --label alice@example.com
      C11_PASSPHRASE=... c11 keygen -o alice.key --json
    """
    from c11.cli._identity import passphrase_from_env, read_passphrase_file
    from c11.cli._output import emit_json
    from c11.crypto.kem import CLASSIC, HYBRID
    from c11.errors import UsageError
    from c11.keys import keyfile
    from c11.keys.identity import Identity

    if passphrase_file and no_passphrase:
        raise UsageError("--passphrase-file and --no-passphrase exclude each other")
    if no_passphrase:
        passphrase = None
    elif passphrase_file:
        passphrase = read_passphrase_file(Path(passphrase_file))
    else:
        passphrase = passphrase_from_env()
        if passphrase is None:
            if not sys.stdin.isatty():
                raise UsageError("no passphrase: set C11_PASSPHRASE, use --passphrase-file, or --no-passphrase")
            passphrase = click.prompt("Passphrase for the new key", hide_input=True, confirmation_prompt=True, err=True)
    identity = Identity.generate(label, CLASSIC if classic else HYBRID, int(time.time()))
    path = Path(output) if output else Path(identity.file_stem)
    keyfile.write(path, identity, passphrase, force=force)
    if passphrase is None:
        click.echo(f"c11: warning: {path} is not protected by a passphrase; keep it safe", err=True)
    if as_json:
        emit_json(
            {
                "path": str(path),
                "fingerprint": identity.fingerprint,
                "label": label,
                "type": identity.kem,
                "public": identity.public.line(),
                "protected": passphrase is not None,
            }
        )
        return
    click.echo(f"c11: wrote {path} (fingerprint {identity.fingerprint})", err=True)
    click.echo(identity.public.line())


@click.command()
@click.argument("keyfile_path", metavar="KEYFILE", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def pubkey(keyfile_path, as_json) -> None:
    """Print the public key line of KEYFILE (no passphrase needed)."""
    from c11.cli._output import emit_json
    from c11.keys import keyfile

    kf = keyfile.load(keyfile_path)
    if as_json:
        emit_json(
            {
                "public": kf.public.line(),
                "fingerprint": kf.public.fingerprint,
                "label": kf.label,
                "type": kf.public.kem,
                "protected": kf.encrypted,
            }
        )
    else:
        click.echo(kf.public.line())
