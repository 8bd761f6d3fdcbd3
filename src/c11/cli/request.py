"""`c11 request`: Secure Document Request (docs/sharing.md, "Document requests").

Ask someone without an account for documents and answers: the request is signed with your key, the recipient
gets an emailed link, their browser encrypts everything for you; `c11 request download` decrypts it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from c11._internal.paths import config_dir
from c11.cli._identity import load_sender
from c11.cli._registry import account, client
from c11.client.org_policy import OrgPolicyStore, own_policy
from c11.errors import UsageError
from c11.keys.publickey import PublicKey

_FORM_HELP = "JSON file of the form: a list of sections {title, fields} (docs/sharing.md, 'Document requests')."


def _print(obj: Any, as_json: bool, line: str) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False) if as_json else line)


def _read_json(path: str, what: str) -> Any:
    p = Path(path)
    if p.stat().st_size > 1024 * 1024:
        raise UsageError(f"{path}: a {what} is at most 1 MiB")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise UsageError(f"{path}: not a JSON {what} ({e.__class__.__name__})") from None


@click.group("request")
def request() -> None:
    """Ask someone (no account needed) for documents and answers, encrypted in their browser for you.

    \b
      c11 request templates create --name "Onboarding" --form form.json
      c11 request create --template Onboarding --to bob@example.org --recipient-name "Bob B."
      c11 request list
      c11 request download ID -o answers/
    """


@request.command("create")
@click.option("--to", "to", required=True, metavar="EMAIL", help="Who is asked (gets the emailed link).")
@click.option("--recipient-name", metavar="NAME", help="Their name, shown on the form. Default: from the email.")
@click.option("--template", "template", metavar="T", help="A template (name or ID) giving the form.")
@click.option("--form", "form", type=click.Path(exists=True, dir_okay=False), help=_FORM_HELP)
@click.option("--name", "name", metavar="NAME", help="The request's unique name. Default: template and recipient.")
@click.option("--message", metavar="TEXT", help="A message shown to the recipient (signed with the form).")
@click.option("--expires", "expires_days", type=click.IntRange(1, 365), help="Days until the link expires.")
@click.option("--max-files", type=click.IntRange(0, 1000), help="Most files in all.")
@click.option("--max-bytes", type=click.IntRange(1), help="Most bytes of files in all.")
@click.option("-i", "--identity", "identity", metavar="KEYFILE", help="Your key file (your published key) signs.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def create(
    to: str,
    recipient_name: str | None,
    template: str | None,
    form: str | None,
    name: str | None,
    message: str | None,
    expires_days: int | None,
    max_files: int | None,
    max_bytes: int | None,
    identity: str | None,
    as_json: bool,
) -> None:
    """Make a request signed with your key; the server emails the link to --to."""
    if (template is None) == (form is None):
        raise UsageError("give the form with --template T or --form FILE (one of them)")
    me = load_sender(identity)
    c = client("a document request")
    api = c.doc_requests
    base: dict[str, Any] = {}
    if template is not None:
        base = api.template(template)
    else:
        assert form is not None
        base = {"sections": _read_json(form, "form"), "name": Path(form).stem}
    # your organization's recovery keys, from its signed policy verified against the log, are signed into the
    # request's keys: the recipient's page encrypts for the signed keys only (docs/sharing.md)
    own = own_policy(c, OrgPolicyStore(config_dir()), account())
    if own.left:
        click.echo(
            f"c11: warning: the server says you are no longer a member of {own.left}: its recovery keys are not "
            "added (the server's word: docs/security.md)",
            err=True,
        )
    keys: list[PublicKey] = list(own.policy.recovery_keys) if own.policy is not None else []
    keys += [c.groups.group_key(g) for g in base.get("groups", [])]
    who = c.whoami().email
    r = api.build(
        me,
        requester=who,
        name=name or f"{base['name']} — {recipient_name or to}",
        to=to,
        recipient_name=recipient_name or to.split("@")[0],
        sections=base["sections"],
        message=message if message is not None else base.get("message", ""),
        expires_days=expires_days or base.get("expires_days", 14),
        max_files=max_files if max_files is not None else base.get("max_files", 20),
        max_bytes=max_bytes or base.get("max_bytes", 1024**3),
        extra_keys=keys,
    )
    made = api.submit(r, me, base.get("id"))
    _print(made, as_json, f"{made['id']}  {made['status']}  link emailed to {made['recipient_email']}")


@request.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_requests(as_json: bool) -> None:
    """Your requests with their status."""
    items = client("listing requests").doc_requests.list()
    if as_json:
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    if not items:
        click.echo("c11: no requests yet (c11 request create)", err=True)
    for r in items:
        click.echo(f"{r['id']}  {r['status']:<11} {r['expires_at']}  {r['recipient_email']}  {r['name']}")


@request.command("show")
@click.argument("request_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(request_id: str, as_json: bool) -> None:
    """A request: its form, status and uploaded items (sizes only: answers are encrypted)."""
    d = client("showing a request").doc_requests.show(request_id)
    if as_json:
        click.echo(json.dumps(d, indent=2, ensure_ascii=False))
        return
    r = d["request"]
    click.echo(f"{d['id']}  {d['status']}\nname: {d['name']}\nto: {r['recipient_name']} <{r['recipient_email']}>")
    click.echo(f"expires: {d['expires_at']}")
    for sec in r["sections"]:
        click.echo(f"[{sec['title']}]")
        for f in sec["fields"]:
            click.echo(f"  {f['id']}: {f['label']} ({f['type']}{', required' if f['required'] else ''})")
    for i in d["items"]:
        what = "answers" if i["n"] == 0 else f"file for {i['field']}"
        click.echo(f"item {i['n']}: {what}, {i['size']} bytes{'' if i['complete'] else ' (incomplete)'}")


@request.command("cancel")
@click.argument("request_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def cancel(request_id: str, as_json: bool) -> None:
    """Cancel a request: its link stops working at once."""
    d = client("cancelling a request").doc_requests.cancel(request_id)
    _print(d, as_json, f"{d['id']}  {d['status']}")


@request.command("download")
@click.argument("request_id")
@click.option("-o", "--output", "output", required=True, type=click.Path(file_okay=False), help="Folder to write.")
@click.option("-i", "--identity", "identity", metavar="KEYFILE", help="Your key file (opens the answers).")
@click.option("--force", is_flag=True, help="Write into a folder that is not empty.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def download(request_id: str, output: str, identity: str | None, force: bool, as_json: bool) -> None:
    """Decrypt the answers (answers.json) and files of a submitted request into a folder."""
    me = load_sender(identity)
    got = client("downloading a request").doc_requests.download(request_id, me, Path(output), force=force)
    summary = {"folder": str(got.folder), "answers": got.answers, "files": [p.name for p in got.files]}
    _print(summary, as_json, f"{got.folder}: answers.json and {len(got.files)} file(s)")


@request.group("templates")
def templates() -> None:
    """Reusable request forms: yours, and your organization's shared ones."""


@templates.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def templates_list(as_json: bool) -> None:
    """Your templates and your organization's."""
    items = client("listing templates").doc_requests.templates()
    if as_json:
        click.echo(json.dumps(items, indent=2, ensure_ascii=False))
        return
    for t in items:
        n = sum(len(s["fields"]) for s in t["sections"])
        click.echo(f"{t['id']}  {'shared  ' if t['shared'] else 'personal'}  {n} fields  {t['name']}")


@templates.command("create")
@click.option("--name", required=True, help="The template's name.")
@click.option("--form", "form", required=True, type=click.Path(exists=True, dir_okay=False), help=_FORM_HELP)
@click.option("--message", default="", help="Default message to the recipient.")
@click.option("--expires", "expires_days", type=click.IntRange(1, 365), default=14, show_default=True)
@click.option("--max-files", type=click.IntRange(0, 1000), default=20, show_default=True)
@click.option("--max-bytes", type=click.IntRange(1), default=1024**3, show_default=True)
@click.option("--group", "groups", multiple=True, help="A group whose key also gets the answers. Repeatable.")
@click.option("--shared", is_flag=True, help="Share with your organization (admins with crud:config-org).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def templates_create(
    name: str,
    form: str,
    message: str,
    expires_days: int,
    max_files: int,
    max_bytes: int,
    groups: tuple[str, ...],
    shared: bool,
    as_json: bool,
) -> None:
    """Save a form as a template."""
    body = {
        "name": name,
        "shared": shared,
        "sections": _read_json(form, "form"),
        "message": message,
        "expires_days": expires_days,
        "max_files": max_files,
        "max_bytes": max_bytes,
        "groups": list(groups),
    }
    t = client("saving a template").doc_requests.save_template(body)
    _print(t, as_json, f"{t['id']}  {t['name']}")


@templates.command("show")
@click.argument("template")
def templates_show(template: str) -> None:
    """A template (name or ID), as JSON."""
    click.echo(json.dumps(client("showing a template").doc_requests.template(template), indent=2, ensure_ascii=False))


@templates.command("delete")
@click.argument("template")
def templates_delete(template: str) -> None:
    """Delete a template (name or ID)."""
    api = client("deleting a template").doc_requests
    t = api.template(template)
    api.delete_template(t["id"])
    click.echo(f"deleted {t['id']}  {t['name']}")
