"""`c11 tokens create|list|revoke`: machine tokens for automation (use one with C11_TOKEN=...).

The secret is printed once, on stdout, by `create`.
"""

from __future__ import annotations

import json

import click


def _client():  # type: ignore[no-untyped-def]
    from c11.client import Client
    from c11.errors import AuthError

    c = Client.from_environment()
    if not c.token:
        raise AuthError("not logged in: run `c11 login` or set C11_TOKEN", 401)
    return c


def _row(t) -> dict:  # type: ignore[no-untyped-def]
    return {
        "id": t.id,
        "name": t.name,
        "scopes": list(t.scopes),
        "created_at": t.created_at.isoformat(),
        "expires_at": t.expires_at.isoformat(),
        "last_used_at": t.last_used_at.isoformat() if t.last_used_at else None,
        "revoked": t.revoked,
    }


@click.group("tokens")
def tokens() -> None:
    """Machine tokens: scoped, expiring, revocable credentials for scripts and CI."""


@tokens.command("create")
@click.option("--name", required=True, help="A label, e.g. ci-deploy.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    help="A scope (repeatable): keys:read, keys:write, documents:read, documents:write, tokens:manage.",
)
@click.option(
    "--expires-in",
    "days",
    type=click.IntRange(1, 3650),
    default=90,
    show_default=True,
    help="Days until the token expires.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (with the token).")
def create(name: str, scopes: tuple[str, ...], days: int, as_json: bool) -> None:
    """Create a token; it is printed once and cannot be shown again."""
    with _client() as c:
        created = c.tokens.create(name, scopes, days)
    if as_json:
        click.echo(json.dumps({**_row(created.info), "token": created.token}, indent=2))
        return
    click.echo(created.token)
    click.echo(
        f"Token {created.info.id} ({name}) expires {created.info.expires_at:%Y-%m-%d}; "
        "store it now, it will not be shown again.",
        err=True,
    )


@tokens.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json: bool) -> None:
    """List your machine tokens (never their secrets)."""
    with _client() as c:
        rows = c.tokens.list()
    if as_json:
        click.echo(json.dumps([_row(t) for t in rows], indent=2))
        return
    for t in rows:
        state = "revoked" if t.revoked else f"expires {t.expires_at:%Y-%m-%d}"
        click.echo(f"{t.id}  {t.name:<20} {' '.join(t.scopes):<40} {state}")


@tokens.command("revoke")
@click.argument("token_id")
def revoke(token_id: str) -> None:
    """Revoke a token by its ID."""
    with _client() as c:
        c.tokens.revoke(token_id)
    click.echo(f"Token {token_id} revoked.", err=True)
