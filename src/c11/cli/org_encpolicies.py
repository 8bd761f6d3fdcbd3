"""`c11 org encryption-policies ...`: named recipient sets of the organization (admins: crud:config-org to change;
every member lists them and encrypts with `c11 encrypt --policy NAME`)."""

from __future__ import annotations

from typing import Any

import click


def _client() -> Any:
    from c11.cli.org_members import _client as members_client

    return members_client()


def _show(p: Any) -> None:
    groups = ", ".join(f"group:{n}" if n else f"(deleted group {i})" for i, n in p.groups)
    click.echo(f"{p.name}" + (f" — {p.description}" if p.description else ""))
    click.echo(f"  emails: {', '.join(p.emails) or '-'}")
    click.echo(f"  groups: {groups or '-'}")


@click.group("encryption-policies")
def encryption_policies() -> None:
    """Named recipient sets every member of your organization can encrypt for.

    The server keeps only emails and group names: `c11 encrypt --policy NAME` resolves each one with
    registry proofs, as if typed, and adds you and the organization's recovery keys by its own rules.

    \b
    Examples:
      c11 org encryption-policies add Board -e ceo@example.com -e cfo@example.com -g Legal
      c11 org encryption-policies edit Board --email ceo@example.com --group Legal --group Audit
      c11 org encryption-policies list
      c11 org encryption-policies remove Board
      c11 encrypt report.pdf --policy Board
    """


@encryption_policies.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_policies(as_json: bool) -> None:
    """List the policies (any member)."""
    from c11.cli._output import emit_json

    with _client() as c:
        rows = c.org.encryption_policies.list()
    if as_json:
        emit_json([p.as_json() for p in rows])
        return
    if not rows:
        click.echo("no encryption policies: an admin adds one with `c11 org encryption-policies add NAME -e EMAIL`")
    for p in rows:
        _show(p)


_EMAILS = click.option("--email", "-e", "emails", multiple=True, metavar="EMAIL", help="A recipient (repeatable).")
_GROUPS = click.option("--group", "-g", "groups", multiple=True, metavar="NAME", help="A group (repeatable).")
_DESCRIPTION = click.option("--description", "-d", metavar="TEXT", help="What the policy is for.")
_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def _done(p: Any, as_json: bool, verb: str) -> None:
    from c11.cli._output import emit_json

    if as_json:
        emit_json(p.as_json())
    else:
        click.echo(f"{verb} encryption policy {p.name!r}")
        _show(p)


@encryption_policies.command("add")
@click.argument("name")
@_EMAILS
@_GROUPS
@_DESCRIPTION
@_JSON
def add(name: str, emails: tuple[str, ...], groups: tuple[str, ...], description: str | None, as_json: bool) -> None:
    """Add a policy NAME (crud:config-org) with at least one --email or --group."""
    if not emails and not groups:
        raise click.UsageError("give at least one --email or --group")
    with _client() as c:
        p = c.org.encryption_policies.add(name, emails, groups, description)
    _done(p, as_json, "added")


@encryption_policies.command("edit")
@click.argument("name")
@click.option("--rename", metavar="NEW", help="A new name.")
@_EMAILS
@_GROUPS
@_DESCRIPTION
@click.option("--no-emails", is_flag=True, help="Remove every email (keep only groups).")
@click.option("--no-groups", is_flag=True, help="Remove every group (keep only emails).")
@_JSON
def edit(
    name: str,
    rename: str | None,
    emails: tuple[str, ...],
    groups: tuple[str, ...],
    description: str | None,
    no_emails: bool,
    no_groups: bool,
    as_json: bool,
) -> None:
    """Change policy NAME (crud:config-org): --email/--group replace that list; what is not given stays."""
    with _client() as c:
        p = c.org.encryption_policies.edit(
            name,
            name=rename,
            emails=() if no_emails else (emails or None),
            groups=() if no_groups else (groups or None),
            description=description,
        )
    _done(p, as_json, "changed")


@encryption_policies.command("remove")
@click.argument("name")
def remove(name: str) -> None:
    """Remove policy NAME (crud:config-org). Files already encrypted with it are unaffected."""
    with _client() as c:
        c.org.encryption_policies.remove(name)
    click.echo(f"removed encryption policy {name!r}")
