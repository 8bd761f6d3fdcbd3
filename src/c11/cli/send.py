"""`c11 send`, `c11 receive`, `c11 sends`, `c11 share`: Secure Document Send and share links (docs/sharing.md).

The CLI parses, calls the SDK (`c11.client.sharing`, recipients planned by `c11.client.sending`) and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

_TO_HELP = "Recipient's email (repeatable). People without a key are invited (a temporary key; they get an email)."


def _plan(to: tuple[str, ...], online: bool, expires: str | None) -> Any:
    from c11.cli import _registry
    from c11.client.sending import SendRequest

    planner = _registry.sending()
    request = SendRequest(list(to), online=online, expires=expires if online else None, invite=lambda _e: True)
    with _registry.hints("send"):
        plan = planner.plan(request)
    _registry.show(plan)
    return planner, plan


def _expiry(expires: str | None) -> str | None:
    if not expires:
        return None
    from c11.log.entries import rfc3339
    from c11.online import parse_time

    return rfc3339(parse_time(expires))


def _api() -> Any:
    from c11.cli import _registry
    from c11.client.sharing import SharingAPI

    return SharingAPI(_registry.client("sending"))


def _recipients_of(to: tuple[str, ...]) -> list[str]:
    from c11.errors import UsageError

    bad = [t for t in to if "@" not in t]
    if bad:
        raise UsageError(f"--to takes email addresses (the send is emailed to them), not {bad[0]!r}")
    return [t.strip().lower() for t in to]


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="FILE...")
@click.option("--to", "to", multiple=True, required=True, metavar="EMAIL", help=_TO_HELP)
@click.option("-m", "--message", metavar="TEXT", help="A message, encrypted with the files (never in the email).")
@click.option(
    "--expires",
    metavar="TIME",
    default="7d",
    show_default=True,
    help="Refused after TIME (2026-12-31, RFC 3339, 30m/12h/7d/2w).",
)
@click.option(
    "--max-downloads", type=click.IntRange(1), metavar="N", help="Each recipient can download the files N times."
)
@click.option("--online", is_flag=True, help="Online policy too: the key server holds part of each file's key.")
@click.option("-i", "--identity", metavar="KEYFILE", help="Your key file (signs). Default: your own key.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def send(paths, to, message, expires, max_downloads, online, identity, as_json) -> None:
    """Encrypt FILE... (files or folders) for the recipients, upload the ciphertext and email each a link.

    \b
    Examples:
      c11 send report.pdf --to bob@example.com -m "the Q3 figures" --max-downloads 3
      c11 send project/ --to bob@example.com --to carol@example.com --expires 2d
    """
    from c11.cli import _identity
    from c11.cli._output import emit_json
    from c11.client.sharing import Outgoing, send_paths

    recipients = _recipients_of(to)
    planner, plan = _plan(to, online, expires)
    sender = _identity.load_sender(identity)
    api = _api()
    outgoing = Outgoing([Path(p) for p in paths], message, _expiry(expires), max_downloads)
    result = send_paths(api, planner, plan, sender, recipients, outgoing)
    summary = {"id": result.id, "link": result.link, "recipients": result.recipients, "files": len(result.files)}
    if as_json:
        emit_json(summary)
    else:
        click.echo(result.link)
        click.echo(f"c11: sent {len(result.files)} file(s) to {', '.join(recipients)} (each gets an email)", err=True)


@click.command()
@click.argument("link")
@click.option("-o", "--output", "out_dir", metavar="DIR", default=".", show_default=True, help="Folder for the files.")
@click.option("-i", "--identity", "identities", multiple=True, metavar="KEYFILE", help="Your key file(s).")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@click.option(
    "--allow-unverified",
    is_flag=True,
    help="Write the files even when the signer is not the sending account's registry (or trusted) key.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def receive(link, out_dir, identities, force, allow_unverified, as_json) -> None:
    """Download and decrypt what LINK (https://server/r/ID) holds for you, into DIR.

    Refused, with nothing written, unless the envelope names this link and the version the server serves, that
    version is not older than one this device received before (`<config dir>/received-versions.json`), its
    signer is the key that signed the first version this device received verified (pinned there, whatever
    --allow-unverified says), and its signer is the sending account's key (registry, log-proven; or a trusted key),
    unless --allow-unverified."""
    from c11._internal.paths import config_dir
    from c11.cli import _signer
    from c11.cli._output import emit_json
    from c11.cli.keys import decrypting_identities
    from c11.client.sharing import SeenVersions, receive_link
    from c11.errors import UsageError

    api = _api()
    base = link.split("/r/")[0] if "/r/" in link else None
    if base and base.rstrip("/") != api.server.rstrip("/"):
        raise UsageError(f"this link is for {base}; you are logged in to {api.server} (c11 login --server {base})")
    from c11.cli._registry import opening_groups
    from c11.cli.online import releasing

    ids = decrypting_identities(identities, None)
    ctx = click.get_current_context()
    caps = [*ids, ctx.with_resource(opening_groups(ids)), ctx.with_resource(releasing())]  # groups, online policy
    verifier = _signer.verifier(())
    seen = SeenVersions(config_dir() / "received-versions.json")
    got = receive_link(
        api, link, caps, Path(out_dir), verifier=verifier, seen=seen, force=force, allow_unverified=allow_unverified
    )
    check = got.check
    if as_json:
        emit_json(
            {
                "id": got.id,
                "sender_account": got.sender_account,
                "sender_verified": got.verified,
                "verified_sender": got.info.verified_sender,
                "message": got.message,
                "files": [str(p) for p in got.written],
                "version": got.version,
            }
        )
        return
    click.echo(_signer.line(check), err=True)
    if not got.verified:
        click.echo(
            f"c11: WARNING: sent from the account {got.sender_account}, but NOT signed by its key "
            "(written because of --allow-unverified)",
            err=True,
        )
    if got.message is not None:
        click.echo(f"c11: message: {got.message}", err=True)
    for p in got.written:
        click.echo(str(p))


@click.group()
def sends() -> None:
    """Your sends: list, show (each recipient's status), revoke."""


@sends.command("list")
@click.option("--json", "as_json", is_flag=True)
def sends_list(as_json) -> None:
    _list("send", as_json)


def _list(kind: str, as_json: bool) -> None:
    from c11.cli._output import emit_json

    found = _api().list(kind)
    if as_json:
        emit_json(found)
        return
    for s in found:
        limit = (
            f", {s['downloads']}/{s['max_downloads']} downloads"
            if s.get("max_downloads")
            else f", {s['downloads']} downloads"
        )
        click.echo(f"{s['id']}  {s['state']:<8} {s['created_at']}  {s['recipients']} recipient(s){limit}  {s['link']}")


@sends.command("show")
@click.argument("link")
@click.option("--json", "as_json", is_flag=True)
def sends_show(link, as_json) -> None:
    """A send (LINK or ID) with each recipient's status."""
    from c11.cli._output import emit_json
    from c11.client.sharing import link_parts

    s = _api().show(link_parts(link)[1])
    if as_json:
        emit_json(s)
        return
    click.echo(f"{s['link']}: {s['state']}, {s['files']} file(s), {s['size']} bytes, {s['downloads']} download(s)")
    for r in s["recipients"]:
        times = "  ".join(
            f"{what} {r[key]}"
            for what, key in (("emailed", "emailed_at"), ("delivered", "delivered_at"), ("opened", "opened_at"))
            if r.get(key)
        )
        last = f"  last download {r['downloaded_at']}" if r.get("downloaded_at") else ""
        click.echo(f"  {r['email']:<40} {r['status']:<11} downloads {r['downloads']}  {times}{last}")
    if s.get("revoked_at"):
        click.echo(f"  revoked {s['revoked_at']} (log entry {s['revoked_log_index']})")
    elif s["state"] == "expired":
        click.echo(f"  expired {s['expires_at']}")


@sends.command("revoke")
@click.argument("link")
@click.option("--json", "as_json", is_flag=True)
def sends_revoke(link, as_json) -> None:
    """Revoke a send (LINK or ID) at once; the log entry proves it."""
    _revoke(link, as_json)


def _revoke(link: str, as_json: bool) -> None:
    from c11.cli._output import emit_json
    from c11.client.sharing import link_parts

    s = _api().revoke(link_parts(link)[1])
    if as_json:
        emit_json(s)
    else:
        click.echo(f"c11: revoked {s['id']} (log entry {s['revoked_log_index']})", err=True)


@click.group()
def share() -> None:
    """Share links: always the latest version of a file or folder, for its recipients (create, update, revoke, list)."""


@share.command("create")
@click.argument("path")
@click.option("--to", "to", multiple=True, required=True, metavar="EMAIL", help=_TO_HELP)
@click.option("--expires", metavar="TIME", help="Refused after TIME (2026-12-31, RFC 3339, 30m/12h/7d/2w).")
@click.option("--keep", "retention", type=click.IntRange(1, 100), help="Versions kept (default: the server's).")
@click.option("-i", "--identity", metavar="KEYFILE", help="Your key file (signs). Default: your own key.")
@click.option("--json", "as_json", is_flag=True)
def share_create(path, to, expires, retention, identity, as_json) -> None:
    """A share link to PATH (a file or a folder) for the recipients."""
    from c11.cli import _identity
    from c11.cli._output import emit_json
    from c11.client.sharing import Outgoing, send_paths

    recipients = _recipients_of(to)
    planner, plan = _plan(to, False, None)
    sender = _identity.load_sender(identity)
    result = send_paths(
        _api(),
        planner,
        plan,
        sender,
        recipients,
        Outgoing([Path(path)], None, _expiry(expires)),
        kind="link",
        retention=retention,
    )
    if as_json:
        emit_json({"id": result.id, "link": result.link, "recipients": recipients, "files": len(result.files)})
    else:
        click.echo(result.link)


@share.command("update")
@click.argument("link")
@click.argument("path")
@click.option(
    "--to", "to", multiple=True, metavar="EMAIL", help="The link's recipients (default: as listed by the server)."
)
@click.option("-i", "--identity", metavar="KEYFILE", help="Your key file (signs). Default: your own key.")
@click.option("--json", "as_json", is_flag=True)
def share_update(link, path, to, identity, as_json) -> None:
    """A new version of share LINK with PATH; recipients get it at once (older versions kept per retention)."""
    from c11.cli import _identity
    from c11.cli._output import emit_json
    from c11.client.sharing import link_parts, update_link

    api = _api()
    if not to:
        to = tuple(r["email"] for r in api.show(link_parts(link)[1])["recipients"])
    planner, plan = _plan(to, False, None)
    sender = _identity.load_sender(identity)
    result = update_link(api, planner, plan, sender, link, [Path(path)])
    if as_json:
        emit_json({"id": result.id, "link": result.link, "version": result.version})
    else:
        click.echo(f"c11: {result.link} now serves version {result.version}", err=True)


@share.command("revoke")
@click.argument("link")
@click.option("--json", "as_json", is_flag=True)
def share_revoke(link, as_json) -> None:
    """Revoke share LINK at once (the log entry proves it)."""
    _revoke(link, as_json)


@share.command("list")
@click.option("--json", "as_json", is_flag=True)
def share_list(as_json) -> None:
    _list("link", as_json)
