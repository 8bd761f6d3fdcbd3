"""`c11 log checkpoint|prove|verify`: check the server's transparency log from this device."""

from __future__ import annotations

import base64
import json

import click

_SERVER = click.option(
    "--server", envvar="C11_SERVER", default=None, help="Server URL [C11_SERVER; default: the stored login's]."
)


def _client(server: str | None):  # type: ignore[no-untyped-def]
    from c11.client import Client

    return Client.from_environment(server)


@click.group("log")
def log() -> None:
    """The transparency log: signed checkpoints, inclusion and consistency proofs.

    The log key is pinned on first use (config dir, per server); every checkpoint must verify with it and
    extend the last checkpoint this device accepted, which is then updated.
    """


@log.command("checkpoint")
@_SERVER
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def checkpoint(server: str | None, as_json: bool) -> None:
    """Fetch, verify and print the newest signed checkpoint."""
    with _client(server) as c:
        check = c.log.checkpoint()
    cp = check.current
    if as_json:
        click.echo(
            json.dumps(
                {
                    "origin": cp.origin,
                    "size": cp.size,
                    "root_hash": base64.b64encode(cp.root_hash).decode(),
                    "previous_size": check.previous.size if check.previous else None,
                    "note": check.note.decode(),
                },
                indent=2,
            )
        )
        return
    click.echo(check.note.decode(), nl=False)


@log.command("prove")
@click.argument("index", type=int)
@click.option("--size", type=int, default=None, help="Tree size to prove it in (default: the newest).")
@_SERVER
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def prove(index: int, size: int | None, server: str | None, as_json: bool) -> None:
    """Prove that entry INDEX is in the log, and print it."""
    with _client(server) as c:
        got = c.log.prove(index, size)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "index": got.index,
                    "tree_size": got.tree_size,
                    "entry": got.entry,
                    "proof": [base64.b64encode(h).decode() for h in got.proof],
                    "verified": True,
                },
                indent=2,
            )
        )
        return
    click.echo(got.entry)
    click.echo(
        f"c11: entry {got.index} is in the log of {got.tree_size} entries (proof of {len(got.proof)} hashes verified)",
        err=True,
    )


@log.command("verify")
@_SERVER
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def verify(server: str | None, as_json: bool) -> None:
    """Check the newest checkpoint extends the one stored here, then store it."""
    with _client(server) as c:
        check = c.log.verify()
    old = check.previous.size if check.previous else None
    if as_json:
        click.echo(
            json.dumps(
                {"origin": check.current.origin, "previous_size": old, "size": check.current.size, "consistent": True},
                indent=2,
            )
        )
        return
    if old is None:
        click.echo(f"c11: log {check.current.origin}: first checkpoint stored ({check.current.size} entries)", err=True)
    else:
        click.echo(f"c11: log {check.current.origin}: {old} -> {check.current.size} entries, consistent", err=True)


@log.command("mine")
@click.option(
    "--org", "org", is_flag=True, help="Your organization's members' entries instead of yours (needs read:events-org)."
)
@_SERVER
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def mine(org: bool, server: str | None, as_json: bool) -> None:
    """List the log entries about you (releases, shard actions, policy changes...), each proven in the log.

    The public log names nobody in these entries: each carries a commitment that only you (and your
    organization's admins) can open. Every entry is checked: inclusion proof in a checkpoint signed by the
    pinned log key, and the opening against the entry's commitment.
    """
    with _client(server) as c:
        me = None if org else c.whoami().email
        got = c.log.openings(me, org=org)
    if as_json:
        click.echo(json.dumps([g.to_dict() for g in got], indent=2))
        return
    for g in got:
        detail = " ".join(
            f"{k}={v}"
            for k, v in sorted(g.fields.items())
            if k not in ("kind", "time", "person") and v is not None and not isinstance(v, list)
        )
        who = f"  person {g.person[:12]}…" if org and g.person else ""
        click.echo(f"#{g.index}  {g.fields.get('time')}  {g.kind:<8} {detail}{who}")
    click.echo(
        f"c11: {len(got)} entries, each proven in the log of {got[-1].tree_size if got else 0} entries and opened",
        err=True,
    )
