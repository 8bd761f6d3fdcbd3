"""`c11 encrypt`: protect a file, a folder, several files or stdin for recipients (age-like)."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.option(
    "-r",
    "--recipient",
    "recipients",
    multiple=True,
    metavar="RECIPIENT",
    help="Public key line (c11:...) or, when logged in, email of a recipient or group:NAME (a group of your organization). Repeatable.",
)
@click.option(
    "-R",
    "--recipients-file",
    "recipient_files",
    multiple=True,
    metavar="FILE",
    help="File of public key lines (or a key file). Repeatable.",
)
@click.option(
    "-i",
    "--identity",
    "identity",
    metavar="KEYFILE",
    help="Your key file: signs the file and makes you a recipient. Default: C11_IDENTITY, your key "
    "file in the config folder, else (logged in) your cloud-stored key.",
)
@click.option("--no-self", is_flag=True, help="Do not add yourself as a recipient.")
@click.option("-a", "--armor", is_flag=True, help="Write ASCII armor (for messages pasted in email or chat).")
@click.option(
    "-o", "--output", metavar="OUT", help="Output file ('-' for stdout). Default: INPUT.c11, or stdout for stdin."
)
@click.option("--force", is_flag=True, help="Overwrite an existing output.")
@click.option("--json", "as_json", is_flag=True, help="Print a summary as JSON.")
@click.option(
    "--policy",
    "policy_id",
    metavar="NAME|ID",
    help="Encrypt for one of your saved policies by ID or name (`c11 policies`), else your organization's "
    "encryption policy of that name; `org:NAME` always means the organization's (`c11 org encryption-policies list`).",
)
@click.option(
    "--invite", "invite", is_flag=True, help="Invite recipients (emails) who are not registered yet, without asking."
)
@click.option(
    "--online",
    is_flag=True,
    help="Online policy: the key server holds part of the key, so you can revoke, expire and audit (needs a login).",
)
@click.option(
    "--expires",
    metavar="TIME",
    help="With --online: refuse access after TIME (2026-12-31, RFC 3339, or 30m/12h/7d/2w).",
)
@click.option(
    "--allow-missing-org-policy",
    "allow_missing",
    is_flag=True,
    help="Logged in but the server is unreachable and no copy of your organization's policy is on this "
    "device: encrypt anyway, without its recovery keys and online policy (otherwise refused).",
)
@click.argument("inputs", nargs=-1, metavar="[INPUT...]")
def encrypt(
    recipients,
    recipient_files,
    identity,
    no_self,
    armor,
    output,
    force,
    as_json,
    policy_id,
    invite,
    online,
    expires,
    allow_missing,
    inputs,
) -> None:
    """Encrypt INPUT for recipients; you sign it with your key (-i KEYFILE, or your own key by default).

    INPUT absent or '-' reads stdin. A folder, or several inputs, make one .c11.zip bundle.

    \b
    Examples:
      c11 encrypt -i me.key -r c11:mlkem768x25519:... report.pdf       # report.pdf.c11
      c11 encrypt -i me.key -R team.txt -o project.c11.zip project/
      echo "meet at 5" | c11 encrypt -i me.key -r c11:... --armor
      c11 encrypt --online --expires 7d -r bob@example.com report.pdf   # revocable (c11 revoke)
      c11 encrypt -r group:finance q3.xlsx                               # every member, also later ones

    Logged in as a member of an organization, its recovery keys are added as recipients and its policies
    applied (require online, default expiry); so are those of recipients' organizations. With the server
    unreachable, the copy of your organization's policy kept on this device applies; without one, encrypting
    is refused unless --allow-missing-org-policy.
    """
    from c11 import files
    from c11.cli import _identity, _registry
    from c11.cli._output import emit_json, progress, refuse_binary_tty
    from c11.client.sending import SendRequest
    from c11.errors import UsageError
    from c11.format.envelope import Metadata

    paths = [p for p in inputs if p != "-"]
    if len(paths) != len(inputs) and paths:
        raise UsageError("'-' (stdin) cannot be mixed with file inputs")
    planner = _registry.sending()
    request = SendRequest(
        recipients,
        recipient_files,
        policy_id=policy_id,
        online=online,
        expires=expires,
        invite=_registry.invite_prompt(invite),
        allow_missing_org_policy=allow_missing,
    )
    try:
        with _registry.hints():
            plan = planner.plan(request)  # emails: verified registry lookups; organization rules
    except UsageError:
        if expires and not online:
            raise UsageError("--expires needs --online (the key server enforces it)") from None
        raise
    given = len(plan.keys) - len(plan.rules.added)
    if not given and no_self:
        raise UsageError("no recipients: give -r or -R (or drop --no-self)")
    sender = _identity.load_sender(identity)
    if not given:
        click.echo("c11: warning: no recipients given: only you will be able to open it", err=True)
    _registry.show(plan)
    keys = plan.keys
    options, seal = planner.header_options(plan, sender, not no_self)
    if seal is not None:
        when = seal.policy.expires
        click.echo(
            f"c11: online policy registered with {seal.policy.server} (document {seal.policy.doc_uuid}"
            f"{', expires ' + _utc(when) if when else ''})",
            err=True,
        )
    if not paths:
        to_stdout = output in (None, "-")
        if to_stdout:
            refuse_binary_tty(armor)
        summary = _encrypt_stdin(keys, sender, not no_self, armor, None if to_stdout else Path(output), force, options)
    else:
        src = [Path(p) for p in paths]
        if output == "-":
            if len(src) != 1 or not src[0].is_file():
                raise UsageError("a bundle cannot be written to stdout: use -o NAME.c11.zip")
            refuse_binary_tty(armor)
            with open(src[0], "rb") as f:
                summary = _encrypt_stream(
                    f,
                    sys.stdout.buffer,
                    keys,
                    sender,
                    not no_self,
                    armor,
                    Metadata(src[0].name, None, src[0].stat().st_size),
                    options,
                )
        else:
            out = Path(output) if output else files.default_output(src, armor)
            total = sum(p.stat().st_size for p in src if p.is_file()) or None
            with progress(total, "encrypting") as cb:
                info = files.encrypt_paths(
                    src,
                    out,
                    keys,
                    sender,
                    include_sender=not no_self,
                    armor=armor,
                    force=force,
                    progress=cb,
                    options=options,
                )
            summary = {"output": str(out), **info.to_dict()}
            if not as_json:
                click.echo(f"c11: wrote {out} for {len(info.recipients)} recipient(s)", err=True)
    _registry.record(planner, plan, sender)  # when logged in: save the recipient set as an encryption policy
    if as_json:
        emit_json(summary, err=summary.get("output") is None)


def _utc(ts: int) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts))


def _encrypt_stream(src, dst, keys, sender, include_self, armor, meta, options=None) -> dict:
    import io

    from c11 import files
    from c11.format.armor import armor as do_armor

    if armor:
        buf = io.BytesIO()
        info = files.encrypt(src, buf, keys, sender, include_sender=include_self, metadata=meta, options=options)
        dst.write(do_armor(buf.getvalue()).encode())
    else:
        info = files.encrypt(src, dst, keys, sender, include_sender=include_self, metadata=meta, options=options)
    dst.flush()
    return {"output": None, **info.to_dict()}


def _encrypt_stdin(keys, sender, include_self, armor, out: Path | None, force, options=None) -> dict:
    from c11._internal.atomic import atomic_output
    from c11.format.envelope import Metadata

    meta = Metadata(kind="message" if armor else "file")
    src = sys.stdin.buffer
    if out is None:
        return _encrypt_stream(src, sys.stdout.buffer, keys, sender, include_self, armor, meta, options)
    with atomic_output(out, force=force) as dst:
        summary = _encrypt_stream(src, dst, keys, sender, include_self, armor, meta, options)
    summary["output"] = str(out)
    return summary
