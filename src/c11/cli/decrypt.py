"""`c11 decrypt`: open a protected file, message or bundle, verifying the sender's signature."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from c11.cli._signer import trust_option


@click.command()
@click.option(
    "-i",
    "--identity",
    "identities",
    multiple=True,
    metavar="KEYFILE",
    help="Your key file. Repeatable. Default: C11_IDENTITY, or your keys in the config folder and (logged in) your cloud-stored, archived and group keys.",
)
@click.option(
    "-o",
    "--output",
    metavar="OUT",
    help="Output file or folder ('-' for stdout). Default: INPUT without .c11, or stdout for stdin.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing output.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print a summary as JSON (on stderr when the plaintext goes to stdout)."
)
@trust_option
@click.argument("input_path", metavar="[INPUT]", required=False)
def decrypt(identities, output, force, as_json, trust_files, input_path) -> None:
    """Decrypt INPUT (a .c11 file, an armored message or a .c11.zip bundle).

    The sender's signature is checked and the signer shown on stderr: verified through your trusted
    keys or the registry's log (logged in), else marked UNVERIFIED (the label in a file is
    self-asserted). An existing output is never overwritten without --force, and nothing is left
    behind if anything fails: a file output appears only after every signature verified. Read from
    a pipe and written to stdout, the plaintext streams before the author's signature over the
    content is checked at the end; trust it only when the exit status is 0.

    \b
    Examples:
      c11 decrypt report.pdf.c11                    # logged in: your own keys (cloud-stored too)
      c11 decrypt -i me.key report.pdf.c11          # writes report.pdf
      c11 decrypt -i me.key -o out/ project.c11.zip  # restores the folder
      pbpaste | c11 decrypt -i me.key                # an armored message
    """
    from c11 import files
    from c11.cli._output import emit_json, progress
    from c11.cli.keys import decrypting_identities  # no -i: also your cloud-stored and archived keys

    _refuse_document(input_path)  # a .docx/.pdf/... with protected parts: `c11 unprotect` opens it
    ids = decrypting_identities(identities, input_path)
    from c11.cli._registry import opening_groups
    from c11.cli.online import releasing

    ctx = click.get_current_context()
    release = ctx.with_resource(releasing())  # online policy: ask the key server
    groups = ctx.with_resource(opening_groups(ids))  # files for a group you are in
    from c11.cli._enterprise import enterprise_keys  # C11_ENTERPRISE_KEYSERVER: keys held by your org

    caps = [*ids, groups, release, *enterprise_keys()]
    from c11.errors import NoMatchingKeyError

    try:
        if input_path in (None, "-"):
            if output not in (None, "-"):
                from c11._internal.atomic import atomic_output

                with atomic_output(Path(output), force=force, mode=0o600) as dst:
                    info = files.decrypt(_stdin(), dst, caps)
                summary = {"output": output, **info.to_dict()}
            else:
                info = files.decrypt(_stdin(), sys.stdout.buffer, caps)
                sys.stdout.buffer.flush()
                summary = {"output": None, **info.to_dict()}
        elif output == "-":
            if files.sniff(Path(input_path)) == "bundle":
                raise click.UsageError("a bundle decrypts to a folder: use -o DIR")
            with open(input_path, "rb") as src:
                info = files.decrypt(src, sys.stdout.buffer, caps)
            sys.stdout.buffer.flush()
            summary = {"output": None, **info.to_dict()}
        else:
            p = Path(input_path)
            with progress(p.stat().st_size if p.is_file() else None, "decrypting") as cb:
                result = files.decrypt_path(p, Path(output) if output else None, caps, force=force, progress=cb)
            info = result.info
            summary = {"output": str(result.output), **info.to_dict()}
    except NoMatchingKeyError as e:
        raise _group_hint(e) from None
    from c11.cli import _signer

    verifier = _signer.verifier(trust_files)
    check = verifier.annotate(info)  # who signed, from what is verifiable
    summary.update(verified_sender=info.verified_sender, verified_resharer=info.verified_resharer)
    if as_json:
        emit_json(summary, err=summary["output"] is None)
    else:
        _show_signer(check, verifier.resharer(info), summary["output"])
        from c11.cli._content import decrypt_lines

        for text in decrypt_lines(info):  # format version 1: content not signed; rotation
            click.echo(text, err=True)
    from c11.cli.invites import hint_reencrypt

    hint_reencrypt(input_path if input_path not in (None, "-") else None, ids)


def _refuse_document(input_path: str | None) -> None:
    """UsageError for a Word/Excel/PDF/... file with c11-protected parts: `c11 unprotect` opens those."""
    from c11 import files
    from c11.errors import UsageError

    if input_path in (None, "-") or not Path(input_path).is_file():
        return
    try:
        if files.sniff(Path(input_path)) in ("file", "armor"):
            return  # a c11 file: the document handlers are not imported (they cost start-up)
        from c11.indoc import api

        if not api.supported(input_path):
            return
        api.read_envelope(input_path)
    except Exception:  # noqa: BLE001 - not a protected document: decrypt reports what it is
        return
    raise UsageError(
        f"{input_path} is a document with c11-protected parts, not a .c11 file: "
        f"open it with `c11 unprotect {input_path}`"
    )


def _group_hint(e):  # noqa: ANN001, ANN202
    """A file for a group whose key was not wrapped for you yet: say who can give it to you."""
    from c11.cli._registry import client, logged_in
    from c11.errors import C11Error, NoMatchingKeyError

    if not logged_in() or not e.recipients:
        return e
    try:
        groups = client("groups").groups.list()
    except C11Error:
        return e
    names = [g.name for g in groups if g.key is not None and g.key.fingerprint in e.recipients]
    if not names:
        return e
    return NoMatchingKeyError(
        f"{e} (group {', '.join(names)}: if you are in it, its key has not been given to you "
        "yet; a member holding it runs `c11 org groups sync`)",
        e.recipients,
    )


def _stdin():
    return sys.stdin.buffer


def _show_signer(check, resharer, output) -> None:
    from c11.cli._signer import line, resharer_line

    click.echo(line(check), err=True)
    if resharer is not None:
        click.echo(resharer_line(resharer), err=True)
    if output:
        click.echo(f"c11: wrote {output}", err=True)
