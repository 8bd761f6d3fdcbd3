"""`c11 protect` and `c11 unprotect`: in-document (selective) encryption of Word, Excel and other
documents, which stay in their own format (docs/indoc.md)."""

from __future__ import annotations

import click

from c11.cli._signer import trust_option


@click.command()
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option(
    "-p",
    "--part",
    "parts",
    multiple=True,
    metavar="SELECTOR",
    help='What to protect, e.g. paragraph:3-7, heading:"Salary", table:2, image:1, body, '
    "Sheet1!B2:D10, sheet:Payroll, column:Salary, page:2, region:1:0,0,300,200, "
    "path:/patients/*/ssn. Append =>c11:...,@FILE for this part's own recipients. Repeatable.",
)
@click.option(
    "-m",
    "--match",
    "matches",
    multiple=True,
    metavar="REGEX",
    help="Protect text matching a regular expression (each match a part). Repeatable.",
)
@click.option(
    "-r",
    "--recipient",
    "recipients",
    multiple=True,
    metavar="RECIPIENT",
    help="Public key line (c11:...) or, when logged in, email of a recipient or group:NAME. Repeatable.",
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
    "-i", "--identity", "identity", metavar="KEYFILE", help="Your key file: signs the parts and makes you a recipient."
)
@click.option("--note", default="", metavar="TEXT", help="A cleartext note shown to every reader in the document.")
@click.option("-o", "--output", metavar="OUT", help="Output file. Default: NAME.protected.EXT beside FILE.")
@click.option("--force", is_flag=True, help="Overwrite an existing output.")
@click.option("--json", "as_json", is_flag=True, help="Print a summary as JSON.")
@click.option(
    "--invite", "invite", is_flag=True, help="Invite recipients (emails) who are not registered yet, without asking."
)
@click.option(
    "--allow-missing-org-policy",
    "allow_missing",
    is_flag=True,
    help="Logged in but the server is unreachable and no copy of your organization's policy is on this "
    "device: protect anyway, without its recovery keys (otherwise refused).",
)
def protect(
    path, parts, matches, recipients, recipient_files, identity, note, output, force, as_json, invite, allow_missing
) -> None:
    """Encrypt chosen parts of FILE inside the document; it still opens in its usual application,
    showing a placeholder for each protected part and your --note.

    \b
    Examples:
      c11 protect report.docx -i me.key -R team.txt --part table:2 --part 'heading:"Salary"'
      c11 protect report.docx -i me.key -r c11:... --match '\\d{3}-\\d{2}-\\d{4}' --note "SSNs hidden"
      c11 protect pay.xlsx -i me.key -r c11:... --part column:Salary --part 'sheet:Bonus=>@hr.txt'

    Logged in as a member of an organization, its recovery keys are added to every part, as `c11 encrypt`
    adds them (and the recipients' organizations' to the document's recipients); an organization that
    requires an online policy stops it (in-document protection carries none yet: use `c11 encrypt`).
    """
    from pathlib import Path

    from c11.cli import _identity, _registry
    from c11.cli._output import emit_json
    from c11.client.sending import SendRequest
    from c11.errors import OnlinePolicyError, UsageError
    from c11.indoc import api, selectors

    src = Path(path)
    if not src.is_file():
        raise UsageError(f"{src}: no such file")
    if not parts and not matches:
        raise UsageError("nothing to protect: give --part SELECTOR or --match REGEX")
    api.handler_for(src)  # unsupported formats fail before asking for a passphrase
    sels = [selectors.parse_part(p) for p in parts]
    out = Path(output) if output else api.default_output(src, "protect")
    if out.resolve() == src.resolve():
        raise UsageError("the output would overwrite the input: choose another -o")
    if out.exists() and not force:
        raise UsageError(f"{out} already exists (use --force to overwrite)")
    planner = _registry.sending()
    request = SendRequest(
        recipients, recipient_files, invite=_registry.invite_prompt(invite), allow_missing_org_policy=allow_missing
    )
    sender = _identity.load_sender(identity)
    try:
        with _registry.hints("protect"):
            plan, _ = planner.protect_document(
                request, src, sels, sender, note=note, matches=matches, output=out, force=force
            )
    except OnlinePolicyError as e:
        raise OnlinePolicyError(f"{e} with `c11 encrypt`") from None
    _registry.show(plan)
    info = api.inspect_document(out)
    if as_json:
        emit_json({"output": str(out), **info})
    else:
        n = len(info["parts"])
        click.echo(f"c11: wrote {out}: {n} protected part(s) in {len(info['groups'])} recipient group(s)", err=True)


@click.command()
@click.argument("path", metavar="FILE", type=click.Path(dir_okay=False))
@click.option(
    "-i",
    "--identity",
    "identities",
    multiple=True,
    metavar="KEYFILE",
    help="Key file to decrypt with. Repeatable. Default: C11_IDENTITY or your config folder.",
)
@click.option(
    "-o",
    "--output",
    metavar="OUT",
    help="Output file. Default: NAME.EXT for NAME.protected.EXT, else NAME.unprotected.EXT.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing output.")
@click.option("--json", "as_json", is_flag=True, help="Print a summary as JSON.")
@trust_option
def unprotect(path, identities, output, force, as_json, trust_files) -> None:
    """Decrypt every protected part of FILE that your keys can open; parts for others stay
    protected (and the document keeps their envelope). Who signed the opened parts is shown
    as `c11 decrypt` shows it (verified, or an UNVERIFIED label).

    \b
    Examples:
      c11 unprotect -i me.key report.protected.docx          # report.docx
      c11 unprotect -i me.key pay.protected.xlsx -o pay.xlsx --force
    """
    from pathlib import Path

    from c11.cli import _identity
    from c11.cli._output import emit_json
    from c11.errors import UsageError
    from c11.indoc import api

    src = Path(path)
    if not src.is_file():
        raise UsageError(f"{src}: no such file")
    api.handler_for(src)
    out = Path(output) if output else api.default_output(src, "unprotect")
    if out.resolve() == src.resolve() and not force:
        raise UsageError("the output would overwrite the input: choose another -o (or --force)")
    if out.exists() and not force:
        raise UsageError(f"{out} already exists (use -o or --force)")
    ids = _identity.load_many(identities)
    from c11.cli.online import releasing

    release = click.get_current_context().with_resource(releasing())  # online policy, as `c11 decrypt`
    res = api.unprotect_document(src, [*ids, release], output=out, force=force)
    from c11.cli import _signer

    verifier = _signer.verifier(trust_files)
    checks = [verifier.verify(s["sender"], s["fingerprint"]) for s in res.senders]  # signatures checked on open
    for s, check in zip(res.senders, checks, strict=True):
        s["verified_sender"] = check.to_dict()
        resharer = verifier.resharer(s)
        s["verified_resharer"] = resharer.to_dict() if resharer else None
    if as_json:
        emit_json(res.to_dict())
    else:
        for s, check in zip(res.senders, checks, strict=True):
            click.echo(f"c11: parts of group {s['group']}: " + _signer.line(check).removeprefix("c11: "), err=True)
            if s["verified_resharer"]:
                click.echo(
                    f"c11: parts of group {s['group']}: "
                    + _signer.resharer_line(verifier.resharer(s)).removeprefix("c11: "),
                    err=True,
                )
        msg = f"c11: wrote {out}: opened {len(res.opened)} part(s)"
        if res.closed:
            msg += f"; {len(res.closed)} part(s) stay protected (not for your keys)"
        click.echo(msg, err=True)
