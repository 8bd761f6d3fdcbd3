"""`c11 policies`: the recipient sets you encrypted for recently (reuse one with `c11 encrypt --policy ID`)."""

from __future__ import annotations

import json

import click


@click.command("policies")
@click.option("--limit", type=click.IntRange(1, 200), default=20, show_default=True, help="How many.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def policies(limit: int, as_json: bool) -> None:
    """List your recent encryption policies, most recently used first.

    A policy is saved each time you encrypt for a new set of recipients (you are always one of them).
    """
    from c11.cli._registry import client

    items = client("listing policies").policies.list(limit)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": p.id,
                        "name": p.name,
                        "last_used_at": p.last_used_at.isoformat(),
                        "use_count": p.use_count,
                        "members": [{k: v for k, v in m.__dict__.items() if v} for m in p.members],
                    }
                    for p in items
                ],
                indent=2,
            )
        )
        return
    if not items:
        click.echo("c11: no policies yet: they are saved when you encrypt while logged in", err=True)
    for p in items:
        click.echo(f"{p.id}  {p.last_used_at:%Y-%m-%d %H:%M}  x{p.use_count}  {p.describe()}")
