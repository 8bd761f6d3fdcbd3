"""`c11 org domains ...` (admins, crud:config-org) and `c11 org join` (anyone invited): who may join an
organization without being asked, and answering an invitation to join one.

A verified domain counts as its addresses' consent: members are added by hand, CSV, SCIM or pre-loading.
Anyone else is invited and joins only by accepting, after seeing which recovery keys will then apply.
"""

from __future__ import annotations

from typing import Any

import click


def _client() -> Any:
    from c11.cli.org_members import _client as members_client

    return members_client()


@click.group("domains")
def domains() -> None:
    """Email domains of your organization: addresses of a verified domain join without being asked.

    \b
    Examples:
      c11 org domains add example.com                  # mails a link to postmaster@example.com
      c11 org domains add example.com --mailbox admin  # ... or to admin@example.com
      c11 org domains add example.com --dns            # shows a DNS TXT record to publish
      c11 org domains check example.com                # ... then the server reads it
      c11 org domains list
    """


@domains.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_domains(as_json: bool) -> None:
    """List the domains (pending: the link was mailed, not confirmed yet)."""
    from c11.cli._output import emit_json

    with _client() as c:
        rows = c.org.domains()
    if as_json:
        emit_json(rows)
        return
    if not rows:
        click.echo(
            "no domains: `c11 org domains add DOMAIN` (or the operator's `c11 org create --domain D --verified`)"
        )
    for d in rows:
        how = f"by {d['method']}" + (f" ({d['mailbox']})" if d.get("mailbox") else "")
        click.echo(f"{d['domain']:<40} {d['status']:<10} {how}")


@domains.command("add")
@click.argument("domain")
@click.option(
    "--mailbox",
    type=click.Choice(["postmaster", "admin"]),
    default="postmaster",
    show_default=True,
    help="Who gets the confirmation link: postmaster@ or admin@ the domain.",
)
@click.option("--dns", "by_dns", is_flag=True, help="Prove it by a DNS TXT record instead of a mailed link.")
@click.option("--json", "as_json", is_flag=True, help="Print the claim as JSON.")
def add(domain: str, mailbox: str, by_dns: bool, as_json: bool) -> None:
    """Claim DOMAIN: a confirmation link is mailed to MAILBOX@DOMAIN, or (--dns) a TXT record is shown to
    publish, then `c11 org domains check DOMAIN`; it is verified once confirmed."""
    from c11.cli._output import emit_json

    with _client() as c:
        d = c.org.claim_domain_dns(domain) if by_dns else c.org.claim_domain(domain, mailbox)
    if as_json:
        emit_json(d)
    elif by_dns:
        r = d["dns_record"]
        click.echo(f"{d['domain']}: pending; publish this DNS record, then run `c11 org domains check {d['domain']}`:")
        click.echo(f'  {r["name"]}.  {r["type"]}  "{r["value"]}"')
    else:
        click.echo(f"{d['domain']}: pending; a confirmation link was mailed to {d['mailbox']} (valid 7 days)")


@domains.command("check")
@click.argument("domain")
def check(domain: str) -> None:
    """Have the server read DOMAIN's TXT record now (after `c11 org domains add DOMAIN --dns`)."""
    with _client() as c:
        d = c.org.check_domain_dns(domain)
    click.echo(f"c11: {d['domain']} is verified (DNS)", err=True)


@domains.command("remove")
@click.argument("domain")
def remove(domain: str) -> None:
    """Forget DOMAIN (members added through it stay; new addresses of it must accept an invitation)."""
    with _client() as c:
        c.org.remove_domain(domain)
    click.echo(f"c11: forgot {domain.strip().lower()}", err=True)


def _describe(inv: dict[str, Any]) -> None:
    click.echo(f"{inv['org']} ({inv['org_id']}), invited by {inv.get('invited_by') or 'the operator'}")
    keys = inv.get("recovery_keys") or []
    if keys:
        click.echo(
            "  if you join, these recovery keys are added to everything you encrypt and everything "
            "encrypted for you (their holders can open it):"
        )
        for k in keys:
            click.echo(f"    {k['fingerprint']}  {k['name']}")
    else:
        click.echo("  no recovery keys now (the organization may add some later)")
    click.echo("  its admins could then deactivate your membership and withdraw your published key")


@click.command("join")
@click.argument("org_id", required=False)
@click.option("--accept", "accept_", is_flag=True, help="Join ORG_ID (after showing its recovery keys).")
@click.option("--decline", is_flag=True, help="Decline ORG_ID's invitation.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--json", "as_json", is_flag=True, help="Print the invitations as JSON.")
def join(org_id: str | None, accept_: bool, decline: bool, yes: bool, as_json: bool) -> None:
    """List the organizations inviting you (with the recovery keys that would apply), or answer one.

    \b
    Examples:
      c11 org join                       # list invitations
      c11 org join ORG_ID --accept
      c11 org join ORG_ID --decline
    """
    from c11.cli._output import emit_json
    from c11.errors import UsageError

    if accept_ and decline:
        raise UsageError("--accept or --decline, not both")
    if (accept_ or decline) and not org_id:
        raise UsageError("name the organization: c11 org join ORG_ID --accept (see `c11 org join`)")
    with _client() as c:
        found = c.org.join_invitations()
        if as_json and not (accept_ or decline):
            emit_json(found)
            return
        if not (accept_ or decline):
            if not found:
                click.echo("no invitations to join an organization")
            for inv in found:
                _describe(inv)
            return
        inv = next((i for i in found if i["org_id"] == org_id), None)
        if inv is None:
            raise UsageError(f"no pending invitation from {org_id} (see `c11 org join`)")
        if decline:
            c.org.decline(org_id)
            click.echo(f"c11: declined the invitation of {inv['org']}", err=True)
            return
        _describe(inv)
        if not yes:
            click.confirm(f"Join {inv['org']}?", abort=True, err=True)
        m = c.org.accept(org_id, [k["fingerprint"] for k in inv.get("recovery_keys") or []])
    click.echo(f"c11: you are a member of {inv['org']} ({m.status})", err=True)
