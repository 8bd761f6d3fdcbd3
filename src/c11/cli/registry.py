"""`c11 registry publish|lookup|history|remove`: the public key registry, verified against the log."""

from __future__ import annotations

import json

import click


def _client():  # type: ignore[no-untyped-def]
    from c11.cli._registry import client

    return client("the registry")


@click.group("registry")
def registry() -> None:
    """Publish your public key and look people's keys up by email.

    Every answer is checked against the transparency log: the key's log entry must be included in a
    checkpoint signed by the log key this device pinned, extending the last checkpoint it saw.
    """


@registry.command("publish")
@click.option(
    "-i", "--identity", "identity", metavar="KEYFILE", help="Key file to publish (default: yours in the config dir)."
)
@click.option(
    "--enterprise",
    is_flag=True,
    help="Publish the key your organization's enterprise key server holds for you (C11_ENTERPRISE_KEYSERVER, "
    "C11_ENTERPRISE_TOKEN_FILE): it signs the proof of possession; the key never leaves it.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def publish(identity: str | None, enterprise: bool, as_json: bool) -> None:
    """Publish your public key for your account's email (signed with the key: proof of possession)."""
    from c11.cli import _identity

    if enterprise:
        from c11.cli._enterprise import publish_proof

        proof = publish_proof()
        done = _client().registry.publish_signed(proof)
    else:
        ident = _identity.load_sender(identity)
        c = _client()
        done = c.registry.publish(ident)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "email": done.email,
                    "public": done.public_key.line(),
                    "fingerprint": done.public_key.fingerprint,
                    "log_index": done.log_index,
                    "action": done.action,
                },
                indent=2,
            )
        )
        return
    what = {"publish": "published", "change": "changed to", "unchanged": "already published:"}[done.action]
    click.echo(f"c11: {what} key {done.public_key.fingerprint} for {done.email} (log entry {done.log_index})", err=True)


@registry.command("lookup")
@click.argument("email")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def lookup(email: str, as_json: bool) -> None:
    """Print the verified public key line of EMAIL (for -r or a recipients file)."""
    c = _client()
    rec = c.registry.lookup_record(email)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "email": rec.email,
                    "public": rec.public_key.line(),
                    "fingerprint": rec.fingerprint,
                    "log_index": rec.log_index,
                    "tree_size": rec.tree_size,
                    "published_at": rec.published_at.isoformat(),
                    "verified": True,
                },
                indent=2,
            )
        )
        return
    click.echo(rec.public_key.line())
    click.echo(
        f"c11: {rec.email}: key {rec.fingerprint}, log entry {rec.log_index} verified in a tree of {rec.tree_size}",
        err=True,
    )


@registry.command("history")
@click.argument("email", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def history(email: str | None, as_json: bool) -> None:
    """Show every logged key change of EMAIL (default: yours).

    For your own email, keys this device did not publish (and that are not in your key files here)
    are flagged: if you did not publish them from another device, someone else did.
    """
    from c11._internal.paths import keys_dir
    from c11.keys import keyfile

    c = _client()
    me = c.whoami().email
    email = (email or me).strip().lower()
    items = c.registry.history(email)
    mine = email == me.lower()
    published = {d.get("fingerprint") for d in c.log.trust.published()} if mine else set()
    folder = keys_dir()
    local = set()
    if mine and folder.is_dir():
        for p in folder.glob("*.key"):
            try:
                local.add(keyfile.load(p).public.fingerprint)
            except Exception:  # an unreadable file is not a key of this device
                continue
    rows = []
    for it in items:
        if not mine or it.public_key is None:
            origin = None
        elif it.fingerprint in published:
            origin = "published from this device"
        elif it.fingerprint in local:
            origin = "key file on this device"
        else:
            origin = "NOT PUBLISHED FROM THIS DEVICE"
        rows.append(
            {
                "index": it.index,
                "time": it.time.isoformat(),
                "action": it.action,
                "fingerprint": it.fingerprint,
                "public": it.public_key.line() if it.public_key else None,
                "origin": origin,
                "flagged": origin == "NOT PUBLISHED FROM THIS DEVICE",
            }
        )
    flagged = sum(r["flagged"] for r in rows)
    if as_json:
        click.echo(json.dumps({"email": email, "entries": rows, "flagged": flagged}, indent=2))
    else:
        if not rows:
            click.echo(f"c11: no key was ever published for {email}", err=True)
        for r in rows:
            fp = r["fingerprint"] or "-"
            note = f"  [{r['origin']}]" if r["origin"] else ""
            click.echo(f"{r['index']:>8}  {r['time']}  {r['action']:<7}  {fp}{note}")
    if flagged:
        click.echo(
            f"c11: warning: {flagged} key(s) of {email} were not published from this device; if you did "
            "not publish them elsewhere, remove them (`c11 registry publish`) and tell your admin",
            err=True,
        )


@registry.command("remove")
def remove() -> None:
    """Remove your published key (the removal is logged)."""
    c = _client()
    c.registry.remove()
    click.echo("c11: removed your key from the registry", err=True)
