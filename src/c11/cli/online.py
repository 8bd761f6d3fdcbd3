"""Online policy in the CLI: `c11 encrypt --online`, opening such files, and the author's commands
`c11 revoke`, `c11 restore`, `c11 expire`, `c11 allow`, `c11 deny` and `c11 access` (docs/keyserver.md)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from c11._internal.display import safe_text  # names from servers: never printed raw
from c11.errors import AuthError, ConfigError, UsageError

if TYPE_CHECKING:
    from c11.client import Client
    from c11.format.online import OnlineSeal
    from c11.keys.identity import Identity


def _client() -> Client:
    from c11.client import Client
    from c11.client.credentials import CredentialsStore

    if not (os.environ.get("C11_TOKEN") or CredentialsStore().path.exists()):
        raise ConfigError(
            "the online policy needs the key server: log in with `c11 login` (or set C11_TOKEN and C11_SERVER)"
        )
    c = Client.from_environment()
    if not c.token:
        raise AuthError(f"not logged in to {c.server}: run `c11 login`", 401)
    return c


def prepare_online(plan: Any, sender: Identity, include_self: bool, expires: str | None) -> OnlineSeal:
    """Register a new document's policy for `c11 encrypt --online`; the recipients of `plan` (and you)."""
    from c11 import online
    from c11.keys.publickey import PublicKey

    when = online.parse_time(expires) if expires else None
    if when is not None and when.timestamp() <= time.time():
        raise UsageError(f"--expires {expires} is in the past")
    pairs: list[tuple[str | None, PublicKey]] = []
    with _client() as c:
        members = list(plan.members)
        if len(members) == len(plan.keys):  # one key per member, in order (no duplicates were merged)
            pairs = [(m.get("email"), k) for m, k in zip(members, plan.keys, strict=True)]
        else:
            by_fp = {k.fingerprint: k for k in plan.keys}
            for m in members:
                if m.get("email"):
                    pairs.append((m["email"], c.registry.lookup(m["email"])))
                else:
                    k = PublicKey.parse(m["public_key"])
                    pairs.append((None, by_fp.get(k.fingerprint, k)))
        seal = online.prepare(
            c, sender, pairs, expires=int(when.timestamp()) if when else None, include_sender=include_self
        )
    click.echo(
        f"c11: online policy registered with {c.server} (document {seal.policy.doc_uuid}"
        f"{', expires ' + when.strftime('%Y-%m-%d %H:%M UTC') if when else ''})",
        err=True,
    )
    return seal


@contextmanager
def releasing() -> Iterator[Any]:
    """For `c11 decrypt` / `reencrypt`: a release (passed with the identities) asking the logged-in key server."""
    from c11 import online

    with online.releasing(_client) as release:
        yield release


def _target(target: str) -> tuple[str, str | None]:
    """(document ID, key server URL or None) of a protected FILE or a DOCID."""
    from c11 import files
    from c11.client.keyserver import doc_uuid
    from c11.format.online import ONLINE

    p = Path(target)
    if p.exists():
        info = files.inspect(p)
        ext = next((e for e in info.extensions if e["type"] == ONLINE), None)
        if ext is None:
            raise UsageError(f"{target} has no online policy (encrypt with --online to revoke, expire or audit)")
        return info.doc_id, ext.get("server")
    return doc_uuid(target), None


@contextmanager
def _author(target: str) -> Iterator[tuple[Client, str]]:
    doc, server = _target(target)
    with _client() as c:
        if server and server.rstrip("/") != c.server.rstrip("/"):
            raise UsageError(f"this document's key server is {server}, but you are logged in to {c.server}")
        yield c, doc


def _show(doc: Any, as_json: bool, what: str) -> None:
    from c11.cli._output import emit_json

    if as_json:
        emit_json(_doc_dict(doc))
        return
    click.echo(f"c11: {what}: document {doc.doc_id}", err=True)
    click.echo(_describe(doc))


def _doc_dict(doc: Any) -> dict:
    from c11.log.entries import rfc3339

    return {
        "doc_id": doc.doc_id,
        "revoked": doc.revoked,
        "revoked_at": rfc3339(doc.revoked_at) if doc.revoked_at else None,
        "expires_at": rfc3339(doc.expires_at) if doc.expires_at else None,
        "recipients": [{"email": r.email, "key": r.key} for r in doc.recipients],
    }


def _describe(doc: Any) -> str:
    state = "REVOKED" if doc.revoked else "active"
    exp = doc.expires_at.strftime("%Y-%m-%d %H:%M:%S UTC") if doc.expires_at else "never"
    lines = [f"  state:       {state}", f"  expires:     {exp}", f"  recipients:  {len(doc.recipients)}"]
    lines += [
        f"    {safe_text(r.email) if r.email else '(by key)'}  {safe_text(r.key or '')}".rstrip()
        for r in doc.recipients
    ]
    return "\n".join(lines)


_json_opt = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.command()
@click.argument("target", metavar="FILE|DOCID")
@_json_opt
def revoke(target, as_json) -> None:
    """Revoke a document with an online policy: the key server stops releasing its key to anyone.

    Copies already sent cannot be opened any more (until `c11 restore`). Only the author can do this.
    """
    with _author(target) as (c, doc):
        _show(c.keyserver.revoke(doc), as_json, "revoked; nobody can open it now")


@click.command()
@click.argument("target", metavar="FILE|DOCID")
@_json_opt
def restore(target, as_json) -> None:
    """Undo `c11 revoke`: recipients can open the document again."""
    with _author(target) as (c, doc):
        _show(c.keyserver.restore(doc), as_json, "restored")


@click.command()
@click.argument("target", metavar="FILE|DOCID")
@click.option("--at", "at", metavar="TIME", help="Expire at TIME: 2026-12-31, RFC 3339, or from now 30m/12h/7d/2w.")
@click.option("--never", is_flag=True, help="Never expire.")
@_json_opt
def expire(target, at, never, as_json) -> None:
    """Set when the key server stops releasing the document's key (a past time expires it now)."""
    from c11 import online

    if bool(at) == bool(never):
        raise UsageError("give exactly one of --at TIME or --never")
    when = online.parse_time(at) if at else None
    with _author(target) as (c, doc):
        _show(c.keyserver.set_expiry(doc, when), as_json, "expiry set")


def _members(values: tuple[str, ...]) -> list[Any]:
    from c11.client.keyserver import PolicyMember
    from c11.keys.publickey import PREFIX, PublicKey

    out: list[Any] = []
    for v in values:
        if v.startswith(PREFIX):
            out.append(PublicKey.parse(v))
        elif "@" in v:
            out.append(PolicyMember(v.strip().lower(), None, None))
        else:
            clean = v.replace(":", "").replace(" ", "").lower()
            if len(clean) != 32 or any(ch not in "0123456789abcdef" for ch in clean):
                raise UsageError(f"{v!r} is not an email, a public key line or a 32-hex fingerprint")
            out.append(PolicyMember(None, None, clean))
    if not out:
        raise UsageError("give at least one -r EMAIL|KEY|FINGERPRINT")
    return out


_recipient_opt = click.option(
    "-r",
    "--recipient",
    "recipients",
    multiple=True,
    metavar="RECIPIENT",
    help="Email, public key line or 32-hex key fingerprint. Repeatable.",
)


@click.command()
@click.argument("target", metavar="FILE|DOCID")
@_recipient_opt
@_json_opt
def allow(target, recipients, as_json) -> None:
    """Let more people get the key server's part of a document (the file is not touched).

    They also need the recipients' part: add them to the file with `c11 reencrypt -r ...` too.
    """
    members = _members(recipients)
    with _author(target) as (c, doc):
        _show(c.keyserver.change_recipients(doc, add=members), as_json, "recipients added")


@click.command()
@click.argument("target", metavar="FILE|DOCID")
@_recipient_opt
@_json_opt
def deny(target, recipients, as_json) -> None:
    """Stop releasing a document's key to some recipients, even from copies they already have."""
    members = _members(recipients)
    with _author(target) as (c, doc):
        _show(c.keyserver.change_recipients(doc, remove=members), as_json, "recipients removed")


@click.command()
@click.argument("target", metavar="FILE|DOCID")
@_json_opt
def access(target, as_json) -> None:
    """List every request for a document's key (allowed or denied): time, who, key, from where.

    Each one is checked against its entry in the transparency log (inclusion proof in a checkpoint
    signed by the pinned log key); a mismatch is an error.
    """
    from c11.cli._output import emit_json

    with _author(target) as (c, doc):
        info = c.keyserver.document(doc)
        items = c.keyserver.accesses(doc)
    if as_json:
        emit_json({**_doc_dict(info), "accesses": [a.to_dict() for a in items]})
        return
    click.echo(f"document {doc}\n{_describe(info)}\n  accesses:    {len(items)} (each verified in the log)")
    for a in items:
        email = safe_text(a.email) if a.email is not None else None
        who = email if a.by == "account" else "(key holder)" if email is None else f"{email} (unverified)"
        click.echo(
            f"    {a.time.strftime('%Y-%m-%d %H:%M:%S')}  {safe_text(str(a.result)):<7}  {who}  "
            f"key {safe_text(str(a.key))}  from {safe_text(str(a.address))}  log #{a.index}"
        )
