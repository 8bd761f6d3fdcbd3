"""`c11 org groups ...`: groups of your organization as recipients (`c11 encrypt -r group:NAME`).

Group keys are made on this device and wrapped to each member's registry key; the server keeps only public
keys and wraps. `sync` completes wraps for members added since: run by an admin holding crud:groups-org or
the key's creator (who keeps custody of each key they make); other members' wraps are refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from c11._internal.display import safe_text  # names from servers: never printed raw

if TYPE_CHECKING:
    from c11.client import Client

_IDENTITY = click.option(
    "-i",
    "--identity",
    "identities",
    multiple=True,
    metavar="KEYFILE",
    help="Your key file (signs the wraps; opens the group key you hold). Default: your keys.",
)


def _client() -> Client:
    from c11.cli._registry import client, logged_in
    from c11.errors import AuthError

    if not logged_in():
        raise AuthError("not logged in: run `c11 login` (or set C11_TOKEN and C11_SERVER)", 401)
    return client("`c11 org groups`")


def _mine(identities: tuple[str, ...]) -> list[Any]:
    from c11.cli import _identity

    return _identity.load_many(identities) if identities else [_identity.load_sender(None)]


def _show(group: Any) -> None:
    key = group.key
    state = f"key v{key.version} {key.fingerprint}" if key else "no key yet (an admin runs `c11 org groups sync`)"
    flags = (", rotation due" if group.rotation_due else "") + (
        f", {group.pending_wraps} pending wrap(s)" if group.pending_wraps else ""
    )
    click.echo(f"{safe_text(group.name)}: {group.member_count} member(s), {state}{flags}")


def _group_dict(g: Any) -> dict[str, Any]:
    return {
        "id": g.id,
        "name": g.name,
        "member_count": g.member_count,
        "rotation_due": g.rotation_due,
        "pending_wraps": g.pending_wraps,
        "members": g.members,
        "key": None
        if g.key is None
        else {"version": g.key.version, "fingerprint": g.key.fingerprint, "public_key": g.key.public_key.line()},
    }


@click.group("groups")
def groups() -> None:
    """Groups as recipients: encrypt to `group:NAME`; members added later open what was sent before.

    \b
    Examples:
      c11 org groups create finance -m ann@acme.example -m bob@acme.example
      c11 encrypt -r group:finance q3.xlsx
      c11 org groups add finance carol@acme.example     # she gets the key now (or at the next sync)
      c11 org groups remove finance bob@acme.example    # rotates the key: new content excludes him
      c11 org groups sync                               # wrap the key for members still waiting
    """


@groups.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_groups(as_json: bool) -> None:
    """List your organization's groups."""
    from c11.cli._output import emit_json

    found = _client().groups.list()
    if as_json:
        emit_json([_group_dict(g) for g in found])
        return
    if not found:
        click.echo("no groups (an admin creates one with `c11 org groups create NAME`)")
    for g in found:
        _show(g)


@groups.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(name: str, as_json: bool) -> None:
    """Show a group, its key and its members (has_key: holds the current key)."""
    from c11.cli._output import emit_json

    g = _client().groups.get(name)
    if as_json:
        emit_json(_group_dict(g))
        return
    _show(g)
    for m in g.members:
        click.echo(
            f"  {safe_text(m['email'])}{'' if m['has_key'] else '  (waiting for the key: `c11 org groups sync`)'}"
        )


@groups.command("key")
@click.argument("name")
def key(name: str) -> None:
    """Print the group's current public key line (what `-r group:NAME` encrypts to)."""
    click.echo(_client().groups.group_key(name).line())


@groups.command("create")
@click.argument("name")
@click.option("-m", "--member", "members", multiple=True, metavar="EMAIL", help="A member to add. Repeatable.")
@click.option("-i", "--identity", "identity", metavar="KEYFILE", help="Your key file (signs the wraps).")
def create(name: str, members: tuple[str, ...], identity: str | None) -> None:
    """Create group NAME (crud:groups-org) and make its key here, wrapped to each member with a key."""
    from c11.cli import _identity

    me = _identity.load_sender(identity)
    g = _client().groups.create(name, list(members), identity=me)
    _show(g)
    _waiting(g)


@groups.command("add")
@click.argument("name")
@click.argument("emails", nargs=-1, required=True)
@_IDENTITY
def add(name: str, emails: tuple[str, ...], identities: tuple[str, ...]) -> None:
    """Add members; if you hold the group key (you made it, or wrap as a group admin) they get it now (every
    version you hold: they open older content). Who still waits, and why, is printed."""
    from c11.errors import C11Error

    c = _client()
    c.groups.add_members(name, list(emails))
    try:
        report = c.groups.sync(_mine(identities), only=name, admin_work=False)
    except C11Error as e:  # the members were added; only the wrapping is left to a sync
        click.echo(
            f"c11: added; the key is not wrapped for them yet ({e}): a key holder runs `c11 org groups sync`", err=True
        )
        return
    _report(report)
    _waiting(c.groups.get(name))


@groups.command("remove")
@click.argument("name")
@click.argument("emails", nargs=-1, required=True)
@click.option("-i", "--identity", "identity", metavar="KEYFILE", help="Your key file (signs the new key's wraps).")
@click.option("--no-rotate", is_flag=True, help="Do not rotate now (the next admin `sync` does it).")
def remove(name: str, emails: tuple[str, ...], identity: str | None, no_rotate: bool) -> None:
    """Remove members: their wraps are deleted and the key rotates, so NEW content excludes them.

    What was sent to the group before stays openable by whoever kept the old key.
    """
    from c11.cli import _identity

    c = _client()
    current = {m["email"] for m in c.groups.members(name)}
    wanted = list(dict.fromkeys(e.strip().lower() for e in emails))
    absent = [e for e in wanted if e not in current]
    if absent:
        click.echo(f"c11: not in {name}: {', '.join(absent)}", err=True)
    if len(absent) == len(wanted):
        click.echo("c11: nobody removed; the key was not rotated", err=True)
        return
    me = None if no_rotate else _identity.load_sender(identity)
    g = c.groups.remove_members(name, [e for e in wanted if e in current], identity=me)
    _show(g)
    if me is not None:
        click.echo(
            f"c11: rotated the key of {name} (v{g.key.version if g.key else '?'}); content sent before "
            "stays openable by those who had the old key",
            err=True,
        )


@groups.command("rotate")
@click.argument("name")
@click.option("-i", "--identity", "identity", metavar="KEYFILE", help="Your key file (signs the wraps).")
def rotate(name: str, identity: str | None) -> None:
    """Make a new key for NAME (crud:groups-org): new content uses it; old versions stay for old content."""
    from c11.cli import _identity

    g = _client().groups.rotate_key(name, _identity.load_sender(identity))
    _show(g)


@groups.command("sync")
@_IDENTITY
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
def sync(identities: tuple[str, ...], as_json: bool) -> None:
    """Wrap the group keys you hold for members still waiting; as a group admin, also make keys for groups
    without one (e.g. created by SCIM) and rotate those a member left."""
    from c11.cli._output import emit_json

    c = _client()
    report = c.groups.sync(_mine(identities))
    if as_json:
        emit_json(report.to_dict())
        return
    _report(report)
    left = [g for g in c.groups.list() if g.waiting or g.key is None]
    for g in left:
        _waiting(g)
    if not (report.wrapped or report.created or report.rotated or report.skipped or left):
        click.echo("c11: nothing to do: every member holds the key of every group", err=True)


@groups.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask.")
def delete(name: str, yes: bool) -> None:
    """Delete group NAME and its keys (content sent to it opens only where a copy of a key was kept)."""
    if not yes:
        click.confirm(f"Delete the group {name} and its keys?", abort=True, err=True)
    _client().groups.delete(name)
    click.echo(f"c11: deleted the group {name}", err=True)


def _report(report: Any) -> None:
    for g, v, email in report.wrapped:
        click.echo(f"c11: wrapped {g} key v{v} for {email}", err=True)
    for g in report.created:
        click.echo(f"c11: made the key of {g}", err=True)
    for g in report.rotated:
        click.echo(f"c11: rotated the key of {g} (a member left)", err=True)
    for what, why in report.skipped:
        click.echo(f"c11: skipped {what}: {why}", err=True)


def _waiting(g: Any) -> None:
    """Say who does not have the group's current key yet, why, and what completes it."""
    if g.key is None:
        click.echo(f"c11: {g.name} has no key yet: a group admin runs `c11 org groups sync` (it makes one)", err=True)
        return
    holders = ", ".join(g.key_holders) or "nobody (a group admin's `c11 org groups sync` makes a new key)"
    for w in g.waiting:
        if w["reason"] == "no-published-key":
            click.echo(
                f"c11: {w['email']} waits for the {g.name} key: no published key yet; once they publish "
                f"one, `c11 org groups sync` by a key holder ({holders}) wraps it",
                err=True,
            )
        else:
            click.echo(
                f"c11: {w['email']} waits for the {g.name} key: `c11 org groups sync` by a key holder "
                f"({holders}) wraps it",
                err=True,
            )
