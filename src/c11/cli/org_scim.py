"""`c11 org scim-tokens create|list|revoke`: SCIM tokens with which an identity provider (Entra, Okta...)
provisions your organization's members and groups (permission crud:groups-scim-tokens-org).

The secret is printed once, on stdout, by `create`, with the SCIM URL to give the identity provider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from c11.client.scim import ScimTokensAPI


def _api() -> ScimTokensAPI:
    from c11.cli._registry import client
    from c11.client.scim import ScimTokensAPI

    return ScimTokensAPI(client("`c11 org scim-tokens`")._core)


@click.group("scim-tokens")
def scim_tokens() -> None:
    """SCIM provisioning tokens: an identity provider creates, updates and deactivates members and groups.

    \b
    Example:
      c11 org scim-tokens create --name entra      # prints the token and the SCIM URL, once
      c11 org scim-tokens list
      c11 org scim-tokens revoke TOKEN_ID
    """


@scim_tokens.command("create")
@click.option("--name", required=True, help="A label, e.g. entra or okta.")
@click.option(
    "--expires-in",
    "days",
    type=click.IntRange(1, 3650),
    default=None,
    help="Days until the token expires (default: never; revoke it when unused).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with the token and the SCIM URL).")
def create(name: str, days: int | None, as_json: bool) -> None:
    """Create a SCIM token; it is printed once and cannot be shown again."""
    from c11.cli._output import emit_json

    created = _api().create(name, days)
    if as_json:
        emit_json({**created.info.as_json(), "token": created.token, "scim_url": created.scim_url})
        return
    click.echo(created.token)
    expiry = f"expires {created.info.expires_at:%Y-%m-%d}" if created.info.expires_at else "does not expire"
    click.echo(
        f"SCIM token {created.info.id} ({name}) {expiry}; store it now, it will not be shown again.\n"
        f"In the identity provider: tenant URL {created.scim_url}, secret token: the line above.",
        err=True,
    )


@scim_tokens.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json: bool) -> None:
    """List your organization's SCIM tokens (never their secrets)."""
    from c11.cli._output import emit_json

    rows = _api().list()
    if as_json:
        emit_json([t.as_json() for t in rows])
        return
    if not rows:
        click.echo("No SCIM tokens; create one with `c11 org scim-tokens create --name NAME`.", err=True)
    for t in rows:
        state = "revoked" if t.revoked else (f"expires {t.expires_at:%Y-%m-%d}" if t.expires_at else "no expiry")
        used = f"last used {t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never used"
        click.echo(f"{t.id}  {t.name:<20} {state:<18} {used}")


@scim_tokens.command("revoke")
@click.argument("token_id")
def revoke(token_id: str) -> None:
    """Revoke a SCIM token by its ID (the identity provider's requests fail from now on)."""
    _api().revoke(token_id)
    click.echo(f"SCIM token {token_id} revoked.", err=True)
