"""`c11 org show|policies|members|admins`: your organization, its policies, members and admins (docs/organizations.md).

They act as the logged-in person (or C11_TOKEN, a machine token with the scope org:admin for admin commands);
the server checks each admin permission. docs/organizations.md describes the rules.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from c11._internal.display import safe_text  # names from servers: never printed raw

if TYPE_CHECKING:
    from c11.client import Client

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_BATCH = 1000
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def _client() -> Client:
    from c11.cli._registry import logged_in
    from c11.client import Client
    from c11.errors import AuthError

    if not logged_in():
        raise AuthError("not logged in: run `c11 login` (or set C11_TOKEN and C11_SERVER)", 401)
    c = Client.from_environment()
    if not c.token:
        raise AuthError("not logged in: run `c11 login` (or set C11_TOKEN and C11_SERVER)", 401)
    return c


def _info(c: Client) -> Any:
    from c11.errors import UsageError

    info = c.org.info()
    if info is None:
        raise UsageError(
            f"you are not a member of an organization on {c.server}, or your membership is "
            "deactivated: an admin adds members (`c11 org members add`); an operator creates an "
            "organization (`c11 org create`)"
        )
    return info


def _policy_lines(policies: dict[str, Any]) -> list[str]:
    return [f"  {k} = {'none' if v is None else str(v).lower()}" for k, v in sorted(policies.items())]


@click.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the GET /api/v1/org answer).")
def show(as_json: bool) -> None:
    """Show your organization, its policies and your admin permissions."""
    from c11.cli._output import emit_json

    with _client() as c:
        info = _info(c)
    if as_json:
        emit_json(info.raw)
        return
    click.echo(f"organization: {safe_text(info.name)} ({info.id})")
    click.echo(f"you: {info.email}" + (f", admin: {' '.join(info.permissions)}" if info.is_admin else ", member"))
    click.echo("policies:")
    for line in _policy_lines(info.policies):
        click.echo(line)


def _parse_setting(text: str) -> tuple[str, Any]:
    from c11.client.orgs import POLICIES
    from c11.errors import UsageError

    key, sep, value = text.partition("=")
    key, value = key.strip().replace("-", "_"), value.strip().lower()
    if not sep or key not in POLICIES:
        raise UsageError(f"--set {text!r}: expected KEY=VALUE with KEY one of {', '.join(sorted(POLICIES))}")
    if POLICIES[key] is bool:
        if value not in _TRUE + _FALSE:
            raise UsageError(f"--set {key}: expected true or false, not {value!r}")
        return key, value in _TRUE
    if value in ("none", "null", ""):
        return key, None
    if not value.isdigit() or not 1 <= int(value) <= 36500:
        raise UsageError(f"--set {key}: expected a number of days (1 to 36500) or none, not {value!r}")
    return key, int(value)


@click.command("policies")
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Change a policy (repeatable): allow_cross_org_lookup, allow_member_listing, allow_device_keys, "
    "require_online (true/false), default_expiry_days (days or none). Needs crud:config-org.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def policies(settings: tuple[str, ...], as_json: bool) -> None:
    """Show or change the organization's policies (enforced by the server, applied by every client).

    \b
    Examples:
      c11 org policies
      c11 org policies --set allow_cross_org_lookup=false --set default_expiry_days=90
    """
    from c11.cli._output import emit_json

    changes = dict(_parse_setting(s) for s in settings)
    with _client() as c:
        info = c.org.set_policies(changes) if changes else _info(c)
    if as_json:
        emit_json(info.policies)
        return
    if changes:
        click.echo(f"policies of {info.name} changed:", err=True)
    for line in _policy_lines(info.policies):
        click.echo(line.strip())


# -- members -----------------------------------------------------------------------------------------------


@click.group("members")
def members() -> None:
    """Add, list, deactivate and reactivate members (needs crud:members-org)."""


def read_csv(path: Path) -> tuple[list[str], list[str]]:
    """Emails of a CSV file (one a line; the first column counts; blank lines, `#` comments and an `email`
    header line are skipped) and the errors of bad lines ("line N: ...")."""
    emails: list[str] = []
    errors: list[str] = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        from c11.errors import UsageError

        raise UsageError(f"{path} is not a UTF-8 text file") from None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        first = line.split(",")[0].split(";")[0].strip().strip('"').strip()
        if n == 1 and first.lower() in ("email", "e-mail", "mail", "email address"):
            continue
        if not _EMAIL.match(first) or len(first) > 320:
            errors.append(f"line {n}: {first[:80]!r} is not an email address")
            continue
        emails.append(first.lower())
    return emails, errors


@members.command("add")
@click.argument("emails", nargs=-1, metavar="EMAIL...")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A file of emails, one a line (first column of a CSV; an `email` header is skipped).",
)
@click.option(
    "--generate-keys",
    is_flag=True,
    help="Pre-load: make their temporary keys now and send no email (with an identity provider, members "
    "get them at first login). Needs crud:encryption-keys-org too.",
)
@click.option("--skip-invalid", is_flag=True, help="Add the good emails even if some lines or arguments are bad.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def add(emails: tuple[str, ...], csv_file: Path | None, generate_keys: bool, skip_invalid: bool, as_json: bool) -> None:
    """Add members by email. Addresses of your organization's verified domains join at once: each one without
    an account is invited (an email and a temporary key, so anyone can encrypt for them at once). Anyone else
    gets an invitation to join and is a member only once they accept it (`c11 org join`).

    \b
    Examples:
      c11 org members add carol@example.com dave@example.com
      c11 org members add --csv staff.csv
      c11 org members add --csv staff.csv --generate-keys
    """
    from c11.cli._output import emit_json
    from c11.errors import UsageError

    wanted, errors = [], []
    for e in (e.strip().lower() for e in emails):
        if _EMAIL.match(e):
            wanted.append(e)
        else:
            errors.append(f"argument {e!r} is not an email address")
    if csv_file is not None:
        found, bad = read_csv(csv_file)
        wanted += found
        errors += [f"{csv_file}: {b}" for b in bad]
    if errors:
        for err in errors:
            click.echo(f"c11: {err}", err=True)
        if not wanted:
            raise UsageError(f"{len(errors)} bad email(s) and no good one: nothing added")
        if not skip_invalid:
            raise UsageError(f"{len(errors)} bad email(s), nothing added: fix them, or pass --skip-invalid")
    wanted = list(dict.fromkeys(wanted))
    if not wanted:
        raise UsageError("give EMAIL... or --csv FILE")
    results = []
    with _client() as c:
        for i in range(0, len(wanted), _BATCH):
            results += c.org.add_members(wanted[i : i + _BATCH], generate_keys=generate_keys)
    if as_json:
        emit_json([r.to_dict() for r in results])
        return
    for r in results:
        inv = r.invitation or {}
        if r.result == "in-another-org":
            click.echo(f"{r.email}: NOT added, a member of another organization")
        elif r.result == "already-member":
            click.echo(f"{r.email}: already a member ({r.status})")
        elif r.result == "invited-to-join":
            click.echo(
                f"{r.email}: invited to join (not a verified domain of the organization): a member once "
                "they accept (`c11 org join`)"
            )
        elif r.result == "domain-not-verified":
            click.echo(f"{r.email}: NOT added, pre-loading is for verified domains only (`c11 org domains add`)")
        elif inv.get("status") == "pending":
            how = "key made, no email (pre-loaded)" if generate_keys else "invitation sent"
            click.echo(f"{r.email}: added, {r.status}; {how}; temporary key {inv.get('fingerprint')}")
        else:
            click.echo(f"{r.email}: added, {r.status} (has an account)")
    added = sum(r.result == "added" for r in results)
    click.echo(f"c11: {added} member(s) added, {len(results) - added} not added", err=True)


@members.command("list")
@click.option("--status", type=click.Choice(["invited", "active", "deactivated"]), help="Only this status.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(status: str | None, as_json: bool) -> None:
    """List the members: email, status (invited, active, deactivated), admin permissions."""
    from c11.cli._output import emit_json

    with _client() as c:
        rows = c.org.list_members(status)
    if as_json:
        emit_json([m.to_dict() for m in rows])
        return
    for m in rows:
        admin = f"  admin: {' '.join(m.permissions)}" if m.is_admin else ""
        pending = "" if m.consent else "  (invited to join: not accepted yet)"
        click.echo(f"{safe_text(m.email):<40} {m.status:<12}{admin}{pending}")


@members.command("deactivate")
@click.argument("email")
def deactivate(email: str) -> None:
    """Deactivate a member: their keys are no longer served, they lose organization access."""
    with _client() as c:
        m = c.org.deactivate(email)
    click.echo(f"{m.email}: {m.status}")


@members.command("reactivate")
@click.argument("email")
def reactivate(email: str) -> None:
    """Reactivate a deactivated member."""
    with _client() as c:
        m = c.org.reactivate(email)
    click.echo(f"{m.email}: {m.status}")


# -- admins ------------------------------------------------------------------------------------------------


@click.group("admins")
def admins() -> None:
    """Designate and demote admins and their permissions (needs crud:members-org)."""


@admins.command("add")
@click.argument("email")
@click.option(
    "--permission",
    "permissions",
    multiple=True,
    metavar="P",
    help="A permission to hold (repeatable): crud:config-org, crud:members-org, crud:invitations-org, "
    "crud:recovery-keys-org, read:events-org, crud:encryption-keys-org, crud:signature-keys-org, "
    "crud:groups-org, crud:groups-scim-tokens-org.",
)
@click.option("--all", "all_", is_flag=True, help="Every permission.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def admins_add(email: str, permissions: tuple[str, ...], all_: bool, as_json: bool) -> None:
    """Make a member an admin with these permissions (or replace an admin's permissions).

    \b
    Examples:
      c11 org admins add dave@example.com --permission crud:members-org --permission read:events-org
      c11 org admins add erin@example.com --all
    """
    from c11.cli._output import emit_json
    from c11.client.orgs import PERMISSIONS
    from c11.errors import UsageError

    if all_ == bool(permissions):
        raise UsageError("give --permission P (repeatable) or --all")
    unknown = sorted(set(permissions) - set(PERMISSIONS))
    if unknown:
        raise UsageError(f"unknown permission {', '.join(unknown)}; known: {', '.join(PERMISSIONS)}")
    with _client() as c:
        m = c.org.set_admin(email, PERMISSIONS if all_ else permissions)
    if as_json:
        emit_json(m.to_dict())
        return
    click.echo(f"{m.email}: admin with {' '.join(m.permissions)}")


@admins.command("remove")
@click.argument("email")
def admins_remove(email: str) -> None:
    """Demote an admin (they stay a member)."""
    with _client() as c:
        m = c.org.demote(email)
    click.echo(f"{m.email}: no longer an admin")


@admins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def admins_list(as_json: bool) -> None:
    """List the admins and their permissions."""
    from c11.cli._output import emit_json

    with _client() as c:
        rows = c.org.admins()
    if as_json:
        emit_json([m.to_dict() for m in rows])
        return
    for m in rows:
        click.echo(f"{safe_text(m.email):<40} {m.status:<12} {' '.join(m.permissions)}")


@click.group("signature-keys")
def signature_keys() -> None:
    """Members' signature keys (crud:signature-keys-org): who signs as whom, and withdrawing a lost one."""


@signature_keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def signature_keys_list(as_json: bool) -> None:
    """List members with the key ID of their signing key (the verified sender recipients see)."""
    from c11.cli._output import emit_json

    with _client() as c:
        rows = c.org.signature_keys()
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        click.echo(f"{safe_text(r['email']):<40} {r['status']:<12} {r['signing_key_id'] or '(no published key)'}")


@signature_keys.command("withdraw")
@click.argument("email")
def signature_keys_withdraw(email: str) -> None:
    """Withdraw EMAIL's published key (lost or compromised device); they publish a new one at next login."""
    with _client() as c:
        c.org.withdraw_key(email)
    click.echo(
        f"{email}: published key withdrawn (logged); they must make and publish a new one "
        "(`c11 keys replace --device`, or `c11 login --new-key` with a key file)"
    )
