"""`c11 reencrypt`: change who can open a protected file, or rotate its key, in place (docs/format.md §9)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option(
    "-i",
    "--identity",
    "identity",
    metavar="KEYFILE",
    help="Your key file (you must be a recipient); it signs the new header as re-sharer (or, with --rotate, the content as its author).",
)
@click.option(
    "-r", "--recipient", "add", multiple=True, metavar="RECIPIENT", help="Public key line to add. Repeatable."
)
@click.option(
    "-R", "--recipients-file", "add_files", multiple=True, metavar="FILE", help="File of public key lines to add."
)
@click.option(
    "--remove",
    multiple=True,
    metavar="FINGERPRINT",
    help="Recipient to remove (fingerprint from `c11 inspect`, 8+ hex digits). Repeatable.",
)
@click.option("--rotate", is_flag=True, help="Make a new file key and re-encrypt the whole payload.")
@click.option(
    "--add-recovery",
    is_flag=True,
    help="Bring the file up to your organization's current recovery keys: add them, remove retired ones (after `c11 org recovery-key rotate`).",
)
@click.option("--yes", "-y", "yes", is_flag=True, help="Do not ask before removing your own key.")
@click.option("--json", "as_json", is_flag=True, help="Print a summary as JSON.")
@click.argument("path", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
def reencrypt(identity, add, add_files, remove, rotate, add_recovery, yes, as_json, path) -> None:
    """Add or remove recipients of FILE without re-encrypting the payload, or --rotate the key.

    The change is atomic: FILE is replaced only when the new version is complete. Changing the
    recipients keeps the author's signature over the content and adds yours as re-sharer
    ("re-shared by you, written by the author"); --rotate re-encrypts the content, which you then
    sign as its author ("rotated by you"). Removing your own key asks first (or give --yes).

    \b
    Examples:
      c11 reencrypt -i me.key -r c11:x25519:... report.pdf.c11
      c11 reencrypt -i me.key --remove 1a2b3c4d report.pdf.c11
      c11 reencrypt -i me.key --rotate report.pdf.c11
      c11 reencrypt --add-recovery report.pdf.c11          # after a recovery key rotation

    Adding recipients also adds the current recovery keys of your organization and of theirs.
    """
    from c11 import files
    from c11.cli import _identity, _registry
    from c11.cli._output import emit_json, progress
    from c11.cli.online import releasing
    from c11.errors import UsageError

    if not (add or add_files or remove or rotate or add_recovery):
        raise UsageError("nothing to do: give -r/-R to add, --remove to remove, --rotate, or --add-recovery")
    if add_recovery and not _registry.logged_in():
        raise UsageError("--add-recovery needs your organization's recovery keys: log in with `c11 login`")
    planner = _registry.sending()
    keys: list = []
    if add or add_files or add_recovery:
        keys = _added(planner, add, add_files, add_recovery)
    me = _identity.load_sender(identity)

    ctx = click.get_current_context()
    release = ctx.with_resource(releasing())  # online policy: ask the key server
    groups = ctx.with_resource(_registry.opening_groups([me]))  # files for your groups
    p = Path(path)
    remove = list(remove)
    if add_recovery:
        if not keys:
            raise UsageError("your organization has no current recovery key (see `c11 org recovery-key list`)")
        remove = _retired(planner, remove, p)
    if _is_document(p):
        from c11.indoc import api

        if rotate:
            raise UsageError("--rotate is not supported for protected documents: unprotect and protect again")
        info = api.reencrypt_document(p, me, add=keys, remove=remove, using=[groups, release])
        if as_json:
            emit_json(info)
        else:
            n = len({r["fingerprint"] for g in info["groups"] for r in g["recipients"]})
            click.echo(f"c11: updated {p}: {n} recipient(s) across {len(info['groups'])} group(s)", err=True)
        return
    remove_self = yes or _keeps_own_key(keys) or _confirm_self_removal(p, me, remove)
    with progress(p.stat().st_size if rotate else None, "re-encrypting") as cb:
        info = files.reencrypt(
            p, me, add=keys, remove=remove, rotate=rotate, progress=cb, remove_self=remove_self, using=[groups, release]
        )
    if as_json:
        emit_json({"output": str(p), **info.to_dict()})
    elif rotate:
        click.echo(
            f"c11: rotated the key of {p}: {len(info.recipients)} recipient(s); you signed the new content "
            "as its author",
            err=True,
        )
    else:
        by = "" if info.version == 1 or info.resharer is None else "; signed by you as re-sharer, written by the author"
        click.echo(f"c11: updated {p}: {len(info.recipients)} recipient(s){by}", err=True)


def _keeps_own_key(keys: list) -> bool:
    """Whether a key being added is one of your own key files (replacing a temporary key by yours, say)."""
    from c11.cli import _identity
    from c11.errors import C11Error
    from c11.keys import keyfile

    added = {k.key_id for k in keys}
    for path in _identity.default_paths():
        try:
            if keyfile.load(path).public.key_id in added:
                return True
        except (C11Error, OSError):
            continue
    return False


def _confirm_self_removal(p: Path, me, remove: list[str]) -> bool:  # noqa: ANN001 - an Identity
    """Whether the caller agreed to remove their own key (asked only when `remove` names it)."""
    import sys

    from c11 import files, rewrap
    from c11.errors import C11Error, UsageError
    from c11.format.header import read_header

    if not remove or _is_document(p):
        return False
    try:
        if files.sniff(p) == "bundle":
            from c11.format.bundle import BundleReader

            with open(p, "rb") as f:
                header = BundleReader(f).header
        elif files.sniff(p) == "armor":
            import io

            from c11.format import armor

            header = read_header(io.BytesIO(armor.dearmor(p.read_bytes())))[0]
        else:
            with open(p, "rb") as f:
                header = read_header(f)[0]
        mine = rewrap.removes_self(header, me, remove)
    except C11Error:
        return False  # reencrypt reports the problem
    if not mine:
        return False
    if not sys.stdin.isatty():
        raise UsageError(
            "you are removing your own key: you will no longer be able to open this file; give --yes to confirm"
        )
    return (
        click.confirm(
            "c11: you are removing your own key: you will no longer be able to open this file. Continue?",
            default=False,
            err=True,
        )
        or _abort()
    )


def _abort() -> bool:
    raise click.Abort()


def _added(planner, add: tuple[str, ...], add_files: tuple[str, ...], add_recovery: bool) -> list:  # noqa: ANN001
    """The keys to add: -r/-R, with the current recovery keys of your organization and of theirs (the SDK's
    organization rules; an online requirement does not apply to an existing file)."""
    from c11.client.sending import SendRequest

    with _registry_hints():
        plan = planner.plan(SendRequest(add, add_files, allow_missing_org_policy=not add_recovery))
    _show(plan)
    return plan.keys


def _registry_hints():  # noqa: ANN202 - a context manager
    from c11.cli import _registry

    return _registry.hints("reencrypt")


def _show(plan) -> None:  # noqa: ANN001 - a SendPlan
    from c11.cli import _registry

    plan.notes = [n for n in plan.notes if not n.startswith(("online policy required", "expires in"))]
    _registry.show(plan)


def _retired(planner, remove: list[str], p: Path) -> list[str]:  # noqa: ANN001 - a Sending
    """With --add-recovery: also remove your organization's retired recovery keys that FILE has."""
    if _is_document(p):
        return remove
    from c11 import files

    present = {r["fingerprint"] for r in files.inspect(p).recipients}
    for r in planner.retired_recovery_keys():
        if r.fingerprint in present and r.fingerprint not in remove:
            remove.append(r.fingerprint)
            click.echo(f"c11: removed retired recovery key {r.name} ({r.fingerprint[:16]})", err=True)
    return remove


def _is_document(p: Path) -> bool:
    """A protected Word/Excel/... document rather than a .c11 file or bundle."""
    from c11 import files
    from c11.errors import NotC11FileError
    from c11.indoc import api

    if not api.supported(p):
        return False
    try:
        return files.sniff(p) not in ("file", "armor")
    except NotC11FileError:
        return True
